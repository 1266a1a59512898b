"""`kedro dab diff`: what a commit does to the jobs, on a real project with two commits."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.project.conftest import dab, plan_json, refusal_line
from tests.project.test_commands import CATALOG, PIPELINES, PREP_PIPELINE, TRAIN_PIPELINE
from tests.support.kedro_projects import ProjectFactory

pytestmark = pytest.mark.project

BASE_DAB_YML = "tasks:\n  - match: {group: prep}\n    max_retries: 1\n"

# The second commit: the prep nodes' tag names their task `ingest` (the same nodes: a
# rename), `training.fit` gets a task of its own (its input, `features`, now in the catalog),
# and `training` gets a timeout.
HEAD_PREP = PREP_PIPELINE.replace("task.ingest", "task.prep")
HEAD_CHANGES = {
    "prep": PREP_PIPELINE,
    "train": TRAIN_PIPELINE.replace(
        'name="fit", namespace="training"',
        'name="fit", namespace="training", tags=["task.fitting"]',
    ),
}
HEAD_DAB_YML = (
    "tasks:\n  - match: {group: ingest}\n    max_retries: 1\n"
    "  - match: {group: training}\n    timeout_seconds: 600\n"
)

HEAD_CATALOG = """\
features:
  type: pickle.PickleDataset
  filepath: data/04_feature/features.pkl
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def project(project_factory: ProjectFactory) -> Path:
    root = project_factory(
        pipelines={**PIPELINES, "prep": HEAD_PREP}, catalog=CATALOG, dab_yml=BASE_DAB_YML
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    package = next(p.name for p in (root / "src").iterdir() if (p / "pipelines").is_dir())
    for name, source in HEAD_CHANGES.items():
        (root / "src" / package / "pipelines" / name / "pipeline.py").write_text(source)
    (root / "conf" / "base" / "dab.yml").write_text(HEAD_DAB_YML)
    (root / "conf" / "base" / "catalog.yml").write_text(CATALOG + HEAD_CATALOG)
    git(root, "commit", "-q", "-am", "second")
    return root


def test_diff_names_the_renamed_and_added_tasks_the_moved_node_and_the_changed_settings(
    project: Path,
) -> None:
    text = dab(project, "diff", "--base", "HEAD~1", check=True).stdout
    lines = set(text.splitlines())
    assert "  task renamed: prep -> ingest" in lines, text
    assert "  task added: fitting" in lines, text
    assert "  node moved: training.fit: training -> fitting (grouping[0]: tag 'task.fitting')" in (
        lines
    ), text
    assert '  task training: settings: {} -> {"timeout_seconds": 600}' in lines, text
    assert '  task summarise: depends_on: ["training"] -> ["fitting"]' in lines, text
    # A rename is not also a removal, and the renamed task's nodes did not move.
    assert not any("task removed" in line or "node moved: load" in line for line in lines), text


def test_diff_against_the_same_revision_says_nothing_changed(project: Path) -> None:
    result = dab(project, "diff", check=True)
    assert result.stdout.splitlines()[-1] == "No change to the jobs since HEAD."


def test_markdown_diff_has_the_lists_and_a_mermaid_diagram_of_the_changed_job(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "diff.md"
    dab(project, "diff", "--base", "HEAD~1", "--format", "markdown", "-o", str(out), check=True)
    text = out.read_text(encoding="utf-8")
    assert "- task renamed: `prep` → `ingest`" in text
    diagram = re.search(r"```mermaid\n(.*?)```", text, re.DOTALL)
    assert diagram is not None, text
    assert diagram.group(1).startswith("flowchart")
    assert "fitting (added)" in diagram.group(1)
    assert "ingest (was prep)" in diagram.group(1)


def test_diff_leaves_the_work_tree_and_its_uncommitted_changes_alone(project: Path) -> None:
    dab_yml = project / "conf" / "base" / "dab.yml"
    dab_yml.write_text(HEAD_DAB_YML + "  - match: {group: fitting}\n    max_retries: 3\n")
    status = git(project, "status", "--porcelain")
    text = dab(project, "diff", check=True).stdout
    assert 'task fitting: settings: {} -> {"max_retries": 3}' in text
    assert git(project, "status", "--porcelain") == status


def test_an_unknown_base_is_refused_naming_it(project: Path) -> None:
    line = refusal_line(dab(project, "diff", "--base", "no-such-branch"))
    assert "'no-such-branch'" in line


# A base revision without the project is refused naming where the project was looked for.
NO_PROJECT = (
    "Error: --base 'HEAD': that revision has no Kedro project at {where} (no pyproject.toml "
    "with [tool.kedro]); pass --base with a revision that has one"
)


def test_an_empty_first_commit_as_base_is_refused_naming_the_project_folder_in_the_repository(
    project_factory: ProjectFactory, tmp_path: Path
) -> None:
    root = project_factory()
    assert root.parent == tmp_path
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "initial")
    line = refusal_line(dab(root, "diff", "--base", "HEAD"))
    assert line == NO_PROJECT.format(where=root.name)


def test_a_readme_only_base_is_refused_naming_the_missing_project(
    project_factory: ProjectFactory,
) -> None:
    root = project_factory()
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "readme")
    line = refusal_line(dab(root, "diff", "--base", "HEAD"))
    assert line == NO_PROJECT.format(where="the repository root")


def test_diff_of_a_project_in_a_subfolder_of_the_repository_plans_the_base_there(
    project_factory: ProjectFactory, tmp_path: Path
) -> None:
    root = project_factory(
        pipelines={**PIPELINES, "prep": HEAD_PREP}, catalog=CATALOG, dab_yml=BASE_DAB_YML
    )
    assert root.parent == tmp_path
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "project in a subfolder")
    (root / "conf" / "base" / "dab.yml").write_text(BASE_DAB_YML.replace("1", "4"))
    text = dab(root, "diff", "--base", "HEAD", check=True).stdout
    assert '  task prep: settings: {"max_retries": 1} -> {"max_retries": 4}' in text, text


def test_diff_against_a_base_before_kedro_dab_was_set_up_shows_every_job_added(
    project_factory: ProjectFactory,
) -> None:
    root = project_factory(pipelines={**PIPELINES, "prep": HEAD_PREP}, catalog=CATALOG)
    (root / "conf" / "base" / "dab.yml").unlink(missing_ok=True)
    (root / "conf" / "databricks" / ".gitkeep").unlink(missing_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a kedro project")
    assert "conf/databricks" not in git(root, "ls-tree", "-r", "--name-only", "HEAD")
    dab(root, "init", check=True)

    text = dab(root, "diff", "--base", "HEAD", check=True).stdout

    head = plan_json(root, root.parent / "plans")
    assert head["jobs"]
    for job in head["jobs"]:
        assert f"  job added: {job['key']}" in text.splitlines(), text
