"""`kedro dab init` options: the workspace host and the Kedro env the tasks run with, and a
second init with the same options changing nothing."""

from __future__ import annotations

import difflib

import pytest
import yaml

from tests.project.conftest import snapshot
from tests.support.kedro_projects import ProjectFactory, run_kedro

pytestmark = pytest.mark.project


def test_host_is_written_into_every_target(project_factory: ProjectFactory):
    project = project_factory()
    result = run_kedro(project, "dab", "init", "--host", "https://example.cloud.databricks.com")
    assert result.returncode == 0, result.stdout + result.stderr
    targets = yaml.safe_load((project / "databricks.yml").read_text())["targets"]
    assert {t["workspace"]["host"] for t in targets.values()} == {
        "https://example.cloud.databricks.com"
    }


ONE_NODE = """\
from kedro.pipeline import Pipeline, node, pipeline


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline([node(len, "rows", "count", name="count_rows")])
"""


def test_env_names_the_tasks_env_and_gets_a_shipped_folder(project_factory: ProjectFactory):
    # a job needs nodes: a project whose pipelines are empty is refused by `plan`
    project = project_factory(pipelines={"flow": ONE_NODE})
    result = run_kedro(project, "dab", "init", "--env", "staging")
    assert result.returncode == 0, result.stdout + result.stderr
    variables = yaml.safe_load((project / "databricks.yml").read_text())["variables"]
    assert variables["kedro_env"]["default"] == "staging"
    assert (project / "conf" / "staging" / ".gitkeep").is_file()
    plan = run_kedro(project, "dab", "plan")
    assert plan.returncode == 0, plan.stderr
    assert "Kedro env 'staging'" in plan.stdout


def test_files_written_with_crlf_keep_crlf_when_init_adds_to_them(project_factory: ProjectFactory):
    project = project_factory()
    assert run_kedro(project, "dab", "init").returncode == 0
    bundle, ignore = project / "databricks.yml", project / ".gitignore"
    text = bundle.read_text(encoding="utf-8").replace("  - resources/kedro-dab/*.yml\n", "")
    bundle.write_bytes(text.replace("\n", "\r\n").encode())
    kept = [
        line for line in ignore.read_text(encoding="utf-8").splitlines() if line != ".kedro-dab/"
    ]
    ignore.write_bytes(("\r\n".join(kept) + "\r\n").encode())

    result = run_kedro(project, "dab", "init")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "added include 'resources/kedro-dab/*.yml'" in result.stdout
    assert ".gitignore (added .kedro-dab/)" in result.stdout
    for path in (bundle, ignore):
        data = path.read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n"), path.name
        assert b"\r\r" not in data, path.name
    assert "resources/kedro-dab/*.yml" in yaml.safe_load(bundle.read_bytes())["include"]


@pytest.mark.parametrize("name", ["databricks.yml", ".gitignore"])
def test_a_file_init_completes_that_is_a_symbolic_link_stays_one(
    project_factory: ProjectFactory, name: str
):
    project = project_factory()
    shared = project / "shared"
    shared.mkdir()
    original = "bundle:\n  name: linked\n" if name == "databricks.yml" else "data/\n"
    (shared / name).write_text(original, encoding="utf-8")
    (project / name).unlink(missing_ok=True)
    (project / name).symlink_to(shared / name)

    result = run_kedro(project, "dab", "init")

    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / name).is_symlink()
    completed = (shared / name).read_text(encoding="utf-8")
    assert completed.startswith(original) and len(completed) > len(original)


USER_STYLES = {
    "four spaces, dashes at the key": (
        "# ours\nbundle:\n    name: mine  # keep\ninclude:\n- other/*.yml\nsync:\n"
        "    exclude:\n    - data/**\ntargets:\n    dev:\n        mode: development\n"
        "        default: true\n"
    ),
    "two spaces, dashes at the key": (
        "bundle:\n  name: mine\ninclude:\n- other/*.yml\nsync:\n  exclude:\n  - data/**\n"
        "targets:\n  dev:\n    mode: development\n    default: true\n"
    ),
    "four spaces, dashes indented two": (
        "bundle:\n    name: mine\ninclude:\n  - other/*.yml\nsync:\n    exclude:\n"
        "      - data/**\ntargets:\n    dev:\n        mode: development\n"
        "        default: true\n"
    ),
}


@pytest.mark.parametrize("style", sorted(USER_STYLES))
def test_init_only_inserts_lines_into_a_file_indented_its_own_way(
    project_factory: ProjectFactory, style: str
):
    project = project_factory()
    original = USER_STYLES[style]
    (project / "databricks.yml").write_text(original, encoding="utf-8")

    result = run_kedro(project, "dab", "init")

    assert result.returncode == 0, result.stdout + result.stderr
    merged = (project / "databricks.yml").read_text(encoding="utf-8")
    opcodes = difflib.SequenceMatcher(
        None, original.splitlines(), merged.splitlines(), autojunk=False
    ).get_opcodes()
    assert {tag for tag, *_ in opcodes} <= {"equal", "insert"}, merged
    assert "resources/kedro-dab/*.yml" in yaml.safe_load(merged)["include"]


ALL_OPTIONS = [
    "--env",
    "staging",
    "--host",
    "https://example.cloud.databricks.com",
    "--ci",
    "github",
    "--vscode",
]

OWN_DATABRICKS_YML = """\
# ours: kedro-dab adds what is missing
bundle:
  name: our-bundle

targets:
  qa:  # the shared QA workspace
    mode: production
    workspace:
      root_path: /Workspace/Shared/our-bundle
"""


@pytest.mark.parametrize(
    ("options", "own"),
    [
        (ALL_OPTIONS, None),
        (ALL_OPTIONS, OWN_DATABRICKS_YML),
        (["--host", "https://h.example"], OWN_DATABRICKS_YML),
    ],
    ids=["every-option", "every-option-on-our-databricks-yml", "host-on-our-databricks-yml"],
)
def test_init_twice_with_the_same_options_changes_nothing(
    project_factory: ProjectFactory, options: list[str], own: str | None
) -> None:
    project = project_factory()
    if own is not None:
        (project / "databricks.yml").write_text(own, encoding="utf-8")
    first = run_kedro(project, "dab", "init", *options)
    assert first.returncode == 0, first.stdout + first.stderr
    before = snapshot(project)

    second = run_kedro(project, "dab", "init", *options)

    assert second.returncode == 0, second.stdout + second.stderr
    assert snapshot(project) == before
    assert "Nothing to do" in second.stdout, second.stdout
