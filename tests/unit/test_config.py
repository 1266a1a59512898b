"""The dab.yml schema: strict keys, helpful paths and suggestions, sound defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_dab.config import DEFAULT_GROUPING, parse_config
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


def test_unknown_top_level_key_suggests_the_closest():
    assert error_of({"groupng": []}) == "dab.yml: groupng: unknown key; did you mean 'grouping'?"


def test_unknown_key_inside_a_rule_names_its_index_and_suggests():
    message = error_of({"grouping": [{"by": "tag", "prefx": "task."}]})
    assert message == "dab.yml: grouping[0].prefx: unknown key; did you mean 'prefix'?"


def test_unknown_rule_kind_lists_the_kinds():
    message = error_of({"grouping": [{"by": "tags"}]})
    assert "grouping[0]: unknown kind 'tags'; use one of 'tag', 'namespace'" in message


def test_rule_without_kind_says_by_is_missing():
    assert error_of({"grouping": [{"prefix": "x"}]}) == "dab.yml: grouping[0]: missing key 'by'"


def test_unknown_key_in_a_compute_profile_named_like_its_type():
    message = error_of({"compute": {"serverless": {"type": "serverless", "env_version": "3"}}})
    assert message.startswith("dab.yml: compute.serverless.env_version: unknown key")


def test_unknown_key_in_a_job_suggests_the_closest():
    message = error_of({"jobs": {"nightly": {"pipeline": ["x"]}}})
    assert message == "dab.yml: jobs.nightly.pipeline: unknown key; did you mean 'pipelines'?"


def test_unknown_key_in_a_task_selector_suggests_the_closest():
    message = error_of({"tasks": [{"match": {"grop": "x"}}]})
    assert message == "dab.yml: tasks[0].match.grop: unknown key; did you mean 'group'?"


def test_task_entry_naming_an_undefined_compute_profile_is_an_error():
    message = error_of({"tasks": [{"match": {"group": "x"}, "compute": "big"}]})
    assert "tasks[0].compute: unknown compute profile 'big'" in message


def test_tag_rule_needs_exactly_one_of_prefix_or_tags():
    assert "exactly one of 'prefix' or 'tags'" in error_of({"grouping": [{"by": "tag"}]})


def test_selector_needs_a_condition():
    assert "needs at least one of group, tag, node, job" in error_of({"tasks": [{"match": {}}]})


def test_job_key_with_spaces_is_an_error():
    assert "jobs.a b: a job key may hold only" in error_of({"jobs": {"a b": {}}})


def test_wrong_type_names_the_key():
    assert error_of({"merge_memory": "maybe"}).startswith("dab.yml: merge_memory: Input should be")


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
