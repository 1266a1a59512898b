"""Behaviour of the bundle schema test support (``tests.support.bundle_schema``)."""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import bundle_schema
from tests.support.bundle_schema import (
    bundle_errors,
    bundle_file_errors,
    load_bundle,
    load_validator,
    require_schema,
    schema_path,
)

TASK_PATH = "resources.jobs.kdab_demo.tasks[0]"


def minimal_bundle() -> dict[str, Any]:
    """A bundle with one serverless job running one wheel task."""
    return {
        "bundle": {"name": "kdab_demo"},
        "resources": {
            "jobs": {
                "kdab_demo": {
                    "name": "kdab_demo",
                    "tasks": [
                        {
                            "task_key": "ingest",
                            "environment_key": "default",
                            "python_wheel_task": {
                                "package_name": "kdab_demo",
                                "entry_point": "kdab_demo",
                            },
                        }
                    ],
                    "environments": [
                        {
                            "environment_key": "default",
                            "spec": {
                                "environment_version": "4",
                                "dependencies": ["../dist/*.whl"],
                            },
                        }
                    ],
                }
            }
        },
    }


def with_task(**changes: Any) -> dict[str, Any]:
    """The minimal bundle with its one task updated by ``changes``."""
    config = copy.deepcopy(minimal_bundle())
    config["resources"]["jobs"]["kdab_demo"]["tasks"][0].update(changes)
    return config


def write_yaml(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_minimal_serverless_wheel_bundle_is_valid() -> None:
    assert bundle_errors(minimal_bundle()) == []


def test_unknown_key_inside_task_is_reported_with_its_path() -> None:
    assert bundle_errors(with_task(bogus=1)) == [
        f"{TASK_PATH}: Additional properties are not allowed ('bogus' was unexpected)"
    ]


def test_wrong_type_is_reported_with_its_path() -> None:
    assert bundle_errors(with_task(max_retries="x")) == [
        f"{TASK_PATH}.max_retries: 'x' is not of type 'integer'"
    ]


def test_interpolation_string_is_accepted_where_an_int_is_expected() -> None:
    assert bundle_errors(with_task(max_retries="${var.max_retries}")) == []


def test_interpolation_with_unknown_root_is_rejected_and_roots_named() -> None:
    [message] = bundle_errors(with_task(max_retries="${env.max_retries}"))
    assert message.startswith(f"{TASK_PATH}.max_retries: '${{env.max_retries}}' is not of type")
    assert "var" in message and "resources" in message


def test_value_outside_an_enum_is_rejected() -> None:
    [message] = bundle_errors(with_task(run_if="SOMETIMES"))
    assert message.startswith(f"{TASK_PATH}.run_if: 'SOMETIMES' is not one of [")


def test_task_key_characters_are_left_to_the_generator() -> None:
    # The schema types task_key as a plain string: a dotted key passes it.
    assert bundle_errors(with_task(task_key="a.b")) == []


def test_missing_required_field_is_reported() -> None:
    config = with_task(python_wheel_task={"entry_point": "kdab_demo"})
    assert bundle_errors(config) == [
        f"{TASK_PATH}.python_wheel_task: 'package_name' is a required property"
    ]


def test_validator_loads_quickly_and_is_cached_per_process() -> None:
    bundle_schema._validator_for.cache_clear()
    started = time.perf_counter()
    validator = load_validator()
    assert bundle_errors(minimal_bundle()) == []
    assert time.perf_counter() - started < 10
    assert load_validator() is validator


def test_missing_schema_skips_with_a_clear_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(bundle_schema.SCHEMA_ENV_VAR, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert schema_path() is None
    with pytest.raises(pytest.skip.Exception, match="bundle schema not available"):
        require_schema()


def test_databricks_cli_schema_is_asked_for_once_and_kept_in_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_schema = require_schema()
    calls = tmp_path / "calls"
    cli = tmp_path / "bin" / "databricks"
    cli.parent.mkdir()
    cli.write_text(
        f'#!/bin/sh\n[ "$1 $2" = "bundle schema" ] || exit 2\necho >> "{calls}"\n'
        f'cat "{real_schema}"\n',
        encoding="utf-8",
    )
    cli.chmod(0o755)
    monkeypatch.delenv(bundle_schema.SCHEMA_ENV_VAR)
    monkeypatch.setenv("PATH", os.pathsep.join([str(cli.parent), os.environ["PATH"]]))

    try:
        first = schema_path()
        assert first is not None
        assert schema_path() == first
        assert first.read_bytes() == real_schema.read_bytes()
        assert calls.read_text(encoding="utf-8").count("\n") == 1
    finally:
        bundle_schema._schema_from_cli.cache_clear()


def test_schema_variable_naming_no_file_fails_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(bundle_schema.SCHEMA_ENV_VAR, str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError, match="KEDRO_DAB_BUNDLE_SCHEMA"):
        schema_path()


def test_load_bundle_merges_included_files(tmp_path: Path) -> None:
    job = minimal_bundle()["resources"]["jobs"]["kdab_demo"]
    write_yaml(
        tmp_path / "databricks.yml",
        {
            "bundle": {"name": "kdab_demo"},
            "include": ["resources/*.yml"],
            "targets": {"dev": {"mode": "development", "default": True}},
        },
    )
    write_yaml(tmp_path / "resources" / "a.yml", {"resources": {"jobs": {"a": job}}})
    write_yaml(
        tmp_path / "resources" / "b.yml",
        {
            "resources": {"jobs": {"b": job}},
            "targets": {"prod": {"mode": "production"}},
        },
    )

    merged = load_bundle(tmp_path)

    assert sorted(merged["resources"]["jobs"]) == ["a", "b"]
    assert sorted(merged["targets"]) == ["dev", "prod"]
    assert bundle_errors(merged) == []


def test_double_star_include_matches_one_folder_level_like_the_cli(tmp_path: Path) -> None:
    write_yaml(
        tmp_path / "databricks.yml",
        {"bundle": {"name": "kdab_demo"}, "include": ["resources/**/*.yml"]},
    )
    write_yaml(tmp_path / "resources" / "top.yml", {"variables": {"top": {"default": "1"}}})
    write_yaml(tmp_path / "resources" / "jobs" / "j.yml", {"variables": {"j": {"default": "1"}}})

    assert sorted(load_bundle(tmp_path)["variables"]) == ["j"]


def test_file_errors_name_the_included_file_that_is_invalid(tmp_path: Path) -> None:
    broken = with_task(bogus=1)["resources"]
    write_yaml(
        tmp_path / "databricks.yml",
        {"bundle": {"name": "kdab_demo"}, "include": ["resources/*.yml"]},
    )
    write_yaml(tmp_path / "resources" / "kdab_demo.job.yml", {"resources": broken})

    errors = bundle_file_errors(tmp_path)

    unexpected = "Additional properties are not allowed ('bogus' was unexpected)"
    assert errors == [
        f"<merged>: {TASK_PATH}: {unexpected}",
        f"resources/kdab_demo.job.yml: {TASK_PATH}: {unexpected}",
    ]


def test_file_errors_report_a_resource_key_defined_in_two_files(tmp_path: Path) -> None:
    job = minimal_bundle()["resources"]["jobs"]["kdab_demo"]
    write_yaml(
        tmp_path / "databricks.yml",
        {"bundle": {"name": "kdab_demo"}, "include": ["resources/*.yml"]},
    )
    write_yaml(tmp_path / "resources" / "a.yml", {"resources": {"jobs": {"same": job}}})
    write_yaml(tmp_path / "resources" / "b.yml", {"resources": {"jobs": {"same": job}}})

    [message] = bundle_file_errors(tmp_path)

    assert "multiple resources have been defined with the same key: same" in message


def test_file_errors_report_an_include_that_matches_nothing(tmp_path: Path) -> None:
    write_yaml(
        tmp_path / "databricks.yml",
        {"bundle": {"name": "kdab_demo"}, "include": ["resources/missing.yml"]},
    )

    assert bundle_file_errors(tmp_path) == [
        "<load>: resources/missing.yml defined in 'include' section does not match any files"
    ]
