"""The spaceflights example, one task per node with `boundaries: persist`: its in-memory
train/test splits cross task boundaries, and the outputs equal a plain `kedro run`'s."""

from __future__ import annotations

import pytest

from tests.example.test_spaceflights import _copy_example, _outputs
from tests.support.kedro_projects import run_kedro

pytestmark = [
    pytest.mark.project,
    pytest.mark.skipif(
        not __import__("kedro").__version__.startswith("1."), reason="the example targets Kedro 1.x"
    ),
]

PER_NODE = """\
grouping:
  - by: node
boundaries: persist
boundaries_root: /Volumes/main/default/kedro/boundaries
"""


def test_one_task_per_node_with_persist_gives_byte_identical_outputs_to_kedro_run(tmp_path):
    plain = _copy_example(tmp_path / "plain")
    per_node = _copy_example(tmp_path / "per_node")
    (per_node / "conf" / "base" / "dab.yml").write_text(PER_NODE)
    run = run_kedro(plain, "run", "--env", "base")
    assert run.returncode == 0, run.stdout + run.stderr
    simulated = run_kedro(per_node, "dab", "run", "--local", "--env", "base")
    assert simulated.returncode == 0, simulated.stdout + simulated.stderr
    assert "All 15 tasks succeeded" in simulated.stdout  # 14 nodes and the cleanup

    def text(outputs: dict[str, bytes]) -> dict[str, bytes]:
        return {k: v for k, v in outputs.items() if not k.endswith(".pickle")}

    expected = text(_outputs(plain))
    assert len(expected) >= 8
    assert text(_outputs(per_node)) == expected
    assert list((per_node / ".kedro-dab" / "boundaries" / "spaceflights").iterdir()) == []
