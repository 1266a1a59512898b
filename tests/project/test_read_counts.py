"""Each input is read once per command: `databricks.yml`, each include, dab.yml,
pyproject.toml and the catalog files are each parsed once by `plan`, `bundle`, `validate`,
`deploy --dry-run` and `run --local`.

The commands run in this process through click's CliRunner on a real `kedro new` project; every
YAML (PyYAML's and `fast_yaml`'s), JSON and TOML parse in the process is counted and traced
back to the input whose text it parsed. Kedro's own project bootstrap
(`kedro.framework.startup`, which the `kedro` command runs before any plugin command) is not
counted.
"""

from __future__ import annotations

import json
import pickle
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kedro_dab import api
from kedro_dab.plugin import dab as dab_group
from tests.fake_workspace import FakeWorkspace
from tests.fake_workspace.fixture import fake_workspace
from tests.project.conftest import HANDOVER_CATALOG, HANDOVER_PIPELINE, shared_project

__all__ = ["fake_workspace"]

pytestmark = pytest.mark.project

CATALOG = HANDOVER_CATALOG
ENV_CATALOG = """\
row_count:
  type: pickle.PickleDataset
  filepath: data/08_reporting/row_count.pkl
"""
USER_INCLUDE = "resources/notes.yml"
"""An include file of the user's own (the template includes resources/*.yml)."""
OWNED = "resources/kedro-dab"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundled project: two tasks, a catalog in base and in the env the tasks run with, and
    one include file of the user's besides the generated ones."""
    root = shared_project(
        tmp_path_factory,
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=CATALOG,
        envs={"databricks": {"catalog.yml": ENV_CATALOG}},
    )
    (root / "data" / "01_raw").mkdir(parents=True, exist_ok=True)
    (root / "data" / "01_raw" / "rows.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    api.init(root)
    (root / "resources").mkdir(exist_ok=True)
    (root / USER_INCLUDE).write_text("sync:\n  exclude:\n    - notes/**\n", encoding="utf-8")
    api.bundle(root)
    return root


def inputs(root: Path) -> list[str]:
    """The files whose parses are counted, relative to the project."""
    names = ["databricks.yml", "pyproject.toml", USER_INCLUDE]
    names += sorted(p.relative_to(root).as_posix() for p in (root / OWNED).glob("*.yml"))
    for pattern in ("catalog*.yml", "dab*.yml"):
        names += sorted(
            p.relative_to(root).as_posix() for p in (root / "conf").glob(f"*/{pattern}")
        )
    return names


NOT_COUNTED = ("kedro/framework/startup.py",)
"""Kedro's bootstrap."""


class Parses:
    """Counts the parses of each input while active, with who parsed it."""

    def __init__(self, root: Path) -> None:
        self.names = inputs(root)
        self.by_text: dict[str, str] = {}
        for name in self.names:
            text = (root / name).read_text(encoding="utf-8")
            assert text not in self.by_text, f"{name} and {self.by_text[text]} are alike"
            self.by_text[text] = name
        self.counts: Counter[str] = Counter()
        self.callers: defaultdict[str, list[str]] = defaultdict(list)

    def saw(self, source: Any) -> Any:
        """Count a parse of `source` (text, bytes or a readable), and return it for parsing."""
        if hasattr(source, "read"):
            source = source.read()
        text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
        name = self.by_text.get(text) if isinstance(text, str) else None
        if name is not None:
            stack = traceback.extract_stack()[:-2]
            if not any(f.filename.endswith(NOT_COUNTED) for f in stack):
                self.counts[name] += 1
                own = [f for f in stack if "kedro_dab" in f.filename] or stack
                self.callers[name].append(" <- ".join(f"{f.name}" for f in reversed(own[-4:])))
        return source

    def problems(self, expected: Callable[[str], int]) -> list[str]:
        """One line per input parsed another number of times than `expected` says."""
        out = []
        for name in self.names:
            want, got = expected(name), self.counts[name]
            if got != want:
                where = "; ".join(self.callers[name]) or "nowhere"
                out.append(f"{name}: parsed {got} times, expected {want} (by {where})")
        return out


@pytest.fixture
def parses(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Parses]:
    """Every parse of an input from here on, counted."""
    import kedro_dab.project as reading
    from kedro_dab import fast_yaml

    counter = Parses(project)
    load, loads, fast_load = yaml.load, json.loads, fast_yaml.load
    monkeypatch.setattr(fast_yaml, "load", lambda text, **kw: fast_load(counter.saw(text), **kw))
    toml_loads = reading.tomllib.loads
    monkeypatch.setattr(yaml, "load", lambda stream, Loader: load(counter.saw(stream), Loader))
    monkeypatch.setattr(json, "loads", lambda text, **kw: loads(counter.saw(text), **kw))
    monkeypatch.setattr(
        reading.tomllib, "loads", lambda text, **kw: toml_loads(counter.saw(text), **kw)
    )
    yield counter


def invoke(project: Path, *args: str) -> None:
    """`kedro dab <args>` in this process; it must succeed."""
    result = CliRunner().invoke(dab_group, list(args), obj=SimpleNamespace(project_path=project))
    assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.output}"


def user_inputs_once(name: str) -> int:
    """Every input but the generated files once; those are read by deploys only."""
    return 0 if name.startswith(f"{OWNED}/") else 1


@pytest.mark.parametrize(
    "command",
    [("plan",), ("bundle", "--check"), ("validate", "--no-cli")],
    ids=lambda command: " ".join(command),
)
def test_a_command_parses_each_input_once(
    project: Path, parses: Parses, command: tuple[str, ...]
) -> None:
    invoke(project, *command)
    assert parses.problems(user_inputs_once) == []


def test_a_dry_run_deploy_parses_each_input_once_and_lists_the_jobs_once(
    project: Path, parses: Parses, fake_workspace: FakeWorkspace
) -> None:
    invoke(project, "deploy", "--engine", "sdk", "--dry-run")
    assert parses.problems(lambda name: 1) == []
    assert len(fake_workspace.requests("GET", r"/jobs/list$")) == 1


def test_destroy_parses_the_bundle_root_once_and_nothing_of_the_project(
    project: Path, parses: Parses, fake_workspace: FakeWorkspace
) -> None:
    # A target never deployed: nothing to delete, and nothing but the bundle's files to read.
    invoke(project, "destroy", "--engine", "sdk", "--auto-approve")
    bundle_files = {"databricks.yml", USER_INCLUDE}
    assert (
        parses.problems(
            lambda name: 1 if name in bundle_files or name.startswith(f"{OWNED}/") else 0
        )
        == []
    )
