"""The bundle root read once: `databricks.yml` merged with the user's include files, the
generated files parsed only when a deploy asks for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_dab.bundle.root import BundleRoot
from kedro_dab.deploy.target import load_target
from kedro_dab.errors import ConfigError

DATABRICKS_YML = """\
bundle: {name: b}
include: [resources/*.yml, resources/kedro-dab/*.yml]
variables: {kedro_env: {default: databricks}}
targets:
  dev: {default: true}
"""
OWNED_JOB = "resources/kedro-dab/job.yml"
JOB = "resources:\n  jobs:\n    job: {name: job, tasks: []}\n"


def bundle_at(root: Path, files: dict[str, str] | None = None) -> Path:
    """A bundle root at `root` with `files` (relative path -> text) besides databricks.yml."""
    (root / "databricks.yml").write_text(DATABRICKS_YML, encoding="utf-8")
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_target_declared_in_an_included_file_is_a_target_of_the_bundle(tmp_path: Path) -> None:
    extra = "targets:\n  prod:\n    variables: {kedro_env: prodenv}\n"
    root = BundleRoot.read(bundle_at(tmp_path, {"resources/prod.yml": extra}))
    assert root.target_names == ["dev", "prod"]
    assert root.data is not None
    assert root.data["targets"]["prod"]["variables"] == {"kedro_env": "prodenv"}


def test_the_generated_files_are_not_parsed_when_the_root_is_read(tmp_path: Path) -> None:
    bundle_at(tmp_path, {OWNED_JOB: "resources: [not, a, mapping"})
    root = BundleRoot.read(tmp_path)
    assert root.includes == ("resources/kedro-dab/job.yml",)
    with pytest.raises(ConfigError, match=r"resources/kedro-dab/job\.yml: invalid YAML"):
        root.sources()


def test_a_deploy_reads_the_generated_jobs_from_the_text_just_rendered(tmp_path: Path) -> None:
    bundle_at(tmp_path, {OWNED_JOB: "resources: [stale, file"})
    root = BundleRoot.read(tmp_path).with_owned({"job.yml": JOB})
    assert sorted(load_target(root, None).jobs) == ["job"]


def test_the_generated_jobs_written_by_this_command_are_included(tmp_path: Path) -> None:
    root = BundleRoot.read(bundle_at(tmp_path))
    assert root.includes == ()
    (tmp_path / "resources" / "kedro-dab").mkdir(parents=True)
    (tmp_path / "resources" / "kedro-dab" / "job.yml").write_text(JOB, encoding="utf-8")
    assert root.with_owned({"job.yml": JOB}).includes == ("resources/kedro-dab/job.yml",)


def test_a_broken_include_of_the_user_is_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^resources/extra\.yml: invalid YAML"):
        BundleRoot.read(bundle_at(tmp_path, {"resources/extra.yml": "sync: [a"}))


def test_without_databricks_yml_the_root_has_no_settings_and_the_default_env(
    tmp_path: Path,
) -> None:
    root = BundleRoot.read(tmp_path)
    assert root.data is None
    assert root.target_names == []
    assert root.default_env == "databricks"
