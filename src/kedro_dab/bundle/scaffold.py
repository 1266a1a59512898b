"""`kedro dab init`: write the user's files once, then only add what is missing.

`databricks.yml` is merged through a round-trip YAML parser, so the user's comments, order and
custom targets survive. No Python file of the user's is ever touched.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from kedro_dab.bundle.layout import (
    DATABRICKS_YML,
    ENV_VARIABLE,
    OWNED_DIR,
    OWNED_INCLUDE,
    glob_matches,
)
from kedro_dab.errors import BundleError, ConfigError, first_line, os_error_line, read_text
from kedro_dab.shapes import bundle_shape_problem

GITIGNORE_LINES = (".databricks/", ".kedro-dab/")


@dataclass
class InitReport:
    """What init did: files created, changes made to existing files, files left alone, and
    notes on what it chose not to do and why."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when init wrote anything."""
        return bool(self.created or self.updated)


def template(name: str) -> str:
    """The text of a file shipped in `kedro_dab/templates`."""
    return resources.files("kedro_dab").joinpath("templates", name).read_text(encoding="utf-8")


_ENV_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def check_env_name(env: str) -> None:
    """Refuse an env that is not a plain folder name under the conf folder, or `local`."""
    if not _ENV_NAME.match(env) or ".." in env:
        raise ConfigError(
            f"--env {env!r}: a Kedro env is the name of a folder under conf/ (letters, digits, "
            "'_', '-' and '.'), not a path; pass a plain name such as 'databricks'"
        )
    if env == "local":
        raise ConfigError(
            "--env local: Kedro env 'local' holds this machine's settings and credentials and "
            "is never shipped to Databricks; pass another env, such as 'databricks'"
        )


_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?$")


def check_host(host: str) -> str:
    """The workspace URL `host` as databricks.yml takes it (`https://<name>`, no trailing
    slash), or a `ConfigError` saying what is wrong with it."""
    from urllib.parse import urlsplit

    shown = host.strip()
    parts = urlsplit(shown)
    problem = None
    if parts.scheme not in ("https", "http"):
        problem = "it must start with https://"
    elif not _HOST.match(parts.netloc):
        problem = "it must name a host, such as https://adb-123.4.azuredatabricks.net"
    elif parts.path not in ("", "/") or parts.query or parts.fragment:
        problem = "it must be the workspace URL alone, without a path, '?o=...' or '#...'"
    if problem:
        raise ConfigError(f"--host {host!r} is not a workspace URL: {problem}")
    return f"{parts.scheme}://{parts.netloc}"


def init_project(
    root: Path,
    *,
    project_name: str,
    package_name: str,
    conf_dir: str,
    env: str,
    host: str | None = None,
    force: bool = False,
    ci: str | None = None,
    vscode: bool = False,
) -> InitReport:
    """Create or complete `databricks.yml`, `conf/base/dab.yml`, the env folder and
    `.gitignore` entries; with `ci="github"` a GitHub Actions workflow, with `vscode` a runner
    file for the VSCode Databricks extension. Those two are written once and never
    overwritten. Everything is decided before anything is written, and the writes happen all
    together or not at all. With `force`, the files replaced are kept beside them as
    `<name>.bak`, and the bundle's name is kept (renaming it would orphan deployed jobs)."""
    check_env_name(env)
    if ci is not None and ci != "github":
        raise ConfigError(f"--ci {ci}: only 'github' is supported")
    if host is not None:
        host = check_host(host)
    report = InitReport()
    writes: dict[Path, str] = {}

    bundle_path = root / DATABRICKS_YML
    if bundle_path.exists() and not bundle_path.is_file():
        raise ConfigError(f"{DATABRICKS_YML} is a folder, but must be a file; rename or remove it")
    fresh = _databricks_yml(project_name, package_name, conf_dir, env, host)
    if force and bundle_path.exists():
        kept = _existing_bundle_name(bundle_path)
        fresh_name = _yaml().load(fresh)["bundle"]["name"]
        if kept and kept != fresh_name:
            fresh = fresh.replace(f"  name: {fresh_name}\n", f"  name: {_plain(kept)}\n", 1)
            report.notes.append(
                f"kept bundle.name '{kept}': a new name would deploy new jobs and leave the "
                "ones deployed under the old name orphaned; change it by hand if that is meant"
            )
        backup = backup_path(bundle_path)
        writes[backup] = read_text(bundle_path, root)
        writes[bundle_path] = fresh
        report.updated.append(
            f"{DATABRICKS_YML} (replaced: targets, hosts, includes and variables are now the "
            f"template's; the previous file is {backup.name})"
        )
    elif not bundle_path.exists():
        writes[bundle_path] = fresh
        report.created.append(DATABRICKS_YML)
    else:
        merged, added, notes = _merge_databricks_yml(bundle_path, fresh, host, root)
        report.notes.extend(notes)
        if added:
            writes[bundle_path] = merged
            report.updated.append(f"{DATABRICKS_YML} (added {', '.join(added)})")
        else:
            report.unchanged.append(DATABRICKS_YML)

    dab_path = root / conf_dir / "base" / "dab.yml"
    existing_dab = sorted((root / conf_dir / "base").glob("dab*"))
    if force or not existing_dab:
        writes[dab_path] = template("dab.yml").replace("<<package>>", package_name)
        if dab_path.is_file():
            backup = backup_path(dab_path)
            writes[backup] = read_text(dab_path, root)
            report.updated.append(
                f"{_rel(dab_path, root)} (replaced; the previous file is {_rel(backup, root)})"
            )
        else:
            report.created.append(_rel(dab_path, root))
    else:
        report.unchanged.extend(_rel(p, root) for p in existing_dab)

    env_dir = root / conf_dir / env
    if not env_dir.exists():
        writes[env_dir / ".gitkeep"] = ""
        report.created.append(f"{conf_dir}/{env}/.gitkeep")

    ignore_path = root / ".gitignore"
    current = read_text(ignore_path, root) if ignore_path.exists() else ""
    present = {line.strip() for line in current.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in present]
    if missing:
        block = "\n# kedro-dab\n" + "".join(f"{line}\n" for line in missing)
        writes[ignore_path] = (
            current if current.endswith("\n") or not current else current + "\n"
        ) + block
        (report.updated if ignore_path.exists() else report.created).append(
            f".gitignore (added {', '.join(missing)})" if ignore_path.exists() else ".gitignore"
        )
    else:
        report.unchanged.append(".gitignore")

    bundle_text = writes.get(bundle_path) or read_text(bundle_path, root)
    extras: list[tuple[Path, str]] = []
    if ci is not None:
        extras.append((root / WORKFLOW, github_workflow(bundle_text)))
    if vscode:
        extras.append((root / RUNNER, template(RUNNER).replace("<<env>>", env)))
    for path, text in extras:
        if path.exists():
            report.unchanged.append(_rel(path, root))
        else:
            writes[path] = text
            report.created.append(_rel(path, root))

    write_all(writes, root)
    return report


def write_all(writes: Mapping[Path, str], root: Path) -> None:
    """Write every file or none: each new text goes to a temp file beside its target first;
    only when all are written are they renamed into place. A file about to be replaced is
    kept under a second name (a hard link, so nothing is copied) until every rename is done,
    and a failure puts those back, removes the new files and the folders made for them."""
    staged: list[tuple[Path, Path]] = []
    made: list[Path] = []
    done: list[tuple[Path, Path | None]] = []
    current = root
    try:
        for path, text in writes.items():
            current = path
            missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                made.append(folder)
            handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            staged.append((Path(temp), path))
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
                out.write(text)
            os.chmod(temp, path.stat().st_mode & 0o777 if path.is_file() else 0o644)
        for temp, path in staged:
            current = path
            kept = _keep(path)
            done.append((path, kept))
            os.replace(temp, path)
    except OSError as exc:
        for path, kept in reversed(done):
            with contextlib.suppress(OSError):
                if kept is None:
                    path.unlink(missing_ok=True)
                else:
                    os.replace(kept, path)
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise BundleError(
            f"{os_error_line(exc, root, shown=_rel(current, root))} (nothing was written: "
            "kedro dab init changes all of "
            "its files or none)"
        ) from exc
    for _, kept in done:
        if kept is not None:
            with contextlib.suppress(OSError):
                kept.unlink()


def _keep(path: Path) -> Path | None:
    """A second name for the file at `path` (None if there is none), to put it back from."""
    if not path.is_file():
        return None
    kept = path.with_name(f".{path.name}.kept-{os.getpid()}")
    kept.unlink(missing_ok=True)
    try:
        os.link(path, kept)
    except OSError:
        shutil.copy2(path, kept)
    return kept


def backup_path(path: Path) -> Path:
    """`<name>.bak` beside `path`, or `<name>.bak.N` when earlier backups exist: a backup
    never replaces an older one."""
    candidate = path.with_name(f"{path.name}.bak")
    number = 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.bak.{number}")
    return candidate


def _plain(value: str) -> str:
    """`value` as a YAML scalar that reads back as the same text: plain when it does, else
    double-quoted."""
    import yaml

    try:
        if yaml.safe_load(value) == value and value.strip() == value:
            return value
    except yaml.YAMLError:
        pass
    return _quoted(value)


def _quoted(value: str) -> str:
    import json

    return json.dumps(value)


def _existing_bundle_name(path: Path) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(read_text(path))
    except yaml.YAMLError:
        return None
    name = (data.get("bundle") or {}).get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None


WORKFLOW = ".github/workflows/kedro-dab.yml"
RUNNER = "run_on_databricks.py"
CLI_VERSION = "1.13.0"


def github_workflow(bundle_text: str) -> str:
    """The workflow for this bundle's targets: validate each, deploy the production one, and
    show on each pull request what it does to the jobs; kedro-dab pinned to this version."""
    import sys
    from importlib.metadata import version

    import yaml

    targets = yaml.safe_load(bundle_text).get("targets") or {"dev": {}}
    production = [n for n, t in targets.items() if (t or {}).get("mode") == "production"]
    deploy = "prod" if "prod" in targets else (production or list(targets))[0]
    text = template("github/kedro-dab.yml")
    for token, value in (
        ("<<targets>>", ", ".join(str(t) for t in targets)),
        ("<<deploy_target>>", str(deploy)),
        ("<<python>>", f"{sys.version_info.major}.{sys.version_info.minor}"),
        ("<<cli_version>>", CLI_VERSION),
        ("<<kedro_dab_version>>", version("kedro-dab")),
    ):
        text = text.replace(token, value)
    return text


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _databricks_yml(
    project_name: str, package_name: str, conf_dir: str, env: str, host: str | None
) -> str:
    bundle_name = re.sub(r"[^A-Za-z0-9_-]+", "_", project_name).strip("_") or package_name
    dev_workspace = f"    workspace:\n      host: {_plain(host)}\n" if host else ""
    prod_host = f"      host: {_plain(host)}\n" if host else ""
    text = template("databricks.yml")
    for token, value in (
        ("<<project_name>>", project_name),
        ("<<bundle_name>>", bundle_name),
        ("<<artifact>>", f"{package_name}_wheel"),
        ("<<conf>>", conf_dir),
        ("<<env>>", _plain(env)),
        ("<<prod_host>>", prod_host),
    ):
        text = text.replace(token, value)
    return text.replace("<<dev_workspace>>\n", dev_workspace)


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _merge_databricks_yml(
    path: Path, fresh_text: str, host: str | None, root: Path
) -> tuple[str, list[str], list[str]]:
    """Add to the user's databricks.yml what kedro-dab needs and it lacks; the text, what was
    added, and notes on what was left alone and why."""
    yaml = _yaml()
    try:
        doc = yaml.load(read_text(path, root))
    except ConfigError:
        raise
    except Exception as exc:  # ruamel raises many parser error types
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{DATABRICKS_YML}: invalid YAML{line}: {first_line(exc)}; fix it, or pass --force "
            "to replace the file (a backup is kept)"
        ) from exc
    if doc is None:
        doc = yaml.load("{}")
    if not hasattr(doc, "keys"):
        raise ConfigError(
            f"{DATABRICKS_YML}: expected a mapping at the top level; fix it, or pass --force to "
            "replace the file (a backup is kept)"
        )
    problem = bundle_shape_problem(doc)
    if problem:
        raise ConfigError(
            f"{problem}; fix it, or pass --force to replace the file (a backup is kept)"
        )
    fresh = yaml.load(fresh_text)
    added: list[str] = []
    notes: list[str] = []

    if not (doc.get("bundle") or {}).get("name"):
        if doc.get("bundle") is None:
            doc["bundle"] = fresh["bundle"]
        doc["bundle"].setdefault("name", fresh["bundle"]["name"])
        if doc["bundle"]["name"] is None:
            doc["bundle"]["name"] = fresh["bundle"]["name"]
        added.append("bundle.name")

    includes = doc.get("include")
    if includes is None:
        doc["include"] = fresh["include"]
        added.append("include")
    elif not any(isinstance(p, str) and glob_matches(f"{OWNED_DIR}/job.yml", p) for p in includes):
        includes.append(OWNED_INCLUDE)
        added.append(f"include '{OWNED_INCLUDE}'")

    artifacts = doc.get("artifacts") or {}
    if not any((a or {}).get("type") == "whl" for a in artifacts.values()):
        if "artifacts" not in doc or doc["artifacts"] is None:
            doc["artifacts"] = fresh["artifacts"]
        else:
            doc["artifacts"].update(fresh["artifacts"])
        added.append("the wheel artifact")

    conf_excludes = [e for e in fresh["sync"]["exclude"] if "conf" in e or "local" in e]
    sync = doc.get("sync")
    if sync is None:
        doc["sync"] = fresh["sync"]
        added.append("sync.exclude")
    else:
        excludes = sync.get("exclude")
        if excludes is None:
            sync["exclude"] = fresh["sync"]["exclude"]
            added.append("sync.exclude")
        else:
            for entry in conf_excludes:
                if entry not in excludes:
                    excludes.append(entry)
                    added.append(f"sync.exclude '{entry}'")

    variables = doc.get("variables")
    if variables is None:
        doc["variables"] = fresh["variables"]
        added.append(f"variables.{ENV_VARIABLE}")
    elif ENV_VARIABLE not in variables or variables[ENV_VARIABLE] is None:
        variables[ENV_VARIABLE] = fresh["variables"][ENV_VARIABLE]
        added.append(f"variables.{ENV_VARIABLE}")
    elif isinstance(variables[ENV_VARIABLE], Mapping) and not isinstance(
        variables[ENV_VARIABLE].get("default"), str
    ):
        variables[ENV_VARIABLE]["default"] = fresh["variables"][ENV_VARIABLE]["default"]
        added.append(f"variables.{ENV_VARIABLE}.default")

    if doc.get("targets") is None:
        doc["targets"] = fresh["targets"]
        added.append("targets dev and prod")
    elif host is not None:
        added.extend(_set_missing_hosts(doc, host, notes))

    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue(), added, notes


def _set_missing_hosts(doc: Any, host: str, notes: list[str]) -> list[str]:
    """Set `workspace.host` on the targets that have none (and no top-level host applies);
    note the targets whose host differs, which init leaves alone."""
    top = (doc.get("workspace") or {}).get("host")
    if top:
        if top != host:
            notes.append(
                f"left workspace.host '{top}' as it is (it applies to every target without a "
                "host of its own); edit databricks.yml to change it"
            )
        return []
    from ruamel.yaml.comments import CommentedMap

    added = []
    for name, target in doc["targets"].items():
        if target is None:
            doc["targets"][name] = target = CommentedMap()
        workspace = target.get("workspace")
        if workspace is None:
            target["workspace"] = workspace = CommentedMap()
        current = workspace.get("host")
        if not current:
            workspace["host"] = host
            added.append(f"targets.{name}.workspace.host")
        elif current != host:
            notes.append(
                f"left targets.{name}.workspace.host '{current}' as it is; edit "
                "databricks.yml to change it"
            )
    return added
