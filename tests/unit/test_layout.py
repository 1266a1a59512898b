"""Which conf files ship, and how include globs match."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_dab.bundle.layout import (
    glob_matches,
    is_shipped,
    shipped_conf_files,
    sync_excludes,
    task_envs,
)
from kedro_dab.errors import ConfigError


def test_local_conf_never_ships():
    assert not is_shipped("local/catalog.yml")


def test_credentials_files_never_ship_at_any_depth():
    assert not is_shipped("base/credentials.yml")
    assert not is_shipped("prod/nested/my_credentials.yaml")


def test_nested_folders_and_yaml_and_json_files_ship(tmp_path: Path):
    for rel in (
        "base/catalog.yml",
        "base/catalog/extra.yaml",
        "base/params.json",
        "local/catalog.yml",
        "base/credentials.yml",
        "databricks/.gitkeep",
    ):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    shipped = {p.as_posix() for p in shipped_conf_files(tmp_path)}
    assert shipped == {
        "base/catalog.yml",
        "base/catalog/extra.yaml",
        "base/params.json",
        "databricks/.gitkeep",
    }


def test_star_in_an_include_glob_does_not_cross_folders():
    assert not glob_matches("resources/kedro-dab/job.yml", "resources/*.yml")
    assert glob_matches("resources/kedro-dab/job.yml", "resources/kedro-dab/*.yml")
    assert glob_matches("resources/kedro-dab/job.yml", "resources/*/*.yml")


def test_config_patterns_follow_kedro_glob_rules():
    from kedro_dab.kedro_config import matches_config_pattern

    patterns = ["catalog*", "catalog*/**", "**/catalog*"]
    assert matches_config_pattern("catalog.yml", patterns)
    assert matches_config_pattern("catalog/deep/extra.yml", patterns)
    assert matches_config_pattern("pipelines/ds/catalog_ds.yml", patterns)
    assert not matches_config_pattern("parameters.yml", patterns)
    assert not matches_config_pattern("dab.yml", ["catalog*"])


def test_an_env_a_target_sets_must_be_a_shipped_conf_folder(tmp_path: Path):
    import pytest

    from kedro_dab.bundle.layout import check_bundle_root
    from kedro_dab.bundle.root import BundleRoot
    from kedro_dab.errors import BundleError

    (tmp_path / "conf" / "databricks").mkdir(parents=True)
    (tmp_path / "conf" / "databricks" / ".gitkeep").write_text("")
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: b}\n"
        "include: [resources/kedro-dab/*.yml]\n"
        "variables: {kedro_env: {default: databricks}}\n"
        "targets:\n  dev: {default: true}\n  prod: {variables: {kedro_env: prod}}\n"
    )
    with pytest.raises(BundleError, match=r"targets\.prod\.variables\.kedro_env: Kedro env 'prod'"):
        check_bundle_root(BundleRoot.read(tmp_path), "conf")
    (tmp_path / "conf" / "prod").mkdir()
    (tmp_path / "conf" / "prod" / "catalog.yml").write_text("{}\n")
    check_bundle_root(BundleRoot.read(tmp_path), "conf")


# --- the env tasks run with -------------------------------------------------------------------

TWO_TARGETS = {
    "variables": {"kedro_env": {"default": "databricks"}},
    "targets": {"dev": {"default": True}, "prod": {"variables": {"kedro_env": "prodenv"}}},
}


def test_every_target_is_planned_with_the_env_its_tasks_get() -> None:
    assert task_envs(TWO_TARGETS) == {"dev": "databricks", "prod": "prodenv"}


def test_a_deploy_with_env_gives_the_tasks_exactly_that_env() -> None:
    assert task_envs(TWO_TARGETS, "staging", "prod") == {"prod": "staging"}


def test_a_deploy_variable_override_is_the_tasks_env() -> None:
    assert task_envs(TWO_TARGETS, None, "dev", "other") == {"dev": "other"}


def test_env_and_variable_naming_different_envs_are_refused() -> None:
    with pytest.raises(ConfigError, match="--env a and --var kedro_env=b"):
        task_envs(TWO_TARGETS, "a", "dev", "b")


def test_without_databricks_yml_the_env_given_is_the_tasks_env() -> None:
    assert task_envs(None, "staging") == {"*": "staging"}
    assert task_envs(None) == {"*": "databricks"}


@pytest.mark.parametrize(
    ("data", "env", "target", "override"),
    [
        (TWO_TARGETS, "local", None, None),
        (TWO_TARGETS, "local", "prod", None),
        (TWO_TARGETS, None, "prod", "local"),
        (None, "local", None, None),
        ({"targets": {"dev": {"variables": {"kedro_env": "local"}}}}, None, None, None),
    ],
)
def test_the_local_env_is_refused_for_tasks(data, env, target, override) -> None:
    with pytest.raises(ConfigError, match="'local' is never shipped"):
        task_envs(data, env, target, override)


# --- what ships: one rule ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        "base/credentials/warehouse.yml",
        "prod/credentials_db.yml",
        "base/nested/credentials.json",
        "base/.env",
        "prod/.env.production",
        "local/catalog.yml",
    ],
)
def test_credentials_env_files_and_local_never_ship(tmp_path: Path, relative: str) -> None:
    conf = tmp_path / "conf"
    for rel in (relative, "base/catalog.yml"):
        (conf / rel).parent.mkdir(parents=True, exist_ok=True)
        (conf / rel).write_text("x: 1\n", encoding="utf-8")

    assert shipped_conf_files(conf, tmp_path) == [Path("base/catalog.yml")]


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def test_the_projects_gitignore_keeps_conf_files_from_shipping(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitignore": "conf/**/secrets*\n*.bak\nconf/prod/\n",
            "conf/base/catalog.yml": "",
            "conf/base/secrets.yml": "",
            "conf/base/catalog.yml.bak": "",
            "conf/prod/catalog.yml": "",
            "conf/staging/catalog.yml": "",
        },
    )

    shipped = [p.as_posix() for p in shipped_conf_files(tmp_path / "conf", tmp_path)]

    assert shipped == ["base/catalog.yml", "staging/catalog.yml"]


def test_a_nested_gitignore_and_git_info_exclude_apply_as_the_cli_sync_applies_them(
    tmp_path: Path,
) -> None:
    write_tree(
        tmp_path,
        {
            ".git/info/exclude": "conf/base/excluded.yml\n",
            ".gitignore": "*.tmp.yml\n",
            "conf/base/.gitignore": "draft.yml\n!keep.tmp.yml\n",
            "conf/base/catalog.yml": "",
            "conf/base/excluded.yml": "",
            "conf/base/draft.yml": "",
            "conf/base/other.tmp.yml": "",
            "conf/base/keep.tmp.yml": "",
        },
    )

    shipped = [p.as_posix() for p in shipped_conf_files(tmp_path / "conf", tmp_path)]

    # a deeper `!keep.tmp.yml` does not bring back what the root's `*.tmp.yml` leaves out: the
    # CLI's sync does not upload it (tests/conformance/test_cli_sync.py, "deeper negation")
    assert shipped == ["base/.gitignore", "base/catalog.yml"]


def test_nothing_inside_an_ignored_folder_comes_back(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitignore": "conf/secret/\n!conf/secret/catalog.yml\n",
            "conf/secret/catalog.yml": "",
            "conf/base/catalog.yml": "",
        },
    )

    shipped = [p.as_posix() for p in shipped_conf_files(tmp_path / "conf", tmp_path)]

    assert shipped == ["base/catalog.yml"]


def test_sync_excludes_name_the_same_private_patterns_under_the_conf_folder() -> None:
    assert sync_excludes("conf") == [
        "conf/local/**",
        "conf/**/*credentials*",
        "conf/**/*credentials*/**",
        "conf/**/.env*",
    ]


PRIVATE_TREE = {
    "pyproject.toml": "[project]\nname = 'demo'\n",
    ".gitignore": "conf/**/*.secret.yml\n",
    "conf/base/catalog.yml": "a: 1\n",
    "conf/base/credentials/warehouse.yml": "token: x\n",
    "conf/base/.env": "TOKEN=x\n",
    "conf/base/db.secret.yml": "token: x\n",
    "conf/local/catalog.yml": "a: 2\n",
}


def test_the_conf_archive_ships_only_what_the_rule_allows(tmp_path: Path) -> None:
    import tarfile

    from kedro_dab.build import build_conf_archive

    write_tree(tmp_path, PRIVATE_TREE)

    artifact = build_conf_archive(tmp_path, "conf", "demo")

    with tarfile.open(artifact.path) as archive:
        assert archive.getnames() == ["conf/base/catalog.yml"]


def test_the_simulation_copies_only_what_the_rule_allows(tmp_path: Path) -> None:
    from kedro_dab.simulate import copy_shipped_conf

    write_tree(tmp_path, PRIVATE_TREE)

    copied = copy_shipped_conf(tmp_path, "conf", tmp_path / "copy")

    assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*") if p.is_file()) == [
        "base/catalog.yml"
    ]


def test_a_symbolic_link_in_conf_never_ships_even_to_a_shipped_file(tmp_path: Path) -> None:
    # the CLI's file sync skips every non-regular file (libs/fileset: "Skip non-regular files")
    write_tree(
        tmp_path,
        {"conf/base/catalog.yml": "", "conf/local/credentials.yml": "password: x\n"},
    )
    (tmp_path / "conf/base/creds_link.yml").symlink_to("../local/credentials.yml")
    (tmp_path / "conf/base/catalog_link.yml").symlink_to("catalog.yml")

    shipped = [p.as_posix() for p in shipped_conf_files(tmp_path / "conf", tmp_path)]

    assert shipped == ["base/catalog.yml"]


def test_nothing_inside_a_linked_conf_folder_ships(tmp_path: Path) -> None:
    write_tree(tmp_path, {"conf/base/catalog.yml": "", "elsewhere/params.yml": ""})
    (tmp_path / "conf/base/more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    shipped = [p.as_posix() for p in shipped_conf_files(tmp_path / "conf", tmp_path)]

    assert shipped == ["base/catalog.yml"]


def test_the_gitignore_of_the_repository_holding_the_project_applies(tmp_path: Path) -> None:
    # the CLI reads the ignore files of the git worktree holding the bundle root, from its top
    write_tree(
        tmp_path,
        {
            ".git/HEAD": "ref: refs/heads/main\n",
            ".gitignore": "*.secret.yml\n",
            "projects/.gitignore": "draft*\n",
            "projects/one/pyproject.toml": "",
            "projects/one/conf/base/catalog.yml": "",
            "projects/one/conf/base/keys.secret.yml": "",
            "projects/one/conf/base/draft_catalog.yml": "",
        },
    )
    root = tmp_path / "projects" / "one"

    shipped = [p.as_posix() for p in shipped_conf_files(root / "conf", root)]

    assert shipped == ["base/catalog.yml"]
