"""The dab.yml schema: strict keys, helpful paths and suggestions, sound defaults."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kedro_dab.config import parse_config
from kedro_dab.config_grouping import DEFAULT_GROUPING
from kedro_dab.errors import ConfigError


def error_of(raw: dict, files=(), root=None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, files, root)
    return str(caught.value)


def test_empty_config_gives_the_documented_defaults():
    config = parse_config({})
    assert config.grouping == DEFAULT_GROUPING
    assert config.boundary_mode == "merge"
    assert config.jobs == {}
    assert config.default_compute == "serverless"
    assert "serverless" in config.compute_profiles()


def exactly(text: str) -> str:
    return f"^{re.escape(text)}$"


def starting(text: str) -> str:
    return f"^{re.escape(text)}"


def holding(text: str) -> str:
    return re.escape(text)


BAD: list[tuple[str, dict[str, Any], str]] = [
    (
        "an unknown top-level key suggests the closest",
        {"groupng": []},
        exactly("dab.yml: groupng: unknown key; did you mean 'grouping'?"),
    ),
    (
        "an unknown key inside a rule names its index and suggests",
        {"grouping": [{"by": "tag", "prefx": "task."}]},
        exactly("dab.yml: grouping[0].prefx: unknown key; did you mean 'prefix'?"),
    ),
    (
        "an unknown rule kind lists the kinds",
        {"grouping": [{"by": "tags"}]},
        holding("grouping[0]: unknown kind 'tags'; use one of 'tag', 'namespace'"),
    ),
    (
        "a rule without kind says by is missing",
        {"grouping": [{"prefix": "x"}]},
        exactly("dab.yml: grouping[0]: missing key 'by'"),
    ),
    (
        "an unknown key in a compute profile is named like its type",
        {"compute": {"serverless": {"type": "serverless", "env_version": "3"}}},
        starting("dab.yml: compute.serverless.env_version: unknown key"),
    ),
    (
        "an unknown key in a job suggests the closest",
        {"jobs": {"nightly": {"pipeline": ["x"]}}},
        exactly("dab.yml: jobs.nightly.pipeline: unknown key; did you mean 'pipelines'?"),
    ),
    (
        "an unknown key in a task selector suggests the closest",
        {"tasks": [{"match": {"grop": "x"}}]},
        exactly("dab.yml: tasks[0].match.grop: unknown key; did you mean 'group'?"),
    ),
    (
        "a task entry naming an undefined compute profile",
        {"tasks": [{"match": {"group": "x"}, "compute": "big"}]},
        holding("tasks[0].compute: unknown compute profile 'big'"),
    ),
    (
        "a tag rule needs exactly one of prefix or tags",
        {"grouping": [{"by": "tag"}]},
        holding("exactly one of 'prefix' or 'tags'"),
    ),
    (
        "a selector needs a condition",
        {"tasks": [{"match": {}}]},
        holding("needs at least one of group, tag, node, job"),
    ),
    (
        "a job key with spaces",
        {"jobs": {"a b": {}}},
        holding("jobs.a b: a job key may hold only"),
    ),
    (
        "a wrong type names the key",
        {"merge_memory": "maybe"},
        exactly("dab.yml: merge_memory: expected true or false, got 'maybe'"),
    ),
    (
        "the bad entry of a mapping is named even when an earlier entry is fine",
        {"jobs": {"a": {}, "b": {"pipeline": ["x"]}}},
        exactly("dab.yml: jobs.b.pipeline: unknown key; did you mean 'pipelines'?"),
    ),
    (
        "a value outside its choices lists them",
        {"boundaries": "keep"},
        exactly("dab.yml: boundaries: 'keep' is not one of 'merge', 'persist', 'refuse'"),
    ),
    (
        "a number below its minimum names the bound and the value",
        {"jobs": {"j": {"max_concurrent_runs": 0}}},
        exactly("dab.yml: jobs.j.max_concurrent_runs: expected a whole number >= 1, got 0"),
    ),
    (
        "a missing required key is named",
        {"serving": {"api": {}}},
        exactly("dab.yml: serving.api: missing key 'pipeline'"),
    ),
]


@pytest.mark.parametrize(
    ("raw", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_bad_dab_yml_is_one_error_naming_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_error_names_the_file_that_holds_the_bad_key(tmp_path: Path):
    base = tmp_path / "conf" / "base" / "dab.yml"
    env = tmp_path / "conf" / "databricks" / "dab.yml"
    base.parent.mkdir(parents=True)
    env.parent.mkdir(parents=True)
    base.write_text("grouping: []\n")
    env.write_text("merge_memroy: true\n")
    message = error_of({"grouping": [], "merge_memroy": True}, [base, env], tmp_path)
    assert message.startswith("conf/databricks/dab.yml: merge_memroy: unknown key")


# --- literal secrets and requirement lines --------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("spark_env_vars", "STORAGE_ACCOUNT_KEY", "abc123plainvalue"),
        ("spark_conf", "fs.azure.account.key.mystore.dfs.core.windows.net", "abc123plain"),
        ("spark_env_vars", "AWS_ACCESS_KEY", "abc123plain"),
        (
            "spark_env_vars",
            "CONNECTION",
            "DefaultEndpointsProtocol=https;AccountKey=abcdEFGH1234ijklMNOP5678",
        ),
    ],
)
def test_storage_keys_written_literally_are_refused(section: str, key: str, value: str) -> None:
    raw = {"compute": {"c": {"type": "job_cluster", "new_cluster": {section: {key: value}}}}}

    with pytest.raises(ConfigError, match="looks like a literal secret"):
        parse_config(raw)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("spark_env_vars", "PG_PWD", "correcthorsebattery"),
        ("spark_env_vars", "DB_PASS", "correcthorsebattery"),
        ("spark_env_vars", "DATABASE_URL", "postgresql://app:s3cr3tP4ss@db.example:5432/prod"),
        ("spark_conf", "spark.hadoop.some.url", "https://bob:hunter2@host.example/path"),
    ],
)
def test_passwords_in_short_keys_and_inside_urls_are_refused(
    section: str, key: str, value: str
) -> None:
    raw = {"compute": {"c": {"type": "job_cluster", "new_cluster": {section: {key: value}}}}}

    with pytest.raises(ConfigError, match="looks like a literal secret"):
        parse_config(raw)


def test_a_requirement_fetched_through_a_url_with_a_password_is_refused() -> None:
    line = "mylib @ https://bob:hunter2hunter2@pypi.example/mylib-1.0.tar.gz"
    raw = {"compute": {"s": {"type": "serverless", "dependencies": [line]}}}

    with pytest.raises(ConfigError, match=r"compute\.s\.dependencies\[0\]: looks like a literal"):
        parse_config(raw)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PWD", "/databricks/driver"),  # the shell's working directory
        ("PASSENGER_LIMIT", "4"),
        ("BYPASS_CACHE", "yes"),
        ("INDEX_URL", "https://bob@pypi.example/simple"),  # a user, no password
        ("INDEX_URL", "https://bob:{{secrets/ci/index}}@pypi.example/simple"),
        ("INDEX_URL", "https://bob:${INDEX_PASSWORD}@pypi.example/simple"),
        ("ENDPOINT", "http://host.example:8080/path"),
    ],
)
def test_values_that_only_resemble_secrets_are_accepted(key: str, value: str) -> None:
    conf = {"spark_env_vars": {key: value}}
    raw = {"compute": {"c": {"type": "job_cluster", "new_cluster": conf}}}

    parse_config(raw)


def test_a_storage_key_given_as_a_secret_reference_is_accepted() -> None:
    conf = {"fs.azure.account.key.mystore.dfs.core.windows.net": "{{secrets/kv/storage}}"}
    raw = {"compute": {"c": {"type": "job_cluster", "new_cluster": {"spark_conf": conf}}}}

    parse_config(raw)


@pytest.mark.parametrize(
    "line", ["--index-url http://mirror.example/simple", "-e .", "-r other.txt"]
)
@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (
            lambda line: {"tasks": [{"match": {"group": "*"}, "requirements": [line]}]},
            "tasks[0].requirements[0]",
        ),
        (
            lambda line: {"compute": {"s": {"type": "serverless", "dependencies": ["x", line]}}},
            "compute.s.dependencies[1]",
        ),
    ],
)
def test_pip_options_in_dab_yml_requirements_are_refused_as_in_requirements_txt(
    line: str, raw, path: str
) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(raw(line))

    message = str(error.value)
    assert f"{path}: '{line}' is a pip option" in message


def test_reading_dab_yml_and_planning_import_no_pydantic():
    probe = (
        "import sys, kedro_dab.api, kedro_dab.show, kedro_dab.plan\n"
        "from kedro_dab.config import parse_config\n"
        "parse_config({'jobs': {'j': {'schedule': {'quartz_cron_expression': '0 0 1 * * ?'}}},"
        " 'compute': {'c': {'type': 'job_cluster', 'new_cluster': {}}},"
        " 'serving': {'s': {'pipeline': 'p'}}})\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'pydantic_core'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
