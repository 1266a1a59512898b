"""git's ignore files as the Databricks CLI's file sync reads them (which is not git's own
way): what a bundle's file sync leaves out, and what kedro-dab's conf shipping leaves out with
it. One reading of those rules for every command."""

from __future__ import annotations

import os
import re
from pathlib import Path


class IgnorePatterns:
    """Lines of a `.gitignore` (or `sync.include`/`sync.exclude` patterns) as the Databricks
    CLI matches them. The CLI does not use git's own matching but the go-gitignore module's,
    which differs from git: a pattern is anchored to its folder only when it starts with `/`
    or has a `/` before a later `*.` (so `conf/local/**` matches at any depth), `dir/**` also
    matches the folder `dir` itself, `?` is a literal question mark, other regular-expression
    characters keep their meaning, and the last matching line decides (a `!` line only
    reverses an earlier match)."""

    def __init__(self, lines: list[str]) -> None:
        self.patterns = [p for p in map(_Pattern.of, lines) if p is not None]

    def matches(self, path: str) -> bool:
        """Whether these lines ignore `path` (a folder ends with `/` when so asked)."""
        matched = False
        for pattern in self.patterns:
            if pattern.search(path):
                if not pattern.negated:
                    matched = True
                elif matched:
                    matched = False
        return matched


_REGEX_CHARACTERS = frozenset("[](){}^$|+\\\x00")
_PIECES = re.compile(r"[^*/]+")
_NEVER = re.compile(r"(?!)")


class _Pattern:
    """One ignore line as a regular expression, compiled when a path first could match it:
    a `.gitignore` holds a hundred lines, a command asks of a few paths, and compiling them
    all cost more than the rest of reading the project's configuration. A line free of
    regular-expression characters matches only paths holding each of its runs of characters
    between `*` and `/` (each is copied into the expression literally, and never optional)."""

    __slots__ = ("expr", "negated", "pieces", "regex")

    def __init__(self, expr: str, negated: bool, pieces: tuple[str, ...] | None) -> None:
        self.expr = expr
        self.negated = negated
        self.pieces = pieces
        self.regex: re.Pattern[str] | None = None

    @classmethod
    def of(cls, line: str) -> _Pattern | None:
        translated = cls._translate(line)
        if translated is None:
            return None
        expr, negated, body = translated
        if _REGEX_CHARACTERS.isdisjoint(body):
            return cls(expr, negated, tuple(_PIECES.findall(body)))
        try:
            pattern = cls(expr, negated, None)
            pattern.regex = re.compile(expr)
        except re.error:
            return None  # the CLI skips a line that is not a valid expression
        return pattern

    def search(self, path: str) -> bool:
        if self.pieces is not None and not all(piece in path for piece in self.pieces):
            return False
        if self.regex is None:
            try:
                self.regex = re.compile(self.expr)
            except re.error:  # the CLI skips a line that is not a valid expression
                self.regex = _NEVER
        return self.regex.search(path) is not None

    @staticmethod
    def _translate(line: str) -> tuple[str, bool, str] | None:
        line = line.rstrip("\r")
        if line.startswith("#"):
            return None
        line = line.strip(" ")
        if not line:
            return None
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        if line[:1] in ("#", "!"):
            line = line[1:]
        if re.search(r"[^/+]/.*\*\.", line) and not line.startswith("/"):
            line = "/" + line
        body = line
        star = "\x00"  # a `*` that must survive the single-star rule below
        line = line.replace(".", r"\.")
        if line.startswith("/**/"):
            line = line[1:]
        line = line.replace("/**/", "(/|/.+/)")
        line = line.replace("**/", f"(|.{star}/)")
        line = line.replace("/**", f"(|/.{star})")
        line = line.replace("\\*", "\\" + star)
        line = line.replace("*", "([^/]*)").replace("?", r"\?").replace(star, "*")
        expr = line + ("(|.*)$" if line.endswith("/") else "(|/.*)$")
        expr = "^(|/)" + expr[1:] if expr.startswith("/") else "^(|.*/)" + expr
        return expr, negated, body


class GitRules:
    """Whether git's ignore files leave out a path of the bundle root, by the rules of
    Databricks CLI v1.13.0.

    The ignore files are those of the git worktree holding the bundle root (the bundle root
    when there is none): `core.excludesFile` (default `$XDG_CONFIG_HOME/git/ignore`), `.git`,
    `.git/info/exclude`, the root's `.gitignore` and `.databricks`, then each folder's
    `.gitignore` on the way down, each matched against the path below its folder. A path is
    ignored when any of them ignores it (so a deeper `!pattern` cannot bring back what a
    shallower file ignores), or when one of its folders is ignored (as `dir` or `dir/`)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.worktree = worktree_root(self.root)
        self.prefix = self.root.relative_to(self.worktree).as_posix()
        self.prefix = "" if self.prefix == "." else self.prefix + "/"
        self._rules: dict[str, list[IgnorePatterns]] = {}
        self._folders: dict[str, bool] = {}
        """Worktree-relative folder -> whether it is ignored: every file below asks again."""
        self.root_ignored = bool(self.prefix) and self._folder_ignored(self.prefix[:-1])

    def _files_of(self, folder: str) -> list[IgnorePatterns]:
        """The ignore files that apply inside `folder` (worktree-relative, '' for the root)."""
        if folder not in self._rules:
            rules = []
            if folder == "":
                core = _core_excludes_file(self.worktree)
                if core is not None:
                    rules.append(IgnorePatterns(_lines(core)))
                rules.append(IgnorePatterns([".git"]))
                rules.append(IgnorePatterns(_lines(self.worktree / ".git" / "info" / "exclude")))
            rules.append(IgnorePatterns(_lines(self.worktree / folder / ".gitignore")))
            if folder == "":
                rules.append(IgnorePatterns([".databricks"]))
            self._rules[folder] = rules
        return self._rules[folder]

    def _matches(self, path: str, is_dir: bool) -> bool:
        parts = path.split("/")
        for depth in range(len(parts)):
            folder = "/".join(parts[:depth])
            inner = "/".join(parts[depth:]) + ("/" if is_dir else "")
            if any(rules.matches(inner) for rules in self._files_of(folder)):
                return True
        return False

    def _folder_ignored(self, path: str) -> bool:
        known = self._folders.get(path)
        if known is None:
            known = self._folders[path] = self._matches(path, False) or self._matches(path, True)
        return known

    def ignored(self, relative: str) -> bool:
        """Whether git's ignore files (as the CLI reads them) leave out this file of the
        bundle root, by itself or through one of its folders."""
        if self.root_ignored:
            return True
        path = self.prefix + relative
        parts = path.split("/")
        for depth in range(len(self.prefix.split("/")), len(parts)):
            if self._folder_ignored("/".join(parts[:depth])):
                return True
        return self._matches(path, False)

    def folder_ignored(self, folder: str) -> bool:
        """Whether git's ignore files leave out this folder of the bundle root (or one of the
        folders holding it)."""
        parts = folder.split("/")
        return any(
            self._folder_ignored(self.prefix + "/".join(parts[: depth + 1]))
            for depth in range(len(parts))
        )


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return path.read_text(encoding="utf-8", errors="replace").split("\n")


def worktree_root(root: Path) -> Path:
    """The folder holding `.git` (a folder, or a worktree's file) at or above `root`."""
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            return folder
    return root


def _core_excludes_file(worktree: Path) -> Path | None:
    """git's `core.excludesFile`: from the repository's config, else the user's
    (`$XDG_CONFIG_HOME/git/config`, `~/.gitconfig`), else `$XDG_CONFIG_HOME/git/ignore`."""
    home = Path(os.environ.get("HOME") or Path.home())
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    found = None
    for config in (xdg / "git" / "config", home / ".gitconfig", worktree / ".git" / "config"):
        value = _git_config_value(config, "core", "excludesfile")
        if value:
            found = value
    path = Path(os.path.expanduser(found)) if found else xdg / "git" / "ignore"
    return path if path.is_file() else None


def _git_config_value(path: Path, section: str, key: str) -> str | None:
    value, current = None, ""
    for raw in _lines(path):
        line = raw.strip()
        if line.startswith("["):
            current = line[1:].split("]", 1)[0].strip().split(" ", 1)[0].lower()
        elif current == section and "=" in line:
            name, _, text = line.partition("=")
            if name.strip().lower() == key:
                value = text.strip().strip('"')
    return value
