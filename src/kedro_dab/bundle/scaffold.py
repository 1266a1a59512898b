"""`kedro dab init`: write the user's files once, then only add what is missing.

`databricks.yml` is merged through a round-trip YAML parser, so the user's comments, order and
custom targets survive. No Python file of the user's is ever touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kedro_dab.bundle.atomic_write import write_all
from kedro_dab.bundle.layout import DATABRICKS_YML
from kedro_dab.bundle.root import check_root_file_name
from kedro_dab.bundle.scaffold_merge import merge_databricks_yml, round_trip_yaml
from kedro_dab.bundle.scaffold_templates import (
    RUNNER,
    WORKFLOW,
    databricks_yml,
    github_workflow,
    plain,
    template,
)
from kedro_dab.errors import ConfigError, read_text

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

    check_root_file_name(root)
    bundle_path = root / DATABRICKS_YML
    if bundle_path.exists() and not bundle_path.is_file():
        raise ConfigError(f"{DATABRICKS_YML} is a folder, but must be a file; rename or remove it")
    fresh = databricks_yml(project_name, package_name, conf_dir, env, host)
    if force and bundle_path.exists():
        kept = _existing_bundle_name(bundle_path)
        fresh_name = round_trip_yaml().load(fresh)["bundle"]["name"]
        if kept and kept != fresh_name:
            fresh = fresh.replace(f"  name: {fresh_name}\n", f"  name: {plain(kept)}\n", 1)
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
        merged, added, notes = merge_databricks_yml(bundle_path, fresh, host, root)
        report.notes.extend(notes)
        if added:
            writes[bundle_path] = _line_ends_of(bundle_path, merged)
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
    if env_dir.exists() and not env_dir.is_dir():
        raise ConfigError(
            f"{conf_dir}/{env} is a file, but must be the folder of Kedro env '{env}'; rename "
            "or remove it"
        )
    if not env_dir.exists():
        writes[env_dir / ".gitkeep"] = ""
        report.created.append(f"{conf_dir}/{env}/.gitkeep")

    ignore_path = root / ".gitignore"
    current = read_text(ignore_path, root) if ignore_path.exists() else ""
    present = {line.strip() for line in current.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in present]
    if missing:
        block = "\n# kedro-dab\n" + "".join(f"{line}\n" for line in missing)
        writes[ignore_path] = _line_ends_of(
            ignore_path,
            (current if current.endswith("\n") or not current else current + "\n") + block,
        )
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
        if path.exists() and not path.is_file():
            raise ConfigError(
                f"{_rel(path, root)} is a folder, but must be a file; rename or remove it"
            )
        if path.exists():
            report.unchanged.append(_rel(path, root))
        else:
            writes[path] = text
            report.created.append(_rel(path, root))

    write_all(writes, root)
    return report


def _line_ends_of(path: Path, text: str) -> str:
    """`text` (read with universal newlines) with the line ends `path` uses: a file written
    with CRLF stays CRLF when kedro-dab adds to it."""
    try:
        crlf = path.is_file() and b"\r\n" in path.read_bytes()
    except OSError:
        crlf = False
    return text.replace("\r\n", "\n").replace("\n", "\r\n") if crlf else text


def backup_path(path: Path) -> Path:
    """`<name>.bak` beside `path`, or `<name>.bak.N` when earlier backups exist: a backup
    never replaces an older one."""
    candidate = path.with_name(f"{path.name}.bak")
    number = 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.bak.{number}")
    return candidate


def _existing_bundle_name(path: Path) -> str | None:
    import yaml

    from kedro_dab.bundle import cli_yaml

    try:
        data = cli_yaml.load(read_text(path))
    except yaml.YAMLError:
        return None
    name = (data.get("bundle") or {}).get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
