"""The texts `kedro dab init` writes, filled in from the files shipped in `kedro_dab/templates`:
`databricks.yml`, the GitHub Actions workflow, and the names of the files it writes once."""

from __future__ import annotations

import re
from importlib import resources


def template(name: str) -> str:
    """The text of a file shipped in `kedro_dab/templates`."""
    return (resources.files("kedro_dab") / "templates" / name).read_text(encoding="utf-8")


def plain(value: str) -> str:
    """`value` as a YAML scalar that reads back as the same text, to PyYAML and to the
    Databricks CLI: plain when it does, else double-quoted."""
    import yaml

    from kedro_dab.bundle import cli_yaml

    try:
        if yaml.safe_load(value) == value and value.strip() == value:
            return value if cli_yaml.reads_as_text(value) else _quoted(value)
    except yaml.YAMLError:
        pass
    return _quoted(value)


def _quoted(value: str) -> str:
    import json

    return json.dumps(value)


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


def databricks_yml(
    project_name: str, package_name: str, conf_dir: str, env: str, host: str | None
) -> str:
    """A fresh `databricks.yml` for this project, from the shipped template."""
    bundle_name = re.sub(r"[^A-Za-z0-9_-]+", "_", project_name).strip("_") or package_name
    dev_workspace = f"    workspace:\n      host: {plain(host)}\n" if host else ""
    prod_host = f"      host: {plain(host)}\n" if host else ""
    text = template("databricks.yml")
    for token, value in (
        ("<<project_name>>", project_name),
        ("<<bundle_name>>", plain(bundle_name)),
        ("<<artifact>>", f"{package_name}_wheel"),
        ("<<conf>>", conf_dir),
        ("<<env>>", plain(env)),
        ("<<prod_host>>", prod_host),
    ):
        text = text.replace(token, value)
    return text.replace("<<dev_workspace>>\n", dev_workspace)
