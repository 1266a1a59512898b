"""`kedro dab bundle` killed at any point leaves `resources/kedro-dab/` holding the old set of
job files or the new one, never a mix, and the next run cleans up whatever the killed one left.

A driver process imports Kedro and kedro-dab once, then forks one child per kill point. Each
child runs the real Kedro CLI (`kedro dab bundle`) on a real project whose dab.yml changes
three jobs into a different three (one renamed, one removed, one added), with an audit hook
that SIGKILLs the child just before its k-th file system operation under `resources/`: every
open, mkdir, rename, exchange, chmod, unlink and removal is a kill point, from the first to
the last. After each kill the driver records which set the folder holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.project.conftest import dab, shared_project
from tests.support.kedro_projects import kedro_environ

pytestmark = pytest.mark.project

PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def step(value):
    return value


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(step, "seed", "middle", name="first", tags=["task.one"]),
            node(step, "middle", "last", name="second", tags=["task.two"]),
        ]
    )
"""

CATALOG = """\
seed: {type: pickle.PickleDataset, filepath: data/seed.pkl}
middle: {type: pickle.PickleDataset, filepath: data/middle.pkl}
last: {type: pickle.PickleDataset, filepath: data/last.pkl}
"""

OLD_JOBS = "jobs:\n  alpha: {name: Alpha}\n  beta: {name: Beta}\n  gamma: {name: Gamma}\n"
NEW_JOBS = "jobs:\n  alpha: {name: Alpha renamed}\n  gamma: {name: Gamma}\n  delta: {name: Delta}\n"

DRIVER = textwrap.dedent(
    """
    import json, os, shutil, signal, sys
    from pathlib import Path

    project, old_dab, new_dab = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    os.chdir(project)
    from kedro.framework.cli import main as kedro_main
    import kedro_dab.api, kedro_dab.bundle.write  # noqa: F401  (imported before the forks)

    resources = str(project / "resources")
    owned = project / "resources" / "kedro-dab"
    dab_file = project / "conf" / "base" / "dab.yml"
    PATH_EVENTS = {
        "open", "os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.chmod", "os.link",
        "shutil.rmtree", "shutil.copyfile", "tempfile.mkdtemp", "os.listdir", "os.scandir",
    }

    def current_set():
        if not owned.is_dir():
            return None
        return {p.name: p.read_text() for p in sorted(owned.glob("*.yml"))}

    def run_bundle(kill_at):
        pid = os.fork()
        if pid == 0:
            seen = [0, False]

            def hook(event, args):
                touches = event in PATH_EVENTS and args and str(args[0]).startswith(resources)
                if touches or (event == "ctypes.call_function" and seen[1]):
                    seen[0] += 1
                    seen[1] = True
                    if seen[0] == kill_at:
                        os.kill(os.getpid(), signal.SIGKILL)

            sys.addaudithook(hook)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            sys.argv = ["kedro", "dab", "bundle"]
            try:
                kedro_main()
            except SystemExit as exc:
                os._exit(exc.code if isinstance(exc.code, int) else 1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        return "killed" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"

    dab_file.write_text(old_dab)
    assert run_bundle(0) == "exit 0"
    old = current_set()
    dab_file.write_text(new_dab)
    assert run_bundle(0) == "exit 0"
    new = current_set()
    assert old != new
    outcomes = []
    k = 0
    while True:
        k += 1
        shutil.rmtree(owned)
        owned.mkdir()
        for name, text in old.items():
            (owned / name).write_text(text)
        ended = run_bundle(k)
        held = current_set()
        state = "old" if held == old else "new" if held == new else "torn"
        outcomes.append([k, ended, state])
        if ended != "killed":
            break
    leftovers = sorted(
        p.name for p in (project / "resources").iterdir() if p.name != "kedro-dab"
    ) + sorted(p.name for p in owned.iterdir() if not p.name.endswith(".yml"))
    print(json.dumps({"outcomes": outcomes, "leftovers": leftovers}))
    """
)


@pytest.fixture(scope="module")
def kills(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    project = shared_project(
        tmp_path_factory, pipelines={"flow": PIPELINE}, catalog=CATALOG, dab_yml=OLD_JOBS
    )
    dab(project, "init", check=True)
    driver = project.parent / "kill_driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(driver), str(project), OLD_JOBS, NEW_JOBS],
        env=kedro_environ(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, list] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_bundle_is_killed_at_every_file_operation_of_the_replacement(kills: dict) -> None:
    killed = [k for k, ended, _ in kills["outcomes"] if ended == "killed"]
    assert len(killed) >= 10
    assert kills["outcomes"][-1][1] == "exit 0"
    assert kills["outcomes"][-1][2] == "new"


def test_a_killed_bundle_leaves_the_old_set_or_the_new_set_never_a_mix(kills: dict) -> None:
    torn = [(k, ended) for k, ended, state in kills["outcomes"] if state == "torn"]
    states = {state for _, _, state in kills["outcomes"]}

    assert torn == []
    assert states == {"old", "new"}


def test_the_run_after_the_kills_cleans_up_every_leftover(kills: dict) -> None:
    assert kills["leftovers"] == []
