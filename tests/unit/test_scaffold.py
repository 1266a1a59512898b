"""`init` never damages a project: what `--force` keeps, what `--host` sets, and all of its
writes or none (called directly on a folder: no Kedro needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kedro_dab.bundle.scaffold import check_host, init_project
from kedro_dab.errors import DabError


def init(root: Path, **kwargs: object):
    (root / "conf" / "base").mkdir(parents=True, exist_ok=True)
    options = {"project_name": "Shop", "package_name": "shop", "conf_dir": "conf"}
    options["env"] = "databricks"
    options.update(kwargs)
    return init_project(root, **options)  # type: ignore[arg-type]


def tree(root: Path) -> list[tuple[str, int | None]]:
    """Every path, with its mtime for files (a folder's changes with any temp file in it)."""
    return sorted(
        (p.as_posix(), p.stat().st_mtime_ns if p.is_file() else None) for p in root.rglob("*")
    )


def bundle_of(root: Path) -> dict:
    return yaml.safe_load((root / "databricks.yml").read_text(encoding="utf-8"))


def test_force_keeps_the_replaced_files_beside_them_and_says_so(tmp_path: Path) -> None:
    init(tmp_path)
    mine = (tmp_path / "databricks.yml").read_text() + "# my notes\n"
    (tmp_path / "databricks.yml").write_text(mine)

    report = init(tmp_path, force=True)

    assert (tmp_path / "databricks.yml.bak").read_text() == mine
    assert any("databricks.yml.bak" in line for line in report.updated)
    assert (tmp_path / "conf" / "base" / "dab.yml.bak").is_file()


def test_a_second_force_never_replaces_an_earlier_backup(tmp_path: Path) -> None:
    init(tmp_path)
    init(tmp_path, force=True)
    first = (tmp_path / "databricks.yml.bak").read_text()

    init(tmp_path, force=True)

    assert (tmp_path / "databricks.yml.bak").read_text() == first
    assert (tmp_path / "databricks.yml.bak.1").is_file()


def test_force_keeps_the_bundle_name_so_deployed_jobs_are_not_orphaned(tmp_path: Path) -> None:
    init(tmp_path)
    text = (tmp_path / "databricks.yml").read_text().replace("name: Shop", "name: shop_prod")
    (tmp_path / "databricks.yml").write_text(text)

    report = init(tmp_path, force=True)

    assert bundle_of(tmp_path)["bundle"]["name"] == "shop_prod"
    assert any("orphaned" in note for note in report.notes)


def test_host_on_a_set_up_project_is_set_where_missing(tmp_path: Path) -> None:
    init(tmp_path)

    report = init(tmp_path, host="https://adb-1.azuredatabricks.net/")

    targets = bundle_of(tmp_path)["targets"]
    assert {t["workspace"]["host"] for t in targets.values()} == {
        "https://adb-1.azuredatabricks.net"
    }
    assert report.changed


def test_host_differing_from_a_targets_host_is_left_and_noted(tmp_path: Path) -> None:
    init(tmp_path, host="https://one.example.com")

    report = init(tmp_path, host="https://two.example.com")

    assert not report.changed
    assert len(report.notes) == 2
    assert all("one.example.com" in note for note in report.notes)


@pytest.mark.parametrize(
    "host",
    ["https://a.b/x: [oops", "adb-1.net", "ftp://adb-1.net", "https://adb-1.net/?o=1", "https://"],
)
def test_a_host_that_is_not_a_workspace_url_is_refused(host: str) -> None:
    with pytest.raises(DabError, match="--host"):
        check_host(host)


def test_a_kedro_env_variable_without_default_gets_one(tmp_path: Path) -> None:
    init(tmp_path)
    path = tmp_path / "databricks.yml"
    path.write_text(path.read_text().replace("    default: databricks\n", ""))

    report = init(tmp_path)

    assert bundle_of(tmp_path)["variables"]["kedro_env"]["default"] == "databricks"
    assert any("kedro_env.default" in line for line in report.updated)


def test_a_failure_midway_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "conf" / "base").mkdir(parents=True)
    (tmp_path / ".gitignore").write_text("data/\n")
    (tmp_path / "run_on_databricks.py").mkdir()  # written last; a folder stands there
    (tmp_path / "databricks.yml").write_text("bundle: {name: x}\n")
    (tmp_path / "conf" / "base" / "dab.yml").mkdir()  # --force must replace it: fails
    before = tree(tmp_path)

    with pytest.raises(DabError, match="nothing was written"):
        init(tmp_path, force=True)

    assert tree(tmp_path) == before
