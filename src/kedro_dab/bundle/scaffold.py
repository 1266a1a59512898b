"""`kedro dab init`: write the user's files once, then only add what is missing.

`databricks.yml` is merged through a round-trip YAML parser, so the user's comments, order and
custom targets survive. No Python file of the user's is ever touched.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from kedro_dab.bundle.layout import DATABRICKS_YML, glob_matches
from kedro_dab.bundle.render import ENV_VARIABLE, OWNED_DIR, OWNED_INCLUDE
from kedro_dab.bundle.write import atomic_write
from kedro_dab.errors import ConfigError, first_line

GITIGNORE_LINES = (".databricks/", ".kedro-dab/")


@dataclass
class InitReport:
    """What init did: files created, changes made to existing files, files left alone."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when init wrote anything."""
        return bool(self.created or self.updated)


def template(name: str) -> str:
    """The text of a file shipped in `kedro_dab/templates`."""
    return resources.files("kedro_dab").joinpath("templates", name).read_text(encoding="utf-8")


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
    overwritten. Everything is decided before anything is written."""
    report = InitReport()
    writes: dict[Path, str] = {}

    bundle_path = root / DATABRICKS_YML
    fresh = _databricks_yml(project_name, package_name, conf_dir, env, host)
    if force or not bundle_path.exists():
        writes[bundle_path] = fresh
        (report.updated if bundle_path.exists() else report.created).append(DATABRICKS_YML)
    else:
        merged, added = _merge_databricks_yml(bundle_path, fresh)
        if added:
            writes[bundle_path] = merged
            report.updated.append(f"{DATABRICKS_YML} (added {', '.join(added)})")
        else:
            report.unchanged.append(DATABRICKS_YML)

    dab_path = root / conf_dir / "base" / "dab.yml"
    existing_dab = sorted((root / conf_dir / "base").glob("dab*"))
    if force or not existing_dab:
        writes[dab_path] = template("dab.yml").replace("<<package>>", package_name)
        (report.updated if dab_path.exists() else report.created).append(_rel(dab_path, root))
    else:
        report.unchanged.extend(_rel(p, root) for p in existing_dab)

    env_dir = root / conf_dir / env
    if env != "local" and not env_dir.exists():
        writes[env_dir / ".gitkeep"] = ""
        report.created.append(f"{conf_dir}/{env}/.gitkeep")

    ignore_path = root / ".gitignore"
    current = ignore_path.read_text(encoding="utf-8") if ignore_path.exists() else ""
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

    bundle_text = writes.get(bundle_path) or bundle_path.read_text(encoding="utf-8")
    extras: list[tuple[Path, str]] = []
    if ci is not None:
        if ci != "github":
            raise ConfigError(f"--ci {ci}: only 'github' is supported")
        extras.append((root / WORKFLOW, github_workflow(bundle_text)))
    if vscode:
        extras.append((root / RUNNER, template(RUNNER).replace("<<env>>", env)))
    for path, text in extras:
        if path.exists():
            report.unchanged.append(_rel(path, root))
        else:
            writes[path] = text
            report.created.append(_rel(path, root))

    for path, text in writes.items():
        atomic_write(path, text)
    return report


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
    dev_workspace = f"    workspace:\n      host: {host}\n" if host else ""
    prod_host = f"      host: {host}\n" if host else ""
    text = template("databricks.yml")
    for token, value in (
        ("<<project_name>>", project_name),
        ("<<bundle_name>>", bundle_name),
        ("<<artifact>>", f"{package_name}_wheel"),
        ("<<conf>>", conf_dir),
        ("<<env>>", env),
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


def _merge_databricks_yml(path: Path, fresh_text: str) -> tuple[str, list[str]]:
    """Add to the user's databricks.yml what kedro-dab needs and it lacks."""
    yaml = _yaml()
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # ruamel raises many parser error types
        raise ConfigError(f"{DATABRICKS_YML}: invalid YAML: {first_line(exc)}") from exc
    if doc is None:
        doc = yaml.load("{}")
    if not hasattr(doc, "keys"):
        raise ConfigError(f"{DATABRICKS_YML}: expected a mapping at the top level")
    fresh = yaml.load(fresh_text)
    added: list[str] = []

    if not (doc.get("bundle") or {}).get("name"):
        doc.setdefault("bundle", fresh["bundle"])
        doc["bundle"].setdefault("name", fresh["bundle"]["name"])
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
    elif ENV_VARIABLE not in variables:
        variables[ENV_VARIABLE] = fresh["variables"][ENV_VARIABLE]
        added.append(f"variables.{ENV_VARIABLE}")

    if doc.get("targets") is None:
        doc["targets"] = fresh["targets"]
        added.append("targets dev and prod")

    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue(), added
