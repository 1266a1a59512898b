"""`kedro dab init | plan | bundle | validate` on real projects: what each command writes,
what it leaves alone, and what the generated jobs hold."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.project.conftest import (
    OWNED_DIR,
    Snapshot,
    dab,
    expected_pipeline_option,
    generated_job,
    plan_json,
    refusal_line,
    shared_project,
    snapshot,
)
from tests.support.bundle_schema import bundle_file_errors, require_schema
from tests.support.kedro_projects import ProjectFactory

pytestmark = pytest.mark.project

PREP_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def load(rows):
    return list(rows)


def clean(rows):
    return [row for row in rows if row]


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(load, "raw_rows", "loaded_rows", name="load", tags=["task.ingest"]),
            node(clean, "loaded_rows", "clean_rows", name="clean", tags=["task.ingest"]),
        ]
    )
"""

TRAIN_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def features(rows):
    return [len(row) for row in rows]


def fit(values):
    return sum(values)


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(features, "clean_rows", "features", name="features", namespace="training"),
            node(fit, "features", "model_pickle", name="fit", namespace="training"),
        ]
    )
"""

REPORT_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def summarise(model):
    return str(model)


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline([node(summarise, "model_pickle", "summary", name="summarise")])
"""

PIPELINES = {"prep": PREP_PIPELINE, "train": TRAIN_PIPELINE, "report": REPORT_PIPELINE}

# `model_pickle` is persisted only through the dataset factory pattern.
CATALOG = """\
raw_rows:
  type: pickle.PickleDataset
  filepath: data/01_raw/rows.pkl
clean_rows:
  type: pickle.PickleDataset
  filepath: data/02_intermediate/clean_rows.pkl
"{name}_pickle":
  type: pickle.PickleDataset
  filepath: data/06_models/{name}.pkl
"""

ALL_NODES = {"load", "clean", "training.features", "training.fit", "summarise"}

TWO_JOBS_DAB_YML = """\
jobs:
  ingest_job:
    pipelines: [prep]
  training_job:
    pipelines: [train]
"""

KEYS_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def constant():
    return 1


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(constant, None, "left", name="first", namespace="a.b_c"),
            node(constant, None, "right", name="second", namespace="a_b.c"),
        ]
    )
"""

KEYS_DAB_YML = """\
jobs:
  by_node:
    grouping:
      - by: node
  by_namespace:
    grouping:
      - by: namespace
        depth: 2
"""

CUSTOM_DATABRICKS_YML = """\
# Our own bundle: kedro-dab may add to it, never take away.
bundle:
  name: custom-bundle

targets:
  staging:  # the shared staging workspace
    mode: production
    workspace:
      host: https://staging.example.com
"""

VALID_KEY = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def package_of(project: Path) -> str:
    return project.name.replace("-", "_")


def python_files(tree: Snapshot) -> Snapshot:
    return {path: entry for path, entry in tree.items() if path.endswith(".py")}


def is_subsequence(lines: list[str], within: list[str]) -> bool:
    remaining = iter(within)
    return all(line in remaining for line in lines)


def bundled_project(project_factory: ProjectFactory, **kwargs: Any) -> Path:
    project = project_factory(**kwargs)
    dab(project, "init", check=True)
    dab(project, "bundle", check=True)
    return project


# --- a project set up once: init, then bundle -------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_project(tmp_path_factory, pipelines=PIPELINES, catalog=CATALOG)


@pytest.fixture(scope="module")
def before_init(project: Path) -> Snapshot:
    return snapshot(project)


@pytest.fixture(scope="module")
def first_init(project: Path, before_init: Snapshot) -> Any:
    return dab(project, "init", check=True)


@pytest.fixture(scope="module")
def bundled(project: Path, first_init: Any) -> Path:
    dab(project, "bundle", check=True)
    return project


@pytest.fixture(scope="module")
def plan(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return plan_json(project, tmp_path_factory.mktemp("plan"))


def test_init_creates_databricks_yml_and_dab_yml(project: Path, first_init: Any) -> None:
    assert "databricks.yml" in first_init.stdout
    assert "conf/base/dab.yml" in first_init.stdout
    bundle = yaml.safe_load((project / "databricks.yml").read_text(encoding="utf-8"))
    assert "resources/kedro-dab/*.yml" in bundle["include"]
    assert bundle["variables"]["kedro_env"]["default"] == "databricks"
    assert bundle["targets"]
    dab_yml = yaml.safe_load((project / "conf" / "base" / "dab.yml").read_text(encoding="utf-8"))
    assert dab_yml["grouping"]


def test_init_adds_the_bundle_folders_to_gitignore(project: Path, first_init: Any) -> None:
    lines = (project / ".gitignore").read_text(encoding="utf-8").splitlines()

    assert ".databricks/" in lines
    assert ".kedro-dab/" in lines


def test_init_never_touches_a_python_file(
    project: Path, before_init: Snapshot, first_init: Any
) -> None:
    assert python_files(snapshot(project)) == python_files(before_init)


def test_init_twice_changes_nothing_and_says_so(project: Path, first_init: Any) -> None:
    before = snapshot(project)

    result = dab(project, "init", check=True)

    assert snapshot(project) == before
    assert "Nothing to do" in result.stdout


def test_plan_json_is_the_versioned_plan_document(plan: Any) -> None:
    assert plan["schema"] == "kedro-dab/plan"
    assert plan["version"] == 1


def test_plan_json_puts_every_node_in_exactly_one_task(plan: Any) -> None:
    (job,) = plan["jobs"]
    placed = Counter(node["name"] for task in job["tasks"] for node in task["nodes"])

    assert set(placed) == ALL_NODES
    assert set(placed.values()) == {1}


def test_plan_groups_by_task_tag_then_namespace_then_node(plan: Any) -> None:
    (job,) = plan["jobs"]
    tasks = {task["key"]: [node["name"] for node in task["nodes"]] for task in job["tasks"]}

    assert tasks == {
        "ingest": ["load", "clean"],
        "training": ["training.features", "training.fit"],
        "summarise": ["summarise"],
    }


def test_dataset_factory_pattern_makes_a_boundary_dataset_persisted(plan: Any) -> None:
    (job,) = plan["jobs"]

    assert {
        "dataset": "model_pickle",
        "producer": "training",
        "consumers": ["summarise"],
        "in_memory": False,
        "persisted": False,
    } in job["boundary_datasets"]


def test_plan_mermaid_is_a_flowchart(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "plan.mmd"

    dab(project, "plan", "--format", "mermaid", "--output", str(target), check=True)

    assert target.read_text(encoding="utf-8").startswith("flowchart")


def test_bundle_writes_one_resource_file_for_the_default_job(bundled: Path) -> None:
    files = sorted(path.name for path in (bundled / OWNED_DIR).iterdir())

    assert files == [f"{package_of(bundled)}.yml"]


def test_bundle_root_passes_the_official_bundle_schema(bundled: Path) -> None:
    require_schema()

    assert bundle_file_errors(bundled) == []


def test_bundle_twice_is_byte_identical(bundled: Path) -> None:
    before = snapshot(bundled)

    result = dab(bundled, "bundle", check=True)

    assert snapshot(bundled) == before
    assert "Up to date" in result.stdout


def test_bundle_check_exits_0_when_the_files_are_current(bundled: Path) -> None:
    before = snapshot(bundled)

    result = dab(bundled, "bundle", "--check")

    assert result.returncode == 0, result.stderr
    assert snapshot(bundled) == before


def test_validate_passes_on_a_bundled_project(bundled: Path) -> None:
    result = dab(bundled, "validate", "--no-cli")

    assert result.returncode == 0, result.stdout + result.stderr


def test_task_parameters_use_the_pipeline_option_of_the_installed_kedro(bundled: Path) -> None:
    job = generated_job(bundled, package_of(bundled))

    for task in job["tasks"]:
        parameters = task["python_wheel_task"]["parameters"]
        assert parameters[:2] == [expected_pipeline_option(), "__default__"]


def test_tasks_run_the_project_console_script_from_its_wheel(bundled: Path) -> None:
    job = generated_job(bundled, package_of(bundled))

    for task in job["tasks"]:
        assert task["python_wheel_task"]["package_name"] == package_of(bundled)
        assert task["python_wheel_task"]["entry_point"] == bundled.name


# --- a bundled project whose dab.yml changed afterwards ------------------------------------------


@pytest.fixture(scope="module")
def outdated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = shared_project(tmp_path_factory, pipelines=PIPELINES, catalog=CATALOG)
    dab(project, "init", check=True)
    dab(project, "bundle", check=True)
    dab_yml = project / "conf" / "base" / "dab.yml"
    retries = "tasks:\n  - match: {group: '*'}\n    max_retries: 3\n"
    dab_yml.write_text(dab_yml.read_text(encoding="utf-8") + retries, encoding="utf-8")
    return project


def test_bundle_check_exits_1_when_dab_yml_changed_and_writes_nothing(outdated: Path) -> None:
    before = snapshot(outdated)

    result = dab(outdated, "bundle", "--check")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{package_of(outdated)}.yml" in result.stdout
    assert snapshot(outdated) == before


def test_validate_fails_when_the_generated_files_are_out_of_date(outdated: Path) -> None:
    before = snapshot(outdated)

    line = refusal_line(dab(outdated, "validate", "--no-cli"))

    assert "out of date" in line
    assert f"{package_of(outdated)}.yml" in line
    assert snapshot(outdated) == before


@pytest.mark.parametrize("name", ["True", "Null", "010"])
def test_a_bundle_name_yaml_would_read_as_another_type_is_written_as_text(
    project_factory: ProjectFactory, name: str
) -> None:
    project = project_factory(pipelines=PIPELINES, catalog=CATALOG)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    given = f'project_name = "{project.name}"'
    assert text.count(given) == 1, text
    pyproject.write_text(text.replace(given, f'project_name = "{name}"'), encoding="utf-8")

    dab(project, "init", check=True)

    written = yaml.safe_load((project / "databricks.yml").read_text(encoding="utf-8"))
    assert written["bundle"]["name"] == name


# --- init on a databricks.yml of the user's ----------------------------------------------------


def test_init_keeps_custom_targets_and_comments_and_reports_what_it_adds(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(pipelines=PIPELINES, catalog=CATALOG)
    bundle_file = project / "databricks.yml"
    bundle_file.write_text(CUSTOM_DATABRICKS_YML, encoding="utf-8")

    result = dab(project, "init", check=True)

    text = bundle_file.read_text(encoding="utf-8")
    assert is_subsequence(CUSTOM_DATABRICKS_YML.splitlines(), text.splitlines())
    merged = yaml.safe_load(text)
    original = yaml.safe_load(CUSTOM_DATABRICKS_YML)
    assert merged["bundle"] == original["bundle"]
    assert merged["targets"] == original["targets"]
    assert "resources/kedro-dab/*.yml" in merged["include"]
    assert merged["variables"]["kedro_env"]["default"] == "databricks"
    reported = [line for line in result.stdout.splitlines() if "databricks.yml" in line]
    assert len(reported) == 1
    assert reported[0].startswith("updated")
    assert "include" in reported[0]
    assert "kedro_env" in reported[0]


@pytest.mark.parametrize(
    ("artifact", "kept"),
    [
        ("build: uv build --wheel  # we build with uv\n    path: .", "build: uv build --wheel"),
        ("type: whl\n    build: hatch build -t wheel", "build: hatch build -t wheel"),
    ],
    ids=["no_type", "no_path"],
)
def test_init_keeps_the_users_own_wheel_artifact_as_written(
    project_factory: ProjectFactory, artifact: str, kept: str
) -> None:
    project = project_factory(pipelines=PIPELINES, catalog=CATALOG)
    key = f"{package_of(project)}_wheel"  # the key init would give its own wheel artifact
    written = f"bundle:\n  name: custom-bundle\n\nartifacts:\n  {key}:\n    {artifact}\n"
    (project / "databricks.yml").write_text(written, encoding="utf-8")

    result = dab(project, "init", check=True)

    text = (project / "databricks.yml").read_text(encoding="utf-8")
    assert is_subsequence(written.splitlines(), text.splitlines()), text
    assert yaml.safe_load(text)["artifacts"] == yaml.safe_load(written)["artifacts"]
    assert kept in text
    assert "the wheel artifact" not in result.stdout


def test_init_adds_the_projects_wheel_beside_another_folders_wheel_artifact(
    project_factory: ProjectFactory,
) -> None:
    written = (
        "bundle:\n  name: custom-bundle\n\nartifacts:\n  shared_lib:\n    type: whl\n"
        "    path: ./libs/shared\n"
    )
    project = _with_databricks_yml(project_factory, written)

    result = dab(project, "init", check=True)

    artifacts = yaml.safe_load((project / "databricks.yml").read_text(encoding="utf-8"))[
        "artifacts"
    ]
    assert artifacts["shared_lib"] == {"type": "whl", "path": "./libs/shared"}
    assert artifacts[f"{package_of(project)}_wheel"]["path"] == "."
    assert "the wheel artifact" in result.stdout


def test_init_adds_no_targets_when_an_included_file_declares_them(
    project_factory: ProjectFactory,
) -> None:
    written = "bundle:\n  name: custom-bundle\n\ninclude:\n  - targets/*.yml\n"
    project = _with_databricks_yml(project_factory, written)
    (project / "targets").mkdir()
    (project / "targets" / "staging.yml").write_text(
        "targets:\n  staging:\n    default: true\n", encoding="utf-8"
    )

    dab(project, "init", check=True)
    dab(project, "bundle", check=True)

    merged = yaml.safe_load((project / "databricks.yml").read_text(encoding="utf-8"))
    assert "targets" not in merged
    assert "targets/*.yml" in merged["include"]


def test_init_adds_no_sync_exclude_that_would_undo_the_users_sync_include(
    project_factory: ProjectFactory,
) -> None:
    written = "bundle:\n  name: custom-bundle\n\nsync:\n  include:\n    - data/01_raw/*.csv\n"
    project = _with_databricks_yml(project_factory, written)

    result = dab(project, "init", check=True)
    dab(project, "bundle", check=True)
    dab(project, "validate", "--no-cli", check=True)

    sync = yaml.safe_load((project / "databricks.yml").read_text(encoding="utf-8"))["sync"]
    assert sync["include"] == ["data/01_raw/*.csv"]
    assert "data/**" not in sync["exclude"]
    assert "conf/local/**" in sync["exclude"]
    assert "sync.exclude 'data/**' left out" in result.stdout


def _with_databricks_yml(project_factory: ProjectFactory, text: str) -> Path:
    """A project whose `databricks.yml`, written by its user, holds `text`."""
    project = project_factory(pipelines=PIPELINES, catalog=CATALOG)
    (project / "databricks.yml").write_text(text, encoding="utf-8")
    return project


# --- files in resources/kedro-dab/ -------------------------------------------------------------


def test_bundle_removes_the_file_of_a_job_removed_from_dab_yml(
    project_factory: ProjectFactory,
) -> None:
    project = bundled_project(
        project_factory, pipelines=PIPELINES, catalog=CATALOG, dab_yml=TWO_JOBS_DAB_YML
    )
    dab_yml = project / "conf" / "base" / "dab.yml"
    dab_yml.write_text("jobs:\n  ingest_job:\n    pipelines: [prep]\n", encoding="utf-8")

    result = dab(project, "bundle", check=True)

    assert sorted(path.name for path in (project / OWNED_DIR).iterdir()) == ["ingest_job.yml"]
    assert "training_job.yml" in result.stdout


def test_bundle_writes_one_file_per_job(project_factory: ProjectFactory) -> None:
    project = bundled_project(
        project_factory, pipelines=PIPELINES, catalog=CATALOG, dab_yml=TWO_JOBS_DAB_YML
    )

    files = sorted(path.name for path in (project / OWNED_DIR).iterdir())
    assert files == ["ingest_job.yml", "training_job.yml"]
    ingest = generated_job(project, "ingest_job")
    training = generated_job(project, "training_job")
    assert [task["task_key"] for task in ingest["tasks"]] == ["ingest"]
    assert [task["task_key"] for task in training["tasks"]] == ["training"]


def test_bundle_refuses_a_foreign_file_in_its_folder_and_leaves_it(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(pipelines=PIPELINES, catalog=CATALOG)
    dab(project, "init", check=True)
    foreign = project / OWNED_DIR / "notes.yml"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("resources:\n  jobs: {}\n", encoding="utf-8")
    before = snapshot(project)

    line = refusal_line(dab(project, "bundle"))

    assert "notes.yml" in line
    assert snapshot(project) == before


def test_bundle_refuses_to_overwrite_a_hand_edited_file(project_factory: ProjectFactory) -> None:
    project = bundled_project(project_factory, pipelines=PIPELINES, catalog=CATALOG)
    generated = project / OWNED_DIR / f"{package_of(project)}.yml"
    text = generated.read_text(encoding="utf-8")
    generated.write_text(text.replace("task_key: ingest", "task_key: by_hand"), encoding="utf-8")
    before = snapshot(project)

    line = refusal_line(dab(project, "bundle"))

    assert generated.name in line
    assert "--force" in line
    assert snapshot(project) == before


def test_bundle_force_replaces_a_hand_edited_file(project_factory: ProjectFactory) -> None:
    project = bundled_project(project_factory, pipelines=PIPELINES, catalog=CATALOG)
    generated = project / OWNED_DIR / f"{package_of(project)}.yml"
    text = generated.read_text(encoding="utf-8")
    generated.write_text(text.replace("task_key: ingest", "task_key: by_hand"), encoding="utf-8")

    dab(project, "bundle", "--force", check=True)

    assert generated.read_text(encoding="utf-8") == text


# --- names and keys ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = shared_project(
        tmp_path_factory, pipelines={"keys": KEYS_PIPELINE}, dab_yml=KEYS_DAB_YML
    )
    plan = plan_json(project, tmp_path_factory.mktemp("keys-plan"))
    return {job["key"]: job for job in plan["jobs"]}


def test_namespaced_node_names_give_valid_task_keys(keys_plan: dict[str, Any]) -> None:
    tasks = keys_plan["by_node"]["tasks"]

    assert sorted(node["name"] for task in tasks for node in task["nodes"]) == [
        "a.b_c.first",
        "a_b.c.second",
    ]
    for task in tasks:
        assert VALID_KEY.match(task["key"]), task["key"]
        assert "." not in task["key"]


def test_groups_whose_names_clean_to_one_key_get_distinct_hashed_keys(
    keys_plan: dict[str, Any],
) -> None:
    tasks = keys_plan["by_namespace"]["tasks"]
    keys = {task["group"]: task["key"] for task in tasks}

    assert set(keys) == {"a.b_c", "a_b.c"}
    assert keys["a.b_c"] != keys["a_b.c"]
    for key in keys.values():
        assert re.fullmatch(r"a_b_c_[0-9a-f]+", key), key


def test_tasks_call_the_console_script_named_in_pyproject(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(pipelines=PIPELINES, catalog=CATALOG)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    script_line = f'{project.name} = "{package_of(project)}.__main__:main"'
    assert script_line in text
    pyproject.write_text(
        text.replace(script_line, f'my-runner = "{package_of(project)}.__main__:main"'),
        encoding="utf-8",
    )
    dab(project, "init", check=True)

    dab(project, "bundle", check=True)

    job = generated_job(project, package_of(project))
    entry_points = {task["python_wheel_task"]["entry_point"] for task in job["tasks"]}
    assert entry_points == {"my-runner"}


def test_bundle_into_a_generated_folder_that_is_a_symbolic_link_keeps_the_link(
    project_factory: ProjectFactory, tmp_path: Path
) -> None:
    project = bundled_project(project_factory, pipelines=PIPELINES, catalog=CATALOG)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(project / OWNED_DIR, elsewhere)
    (project / OWNED_DIR).symlink_to(elsewhere, target_is_directory=True)
    before = sorted(p.name for p in elsewhere.iterdir())
    (project / "conf" / "base" / "dab.yml").write_text("grouping: [{by: node}]\n")

    dab(project, "bundle", check=True)

    assert (project / OWNED_DIR).is_symlink()
    assert sorted(p.name for p in (project / OWNED_DIR).iterdir()) == before
    assert sorted(p.name for p in (project / "resources").iterdir()) == ["kedro-dab"]
