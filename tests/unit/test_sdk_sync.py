"""The files the SDK engine syncs for a bundle, against git's own reading of the ignore rules
(`git ls-files --others --exclude-standard` in a fresh repository, `sync.exclude` passed as
`-x`) and, where the Databricks CLI reads them differently from git, the CLI's rule."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kedro_dab.deploy.sync import sync_files
from kedro_dab.deploy.target import Target
from kedro_dab.git_ignore import IgnorePatterns

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

FILES = [
    "databricks.yml",
    "src/pkg/__init__.py",
    "src/pkg/nodes.py",
    "src/pkg/__pycache__/nodes.cpython-312.pyc",
    "conf/base/catalog.yml",
    "conf/local/credentials.yml",
    "data/01_raw/companies.csv",
    "data/02_intermediate/.gitkeep",
    "data/02_intermediate/out.parquet",
    "notes/todo.md",
    "notes/deep/er/x.log",
    "build/lib/pkg.py",
    "run_on_databricks.py",
]


def target(sync: dict[str, list[str]] | None = None) -> Target:
    return Target("dev", "b", None, None, None, {}, {}, {}, sync=sync or {})


def make(root: Path, gitignores: dict[str, str]) -> Path:
    for rel in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel, encoding="utf-8")
    for rel, text in gitignores.items():
        (root / rel).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def by_git(root: Path, exclude: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    out = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", *(f"-x{p}" for p in exclude)],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(out.splitlines())


GITIGNORES = {
    "none": {},
    "kedro": {".gitignore": "conf/local/**\n!conf/local/.gitkeep\n*.log\n__pycache__/\nbuild/\n"},
    "folder rule": {".gitignore": "notes/\n"},
    "anchored": {".gitignore": "/src/pkg/nodes.py\n"},
    "nested": {"notes/.gitignore": "*.md\n", "src/.gitignore": "pkg/__pycache__\n"},
    "negation in one file": {".gitignore": "*.yml\n!databricks.yml\n"},
    "double star": {".gitignore": "**/er/\nsrc/**/*.pyc\n"},
}


@pytest.mark.parametrize("name", sorted(GITIGNORES))
def test_the_synced_files_are_the_ones_git_does_not_ignore(name: str, tmp_path: Path) -> None:
    root = make(tmp_path, GITIGNORES[name])
    assert sync_files(target(), root) == by_git(root)


def test_sync_exclude_removes_files_as_git_excludes_them(tmp_path: Path) -> None:
    root = make(tmp_path, GITIGNORES["kedro"])
    exclude = ["conf/local/**", "conf/**/*credentials*", "data/**", "*.md"]
    assert sync_files(target({"exclude": exclude}), root) == by_git(root, exclude)


def test_sync_include_brings_back_a_file_of_an_ignored_folder(tmp_path: Path) -> None:
    root = make(tmp_path, {".gitignore": "build/\n"})
    synced = sync_files(target({"include": ["build/**/*.py"]}), root)
    assert synced == sorted([*by_git(root), "build/lib/pkg.py"])


def test_the_gitignore_of_a_parent_repository_applies(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text("*.csv\nproject/notes/\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    make(project, {})
    shutil.rmtree(project / ".git")
    assert sync_files(target(), project) == by_git(project)
    assert "data/01_raw/companies.csv" not in sync_files(target(), project)


def test_git_info_exclude_applies(tmp_path: Path) -> None:
    root = make(tmp_path, {})
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("run_on_databricks.py\n", encoding="utf-8")
    assert sync_files(target(), root) == by_git(root)


# Where the CLI's matching (the go-gitignore module's, not git's) differs from git: what git
# lists, and what the CLI syncs. Facts of Databricks CLI v1.13.0 (libs/git, libs/fileset).
CLI_IS_NOT_GIT = {
    # A deeper `!pattern` does not bring back what a shallower .gitignore ignores.
    "deeper negation": (
        {".gitignore": "*.md\n", "notes/.gitignore": "!todo.md\n"},
        "notes/todo.md",
    ),
    # `data/**` matches the folder `data` itself, so `!data/**/` cannot reopen it (Kedro's
    # own .gitignore has these lines: the CLI syncs none of data/ without sync.include).
    "folder/**": (
        {".gitignore": "data/**\n!data/**/\n!data/01_raw/**\n"},
        "data/01_raw/companies.csv",
    ),
    # A pattern with a slash but no later `*.` is not anchored: it matches at any depth.
    "unanchored": ({".gitignore": "pkg/nodes.py\n"}, "src/pkg/nodes.py"),
}


@pytest.mark.parametrize("name", sorted(CLI_IS_NOT_GIT))
def test_where_the_cli_reads_a_gitignore_unlike_git_the_cli_wins(name: str, tmp_path: Path):
    gitignores, path = CLI_IS_NOT_GIT[name]
    root = make(tmp_path, gitignores)
    assert path in by_git(root)
    assert sync_files(target(), root) == [p for p in by_git(root) if p != path]


def test_dot_databricks_never_syncs(tmp_path: Path) -> None:
    root = make(tmp_path, {})
    (root / ".databricks" / "bundle" / "dev").mkdir(parents=True)
    (root / ".databricks" / "bundle" / "dev" / "state.json").write_text("{}", encoding="utf-8")
    assert not any(rel.startswith(".databricks/") for rel in sync_files(target(), root))


# The go-gitignore module's behaviour (the version Databricks CLI v1.13.0 uses), as its own
# tests state it: lines, then paths with whether they are ignored.
GO_GITIGNORE = [
    (
        ["abc/def", "a/b/c", "b"],
        {"abc/def/child": True, "a/b/c/d": True, "abc": False, "bd": False},
    ),
    (["/*", "!/foo", "/foo/*", "!/foo/bar"], {"a": True, "foo/baz": True, "foo": False}),
    (["#", "    # not a comment", "abc/def"], {"abc/abc": False, "abc/def": True}),
    (["/a/b/c", "d/e/f", "/g"], {"a/b/c/d": True, "d/e/f": True, "g": True}),
    (["\\#f.txt", "\\!f.txt"], {"#f.txt": True, "!f.txt": True, "a/!f.txt": True, "f.txt": False}),
    (["Doc/*.html"], {"Doc/git.html": True, "Doc/ppc/ppc.html": False, "t/Doc/p.html": False}),
    (["**/foo", "bar"], {"foo": True, "baz/foo": True, "bar": True, "baz/bar": True}),
    (["/*.c"], {"hello.c": True, "foo/hello.c": False}),
]


@pytest.mark.parametrize(("lines", "paths"), GO_GITIGNORE)
def test_ignore_lines_match_as_the_clis_gitignore_module_matches_them(
    lines: list[str], paths: dict[str, bool]
) -> None:
    patterns = IgnorePatterns(lines)
    assert {path: patterns.matches(path) for path in paths} == paths


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("nb.ipynb", '{"cells": []}'),
        ("nb.py", "# Databricks notebook source\nprint(1)\n"),
        ("nb.sql", "-- Databricks notebook source\nselect 1\n"),
    ],
)
def test_a_notebook_in_the_synced_files_is_refused(name: str, text: str, tmp_path: Path) -> None:
    from kedro_dab.deploy.files import source_files
    from kedro_dab.deploy.refusals import UnsupportedBundle

    root = make(tmp_path, {})
    (root / "notebooks").mkdir()
    (root / "notebooks" / name).write_text(text, encoding="utf-8")
    with pytest.raises(UnsupportedBundle, match=f"notebooks/{name} is a notebook"):
        source_files(target(), root, "conf")


def test_a_python_file_without_the_notebook_header_is_synced(tmp_path: Path) -> None:
    from kedro_dab.deploy.files import source_files

    root = make(tmp_path, {".gitignore": "conf/local/\n"})
    assert "src/pkg/nodes.py" in source_files(target(), root, "conf")
    assert "conf/local/credentials.yml" not in source_files(target(), root, "conf")
