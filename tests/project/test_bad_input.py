"""Bad input: every mistake a user can make is refused with one `Error:` line on stderr that
names the place (file and key, line, node or option) and the fix, exit code 2, no traceback,
and not a byte of the project changed.

The corpus is one table. Each case copies one shared, initialised and bundled project, edits
it, runs `kedro dab ...` through Kedro's real CLI entry point in a process of its own (forked
from a launcher that imported Kedro once) and hashes the whole tree before and after. The
selected cases run a few at a time, once per session, when the first of them is asked for.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import kedro
import pytest

from tests.project.conftest import HANDOVER_PIPELINE, dab, plan_json, refusal_line, shared_project
from tests.support.kedro_projects import ProjectFactory, kedro_environ, run_kedro

KEDRO_1 = kedro.__version__.startswith("1.")

pytestmark = pytest.mark.project

HANDOVER_CATALOG = """\
raw_rows:
  type: pickle.PickleDataset
  filepath: data/01_raw/rows.pkl
row_count:
  type: pickle.PickleDataset
  filepath: data/08_reporting/row_count.pkl
"""

INTERRUPTED_NAMESPACE_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def step(value):
    return value


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(step, "seed", "first_hop", name="start", namespace="alpha"),
            node(step, "first_hop", "second_hop", name="middle", namespace="beta"),
            node(step, "second_hop", "result", name="finish", namespace="alpha"),
        ]
    )
"""

INTERRUPTED_NAMESPACE_CATALOG = """\
seed:
  type: pickle.PickleDataset
  filepath: data/seed.pkl
first_hop:
  type: pickle.PickleDataset
  filepath: data/first_hop.pkl
second_hop:
  type: pickle.PickleDataset
  filepath: data/second_hop.pkl
result:
  type: pickle.PickleDataset
  filepath: data/result.pkl
"""

TWO_GROUP_TAGS_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def step(value):
    return value


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(step, "seed", "left", name="lonely", tags=["task.a"]),
            node(step, "seed", "right", name="torn", tags=["task.a", "task.b", "plain"]),
        ]
    )
"""

THOUSAND_AND_ONE_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def constant():
    return 1


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline([node(constant, None, f"out_{i}", name=f"node_{i}") for i in range(1001)])
"""

BROKEN_PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline

raise RuntimeError("this pipeline module is broken")


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline([])
"""


# --- edits: each takes the project folder and its package name -------------------------------

Edit = Callable[[Path, str], None]


def write(rel: str, content: str | bytes) -> Edit:
    """Write `content` to `rel` (`{pkg}` stands for the package name)."""

    def edit(project: Path, pkg: str) -> None:
        path = project / rel.format(pkg=pkg)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{pkg}", pkg), encoding="utf-8")

    return edit


def replace(rel: str, old: str, new: str) -> Edit:
    """Replace the one occurrence of `old` in `rel` with `new`."""

    def edit(project: Path, pkg: str) -> None:
        path = project / rel.format(pkg=pkg)
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{rel} holds {old!r} {text.count(old)} times"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return edit


def append(rel: str, text: str) -> Edit:
    """Add `text` at the end of `rel`."""

    def edit(project: Path, pkg: str) -> None:
        path = project / rel.format(pkg=pkg)
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    return edit


def remove(rel: str) -> Edit:
    """Remove the file or folder `rel`."""

    def edit(project: Path, pkg: str) -> None:
        path = project / rel.format(pkg=pkg)
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    return edit


def symlink(rel: str, points_to: str) -> Edit:
    """Make `rel` a symbolic link to `points_to` (relative to the link's folder)."""

    def edit(project: Path, pkg: str) -> None:
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(points_to)

    return edit


def folder(rel: str) -> Edit:
    """Put an empty folder where `rel` is (removing the file there)."""

    def edit(project: Path, pkg: str) -> None:
        remove(rel)(project, pkg)
        (project / rel).mkdir()

    return edit


def read_only(rel: str) -> Edit:
    """Take the write bits off the folder `rel`."""

    def edit(project: Path, pkg: str) -> None:
        path = project / rel
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))

    return edit


@dataclass(frozen=True)
class Case:
    """One bad input: the edits, the command, and what its error line must name."""

    id: str
    args: tuple[str, ...]
    place: str
    """The file, key, node or option the line must name."""
    fix: str
    """Words of the remedy the line must give."""
    edits: tuple[Edit, ...] = ()
    outside: Sequence[str] = field(default=())
    """Paths outside the project the command must not create."""


def case(
    id: str, edits: Sequence[Edit] | Edit, args: str, place: str, fix: str, **kw: object
) -> Case:
    chosen = (edits,) if callable(edits) else tuple(edits)
    return Case(id, tuple(args.split()), place, fix, chosen, **kw)  # type: ignore[arg-type]


DAB = "conf/base/dab.yml"
CATALOG = "conf/base/catalog.yml"
DBY = "databricks.yml"
REGISTRY = "src/{pkg}/pipeline_registry.py"
PYPROJECT = "pyproject.toml"
OWNED = "resources/kedro-dab"


def dab_yml(text: str) -> Edit:
    return write(DAB, text)


def job(settings: str) -> Edit:
    """A dab.yml with one job `j` on `__default__` and the given job settings (indented)."""
    return dab_yml("jobs:\n  j:\n" + "".join(f"    {line}\n" for line in settings.splitlines()))


def pipeline(name: str, source: str) -> list[Edit]:
    return [
        write(
            f"src/{{pkg}}/pipelines/{name}/__init__.py",
            "from .pipeline import create_pipeline\n",
        ),
        write(f"src/{{pkg}}/pipelines/{name}/pipeline.py", source),
    ]


def script_entry(value: str) -> Edit:
    """Make the project's console script entry `value` (TOML) instead of its target text."""

    def edit(project: Path, pkg: str) -> None:
        path = project / PYPROJECT
        text = path.read_text(encoding="utf-8")
        target = f'"{pkg}.__main__:main"'
        assert text.count(target) == 1, f"{PYPROJECT} holds {target} {text.count(target)} times"
        path.write_text(text.replace(target, value), encoding="utf-8")

    return edit


def registry(body: str) -> Edit:
    """Redefine `register_pipelines` at the end of the registry module."""
    return append(REGISTRY, f"\n\ndef register_pipelines():\n    {body}\n")


# Two different nodes named `make`, one in pipeline `first` (and `__default__`), one in `second`.
TWO_NODES_NAMED_ALIKE = """from kedro.pipeline import Pipeline, node

    def make():
        return 1

    first = Pipeline([node(make, None, "one", name="make")])
    second = Pipeline([node(make, None, "two", name="make")])
    return {"__default__": first, "first": first, "second": second}"""

INVALID_NODE_NAME = HANDOVER_PIPELINE.replace('name="extract_rows"', 'name="extract:rows"')

CASES: list[Case] = [
    # --- dab.yml ---------------------------------------------------------------------------
    case("dab-malformed-yaml", dab_yml("grouping: [\n  - by: tag\n"), "plan", DAB, "fix"),
    case(
        "dab-duplicate-key",
        dab_yml("merge_memory: true\nmerge_memory: false\n"),
        "plan",
        DAB,
        "merge_memory",
    ),
    case(
        "dab-unknown-top-key", dab_yml("groupng:\n  - by: node\n"), "plan", "groupng", "'grouping'"
    ),
    case(
        "dab-misspelt-nested-key",
        dab_yml('grouping: [{by: tag, prefx: "task."}]\n'),
        "plan",
        "grouping[0].prefx",
        "'prefix'",
    ),
    case(
        "dab-unknown-pipeline",
        job("pipelines: [reporting]"),
        "plan",
        "jobs.j.pipelines",
        "__default__",
    ),
    case(
        "dab-job-parameter-default-null",
        job("parameters:\n  - name: x\n    default: null"),
        "plan",
        "jobs.j.parameters[0].default",
        "got null",
    ),
    case("dab-top-level-list", dab_yml("- grouping\n- jobs\n"), "plan", DAB, "mapping"),
    case("dab-top-level-text", dab_yml("just some words\n"), "plan", DAB, "valid keys"),
    case(
        "dab-unsupported-interpolation",
        job("name: ${oc.env:HOME}"),
        "plan",
        f"{DAB}:3",
        "register the resolver",
    ),
    case(
        "dab-unknown-rule-kind",
        dab_yml("grouping: [{by: colour}]\n"),
        "plan",
        "grouping[0]",
        "use one of",
    ),
    case(
        "dab-rule-without-by", dab_yml("grouping: [{prefix: x}]\n"), "plan", "grouping[0]", "'by'"
    ),
    case(
        "dab-tag-rule-prefix-and-tags",
        dab_yml("grouping: [{by: tag, prefix: a, tags: [b]}]\n"),
        "plan",
        "grouping[0]",
        "exactly one of",
    ),
    case(
        "dab-unknown-compute",
        dab_yml("default_compute: gpu_box\n"),
        "plan",
        "default_compute",
        "define it under 'compute:'",
    ),
    case(
        "dab-unknown-compute-kind",
        dab_yml("compute: {big: {type: mainframe}}\n"),
        "plan",
        "compute.big",
        "use one of",
    ),
    case(
        "dab-bad-job-key",
        dab_yml("jobs: {'nightly run!': {}}\n"),
        "plan",
        "jobs.nightly run!",
        "letters, digits",
    ),
    case("dab-jobs-is-a-list", dab_yml("jobs: [a, b]\n"), "plan", "jobs", "expected a mapping"),
    case("dab-empty-pipelines", job("pipelines: []"), "plan", "jobs.j", "at least one pipeline"),
    case(
        "cron-words",
        job("schedule: {quartz_cron_expression: every day at noon}"),
        "plan",
        "jobs.j.schedule.quartz_cron_expression",
        "0 0 12 * * ?",
    ),
    case(
        "cron-unix-five-fields",
        job("schedule: {quartz_cron_expression: '0 12 * * *'}"),
        "plan",
        "quartz_cron_expression",
        "6 or 7",
    ),
    case(
        "cron-both-day-fields",
        job("schedule: {quartz_cron_expression: '0 0 12 * * *'}"),
        "plan",
        "quartz_cron_expression",
        "must be '?'",
    ),
    case(
        "schedule-and-trigger",
        job(
            "schedule: {quartz_cron_expression: '0 0 12 * * ?'}\n"
            "trigger: {periodic: {interval: 1, unit: DAYS}}"
        ),
        "plan",
        "jobs.j",
        "not both",
    ),
    case(
        "trigger-of-no-kind",
        job("trigger: {pause_status: PAUSED}"),
        "plan",
        "jobs.j.trigger",
        "exactly one of",
    ),
    case(
        "trigger-interval-0",
        job("trigger: {periodic: {interval: 0, unit: DAYS}}"),
        "plan",
        "jobs.j.trigger.periodic.interval",
        "expected a whole number >= 1, got 0",
    ),
    case(
        "job-parameter-twice",
        job("parameters: [{name: day, default: 1}, {name: day, default: 2}]"),
        "plan",
        "jobs.j",
        "unique",
    ),
    case(
        "boundaries-root-with-a-comma",
        dab_yml("boundaries: persist\nboundaries_root: /Volumes/main/default/runs,old\n"),
        "bundle",
        "boundaries_root",
        "holds a comma",
    ),
    case(
        "target-boundaries-root-with-outer-spaces",
        dab_yml(
            "boundaries: persist\nboundaries_root: /Volumes/main/default/runs\n"
            "targets:\n  dev:\n    boundaries_root: '/Volumes/main/default/dev '\n"
        ),
        "bundle",
        "targets.dev.boundaries_root",
        "spaces at an end",
    ),
    case(
        "job-parameter-with-a-comma",
        job('parameters: [{name: regions, default: "eu,us"}]'),
        "plan",
        "jobs.j.parameters[0]",
        "another separator",
    ),
    case(
        "run-as-two-principals",
        job("run_as: {user_name: a@b.c, service_principal_name: sp}"),
        "plan",
        "jobs.j.run_as",
        "exactly one of",
    ),
    case(
        "literal-secret",
        dab_yml(
            "compute:\n  c:\n    type: job_cluster\n    new_cluster:\n"
            "      spark_env_vars: {API_TOKEN: hunter2}\n"
        ),
        "plan",
        "API_TOKEN",
        "{{secrets/",
    ),
    case(
        "task-match-empty",
        dab_yml("tasks: [{match: {}, max_retries: 1}]\n"),
        "plan",
        "tasks[0].match",
        "at least one of",
    ),
    case(
        "task-retries-below-minus-1",
        dab_yml("tasks: [{match: {group: '*'}, max_retries: -2}]\n"),
        "plan",
        "tasks[0].max_retries",
        "expected a whole number >= -1, got -2",
    ),
    case(
        "dab-target-not-in-databricks-yml",
        dab_yml("targets: {staging: {compute: serverless}}\n"),
        "bundle",
        "targets.staging",
        "targets: dev, prod",
    ),
    case(
        "from-source-without-runner",
        dab_yml("targets: {dev: {from_source: true}}\n"),
        "bundle",
        "targets.dev.from_source",
        "init --vscode",
    ),
    # --- grouping ----------------------------------------------------------------------------
    case(
        "interrupted-namespace",
        [
            *pipeline("hops", INTERRUPTED_NAMESPACE_PIPELINE),
            append(CATALOG, INTERRUPTED_NAMESPACE_CATALOG),
        ],
        "plan",
        "'alpha.start'",
        "cycle",
    ),
    case(
        "node-with-two-group-tags",
        pipeline("split", TWO_GROUP_TAGS_PIPELINE),
        "plan",
        "'torn'",
        "'task.b'",
    ),
    case(
        "memory-dataset-across-tasks",
        dab_yml("merge_memory: false\n"),
        "plan",
        "'handover'",
        "boundaries: merge",
    ),
    case(
        "more-than-1000-tasks",
        [
            *pipeline("wide", THOUSAND_AND_ONE_PIPELINE),
            dab_yml("grouping: [{by: node}]\njobs: {wide: {pipelines: [wide]}}\n"),
        ],
        "plan",
        "1001",
        "grouping",
    ),
    # --- catalog -----------------------------------------------------------------------------
    case(
        "catalog-top-level-list",
        write(CATALOG, "- raw_rows\n- row_count\n"),
        "plan",
        CATALOG,
        "must be a mapping",
    ),
    case(
        "catalog-bare-string-entry",
        append(CATALOG, "handover: pickle.PickleDataset\n"),
        "plan",
        "handover",
        "'type'",
    ),
    case(
        "catalog-number-key",
        append(CATALOG, "2024:\n  type: pickle.PickleDataset\n  filepath: x.pkl\n"),
        "plan",
        "2024",
        "quote it",
    ),
    case(
        "catalog-factory-bad-format",
        append(CATALOG, '"{name:Q}":\n  type: pickle.PickleDataset\n  filepath: data/{name}.pkl\n'),
        "plan",
        "dataset factory '{name:Q}'",
        "fix the pattern",
    ),
    case(
        "catalog-file-git-ignored",
        [
            write("conf/base/catalog_extra.yml", "extra:\n  type: MemoryDataset\n"),
            append(".gitignore", "\nconf/base/catalog_extra.yml\n"),
        ],
        "plan",
        "conf/base/catalog_extra.yml",
        "stop ignoring it",
    ),
    case(
        "catalog-file-a-symbolic-link",
        [
            write("shared/catalog_extra.yml", "extra:\n  type: MemoryDataset\n"),
            symlink("conf/base/catalog_extra.yml", "../../shared/catalog_extra.yml"),
        ],
        "plan",
        "conf/base/catalog_extra.yml",
        "copy the file it points to",
    ),
    case(
        "credentials-pattern-of-the-project-would-ship",
        [
            append(
                "src/{pkg}/settings.py",
                '\nCONFIG_LOADER_ARGS = {"config_patterns": {"credentials": '
                '["credentials*", "credentials*/**", "**/credentials*", "secrets*"]}}\n',
            ),
            write("conf/base/secrets.yml", "db:\n  password: hunter2\n"),
        ],
        "plan",
        "conf/base/secrets.yml",
        "name it credentials*.yml or move it to conf/local",
    ),
    case("catalog-malformed-yaml", append(CATALOG, "broken: [\n"), "plan", CATALOG, "fix the YAML"),
    case(
        "catalog-dataset-twice-in-a-file",
        append(CATALOG, "raw_rows:\n  type: MemoryDataset\n"),
        "plan",
        "duplicate key raw_rows",
        "keep one",
    ),
    case(
        "catalog-dataset-in-two-files",
        write("conf/base/catalog_more.yml", "raw_rows:\n  type: MemoryDataset\n"),
        "plan",
        "conf/base/catalog_more.yml",
        "keep it in one",
    ),
    # --- the project's code and metadata --------------------------------------------------
    case(
        "registry-raises",
        registry("raise ValueError('the registry is broken')"),
        "plan",
        "pipeline_registry.py:",
        "fix it there",
    ),
    case(
        "node-name-kedro-rejects",
        write("src/{pkg}/pipelines/flow/pipeline.py", INVALID_NODE_NAME),
        "plan",
        "pipelines/flow/pipeline.py:",
        "fix it there",
    ),
    case(
        "pipeline-module-fails-to-import",
        pipeline("broken", BROKEN_PIPELINE),
        "plan",
        ".pipelines.broken",
        "fix it",
    ),
    case("empty-registry", registry("return {}"), "plan", "pipeline_registry.py", "'__default__'"),
    case(
        "registry-without-default",
        registry(
            "from kedro.framework.project import find_pipelines\n"
            "    return {k: v for k, v in find_pipelines().items() if k != '__default__'}"
        ),
        "plan",
        "pipeline_registry.py",
        "register '__default__'",
    ),
    case(
        "registry-pipeline-name-with-a-comma",
        [
            registry(
                "from kedro.framework.project import find_pipelines\n"
                "    found = find_pipelines()\n"
                "    return {**found, 'a,b': found['__default__']}"
            ),
            job("pipelines: ['a,b']"),
        ],
        "plan",
        "jobs.j.pipelines: pipeline 'a,b'",
        "register the pipeline under a name without commas",
    ),
    *(
        case(
            f"registry-two-nodes-named-alike-{name}",
            [registry(TWO_NODES_NAMED_ALIKE), job(f"pipelines: {pipelines}")],
            "plan",
            "jobs.j.pipelines: pipeline 'second' holds a node named 'make'",
            "give them distinct names",
        )
        for name, pipelines in [("together", "[first, second]"), ("alone", "[second]")]
    ),
    case(
        "registry-forgets-to-return",
        registry("pipelines = {}"),
        "plan",
        "pipeline_registry.py",
        "`return pipelines`",
    ),
    case(
        "registry-without-register-pipelines",
        replace(REGISTRY, "def register_pipelines(", "def register_pipelines_old("),
        "plan",
        "pipeline_registry.py",
        "define it",
    ),
    case(
        "registry-value-not-a-pipeline",
        registry("return {'__default__': 5}"),
        "plan",
        "pipeline_registry.py",
        "return pipeline names mapped to Pipeline objects",
    ),
    case(
        "registry-key-not-text",
        registry("from kedro.pipeline import Pipeline\n    return {1: Pipeline([])}"),
        "plan",
        "pipeline_registry.py",
        "return pipeline names mapped to Pipeline objects",
    ),
    case(
        "conf-source-outside-the-project",
        append("src/{pkg}/settings.py", '\nCONF_SOURCE = "../shared-conf"\n'),
        "plan",
        "settings.py: CONF_SOURCE '../shared-conf'",
        "move that conf folder inside the project",
    ),
    case(
        "console-script-entry-not-text",
        script_entry("5"),
        "plan",
        "[project.scripts]",
        "add `",
    ),
    case(
        "scripts-not-a-table",
        [
            replace(PYPROJECT, "[project.scripts]\n", "[project.not-scripts]\n"),
            replace(PYPROJECT, "dependencies = [", "scripts = 5\ndependencies = ["),
        ],
        "plan",
        "[project.scripts]",
        "must be a table",
    ),
    case(
        "dependencies-a-text",
        replace(PYPROJECT, "dependencies = [", 'dependencies = "kedro~=1.7"\nold-dependencies = ['),
        "plan",
        "[project] dependencies",
        'dependencies = ["kedro~=1.0"]',
    ),
    case(
        "settings-raises",
        append("src/{pkg}/settings.py", "\nCONFIG_LOADER_CLASS = OmegaConfigLoadr\n"),
        "plan",
        "settings.py:",
        "fix it there",
    ),
    case(
        "settings-syntax-error",
        append("src/{pkg}/settings.py", "\ndef broken(:\n"),
        "plan",
        "settings.py:",
        "fix it there",
    ),
    case(
        "tool-kedro-value-not-text",
        replace(PYPROJECT, 'kedro_init_version = "', 'kedro_init_version = 1.7\nold_init = "'),
        "plan",
        "[tool.kedro] kedro_init_version = 1.7",
        "quote it",
    ),
    case(
        "tool-kedro-source-dir-missing",
        replace(PYPROJECT, 'source_dir = "src"', 'source_dir = "nosrc"'),
        "plan",
        "source_dir = 'nosrc'",
        "the folder that holds the package",
    ),
    case(
        "missing-console-script",
        replace(PYPROJECT, "[project.scripts]", "[project.not-scripts]"),
        "plan",
        "[project.scripts]",
        "add `",
    ),
    case(
        "pyproject-without-project-name",
        replace(PYPROJECT, '\nname = "', '\nnot_name = "'),
        "plan",
        PYPROJECT,
        "needs one",
    ),
    case(
        "pyproject-invalid-toml",
        append(PYPROJECT, "\n[tool.kedro\n"),
        "plan",
        PYPROJECT,
        "fix the TOML",
    ),
    case(
        "project-from-kedro-0.18",
        replace(PYPROJECT, "kedro_init_version", "old_init_version"),
        "plan",
        "kedro_init_version",
        "migrate",
    ),
    case(
        "project-of-another-major",
        replace(PYPROJECT, 'kedro_init_version = "', 'kedro_init_version = "9'),
        "plan",
        "kedro_init_version",
        "migrate",
    ),
    case(
        "requirements-not-utf8",
        write("src/{pkg}/pipelines/flow/requirements.txt", b"pandas\nnumpy\xff\n"),
        "plan",
        "flow/requirements.txt:2",
        "UTF-8",
    ),
    case(
        "requirements-pip-option",
        write("src/{pkg}/pipelines/flow/requirements.txt", "-r other.txt\n"),
        "plan",
        "flow/requirements.txt:1",
        "plain requirements",
    ),
    # --- databricks.yml (bundle reads it first) -------------------------------------------
    case("dby-not-utf8", write(DBY, b"bundle:\n  name: caf\xe9\n"), "bundle", f"{DBY}:2", "UTF-8"),
    case("dby-is-a-folder", folder(DBY), "bundle", DBY, "rename or remove"),
    case("dby-malformed-yaml", append(DBY, "targets: [\n"), "bundle", DBY, "invalid YAML"),
    case("dby-top-level-list", write(DBY, "- bundle\n"), "bundle", DBY, "mapping"),
    case(
        "dby-number-key",
        replace(DBY, "targets:\n  dev:", "targets:\n  2024: {}\n  dev:"),
        "bundle",
        "invalid key tag: !!int",
        "quote it ('2024')",
    ),
    case(
        "dby-number-the-cli-cannot-read",
        replace(DBY, "targets:\n  dev:", "targets:\n  dev:\n    x_retries: 1__0"),
        "bundle",
        "1__0",
        "quote it as text",
    ),
    *(
        case(
            f"dby-two-default-targets-{command}",
            replace(
                DBY,
                "  prod:\n    mode: production",
                "  prod:\n    default: true\n    mode: production",
            ),
            command,
            f"{DBY}: targets dev, prod are all marked default: true",
            "keep default: true on one",
        )
        for command in ("bundle", "validate --no-cli")
    ),
    case(
        "dby-no-artifact-builds-the-projects-wheel",
        replace(DBY, "    path: .\n", "    path: ./libs/other\n"),
        "bundle",
        f"{DBY}: no artifact builds this project's wheel",
        "run `kedro dab init` to add it",
    ),
    *(
        case(
            f"dby-second-root-file-{other.replace('.', '-')}-{command.split()[0]}"
            + ("-local" if "--local" in command else ""),
            write(other, "bundle:\n  name: another\n"),
            command,
            *(
                (
                    f"{other}: kedro-dab reads and writes the bundle's root file as {DBY}",
                    f"rename {other} to {DBY}",
                )
                if KEDRO_1 or command != "serve"
                # serving's own first refusal on Kedro 0.19 comes before any file is read
                else ("kedro dab serve needs Kedro 1.x", "upgrade Kedro to serve endpoints")
            ),
        )
        for other, command in [
            *((name, "plan") for name in ("databricks.yaml", "bundle.yml", "bundle.yaml")),
            *zip(
                itertools.cycle(("databricks.yaml", "bundle.yml", "bundle.yaml")),
                (
                    "init",
                    "bundle",
                    "validate",
                    "build",
                    "deploy --dry-run",
                    "run --local",
                    "run",
                    "diff",
                    "summary",
                    "open",
                    "destroy --auto-approve",
                    "serve",
                ),
            ),
        ]
    ),
    case(
        "dby-user-resource-takes-a-generated-key",
        [
            append(DBY, "\nresources:\n  pipelines:\n    j:\n      name: mine\n"),
            job("pipelines: [__default__]"),
        ],
        "bundle",
        "resources.pipelines.j takes the key kedro-dab gives job 'j'",
        "rename yours",
    ),
    case(
        "dby-targets-list",
        replace(DBY, "targets:\n  dev:", "targets:\n  - dev\nold_targets:\n  dev:"),
        "bundle",
        "targets",
        "mapping",
    ),
    case(
        "dby-include-text",
        replace(
            DBY,
            "include:\n  - resources/*.yml\n  - resources/kedro-dab/*.yml",
            "include: resources/kedro-dab/*.yml",
        ),
        "bundle",
        "include",
        "list of globs",
    ),
    case(
        "dby-bundle-text",
        replace(DBY, "bundle:\n  name: ", "bundle: "),
        "bundle",
        "bundle",
        "mapping",
    ),
    case(
        "dby-bundle-name-number",
        replace(DBY, "bundle:\n  name: ", "bundle:\n  name: 42\n  old_name: "),
        "bundle",
        "bundle.name",
        "quote it",
    ),
    case(
        "dby-artifacts-list",
        replace(DBY, "artifacts:\n", "artifacts: []\nold_artifacts:\n"),
        "bundle",
        "artifacts",
        "mapping",
    ),
    case(
        "dby-sync-list",
        replace(DBY, "sync:\n", "sync: []\nold_sync:\n"),
        "bundle",
        "sync",
        "mapping",
    ),
    case(
        "dby-variables-list",
        replace(DBY, "variables:\n", "variables: []\nold_variables:\n"),
        "bundle",
        "variables",
        "mapping",
    ),
    case(
        "dby-target-text",
        replace(DBY, "  dev:\n", "  dev: yes please\n  old_dev:\n"),
        "bundle",
        "targets.dev",
        "mapping",
    ),
    case(
        "dby-include-misses-owned-files",
        replace(DBY, "  - resources/kedro-dab/*.yml\n", ""),
        "bundle",
        "include",
        "'resources/kedro-dab/*.yml'",
    ),
    case(
        "dby-env-local",
        replace(DBY, "default: databricks", "default: local"),
        "bundle",
        "variables.kedro_env",
        "use another env",
    ),
    case(
        "dby-env-without-folder",
        replace(DBY, "default: databricks", "default: staging"),
        "bundle",
        "conf/staging/",
        "create",
    ),
    case(
        "dby-env-folder-git-ignored",
        [
            write("conf/staging/globals.yml", "region: eu\n"),
            append(".gitignore", "\nconf/staging/\n"),
            replace(DBY, "default: databricks", "default: staging"),
        ],
        "bundle",
        "conf/staging/",
        "stop ignoring it",
    ),
    case(
        "dby-env-only-credentials",
        [
            write("conf/staging/credentials.yml", "db: {user: me}\n"),
            replace(DBY, "default: databricks", "default: staging"),
        ],
        "bundle",
        "conf/staging/",
        "add one that is",
    ),
    case(
        "dby-env-default-not-text",
        replace(DBY, "default: databricks", "default: 5"),
        "bundle",
        "variables.kedro_env.default = 5",
        "as text",
    ),
    case(
        "dby-target-env-not-text",
        replace(
            DBY,
            "    mode: development\n",
            "    mode: development\n    variables:\n      kedro_env: 7\n",
        ),
        "bundle",
        "targets.dev.variables.kedro_env = 7",
        "as text",
    ),
    case(
        "dby-kedro-env-without-default",
        replace(DBY, "    default: databricks\n", ""),
        "bundle",
        "variables.kedro_env",
        "kedro dab init",
    ),
    case("dby-missing", remove(DBY), "bundle", DBY, "kedro dab init"),
    case(
        "env-option-no-target-runs",
        (),
        "bundle --env nosuch",
        "--env nosuch",
        "set variables.kedro_env",
    ),
    case(
        "deploy-sdk-targets-list",
        replace(DBY, "targets:\n  dev:", "targets:\n  - dev\nold_targets:\n  dev:"),
        "deploy --engine sdk --dry-run",
        "targets",
        "mapping",
    ),
    # --- init ------------------------------------------------------------------------------
    case(
        "init-env-path",
        (),
        "init --env ../../escape",
        "--env",
        "plain name",
        outside=("../../escape",),
    ),
    case("init-env-local", (), "init --env local", "--env local", "another env"),
    case(
        "init-env-folder-is-a-file",
        write("conf/staging", "not a folder\n"),
        "init --env staging",
        "conf/staging is a file",
        "rename or remove it",
    ),
    case(
        "init-workflow-path-is-a-folder",
        write(".github/workflows/kedro-dab.yml/keep", ""),
        "init --ci github",
        ".github/workflows/kedro-dab.yml is a folder",
        "rename or remove it",
    ),
    case(
        "init-env-default-not-text",
        replace(DBY, "default: databricks", "default: 5"),
        "init",
        "variables.kedro_env.default = 5",
        "as text",
    ),
    case(
        "init-host-with-yaml-in-it",
        (),
        "init --host https://a.b/x:[oops",
        "--host",
        "without a path",
    ),
    case(
        "init-host-not-a-url", (), "init --host adb-123.azuredatabricks.net", "--host", "https://"
    ),
    case(
        "init-merge-targets-list",
        replace(DBY, "targets:\n  dev:", "targets:\n  - dev\nold_targets:\n  dev:"),
        "init",
        "targets",
        "--force",
    ),
    case(
        "init-merge-artifacts-list",
        replace(DBY, "artifacts:\n", "artifacts: [a]\nold_artifacts:\n"),
        "init",
        "artifacts",
        "--force",
    ),
    case(
        "init-merge-sync-list",
        replace(DBY, "sync:\n", "sync: [a]\nold_sync:\n"),
        "init",
        "sync",
        "--force",
    ),
    case(
        "init-merge-variables-list",
        replace(DBY, "variables:\n", "variables: [a]\nold_variables:\n"),
        "init",
        "variables",
        "--force",
    ),
    case(
        "init-dby-not-utf8", write(DBY, b"bundle:\n  name: caf\xe9\n"), "init", f"{DBY}:2", "UTF-8"
    ),
    case("init-dby-is-a-folder", folder(DBY), "init", DBY, "rename or remove"),
    case(
        "init-gitignore-not-utf8",
        write(".gitignore", b"data/\n\xff\xfe\n"),
        "init",
        ".gitignore:2",
        "UTF-8",
    ),
    case("init-force-fails-midway", folder(DAB), "init --force", DAB, "nothing was written"),
    # --- the generated files' folder and output files --------------------------------------
    case(
        "owned-folder-is-a-file",
        [remove(OWNED), write(OWNED, "not a folder\n")],
        "bundle",
        OWNED,
        "rename or remove the file",
    ),
    case("owned-folder-read-only", read_only(OWNED), "bundle --force", OWNED, "chmod u+w"),
    case(
        "foreign-file-in-owned-folder",
        write(f"{OWNED}/mine.yml", "resources: {}\n"),
        "bundle",
        f"{OWNED}/mine.yml",
        "move the file to resources/",
    ),
    case(
        "non-utf8-file-in-owned-folder",
        write(f"{OWNED}/mine.yml", b"\xff\xfe\n"),
        "bundle",
        f"{OWNED}/mine.yml",
        "move the file",
    ),
    case(
        "hand-edited-generated-file",
        append(f"{OWNED}/{{pkg}}.yml", "# my change\n"),
        "bundle",
        f"{OWNED}/",
        "--force",
    ),
    case(
        "output-into-a-missing-folder",
        (),
        "plan -f json -o /proc/kedro-dab/plan.json",
        "/proc/kedro-dab/plan.json",
        "choose another place",
    ),
    case(
        "output-under-a-file",
        (),
        "plan -f json -o README.md/plan.json",
        "README.md",
        "rename or remove that file",
    ),
    # --- options of run ----------------------------------------------------------------------
    case(
        "params-not-name-value", (), "run --local --params notakv", "--params notakv", "name=value"
    ),
    case(
        "params-undeclared",
        (),
        "run --local --params day=1",
        "--params day=1",
        "declare it under jobs.",
    ),
    case("run-unknown-job", (), "run --local nosuch", "'nosuch'", "jobs:"),
]


# --- running the corpus ----------------------------------------------------------------------

WORKERS = max(2, os.cpu_count() or 1)


@dataclass
class Outcome:
    """What one case's command did."""

    result: subprocess.CompletedProcess[str]
    before: str
    after: str
    escaped: list[str]


def tree_hash(root: Path) -> str:
    """A hash of every path, kind and mode under `root`, and each file's mtime and content
    (bytecode caches aside): equal hashes mean nothing was written, rewritten, created,
    removed or chmodded. A folder's own mtime is left out: it moves with any temp file."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts:
            continue
        info = path.lstat()
        digest.update(f"{rel.as_posix()}\0{info.st_mode}\0".encode())
        if path.is_file():
            digest.update(f"{info.st_mtime_ns}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def package_of(project: Path) -> str:
    return next(p.name for p in (project / "src").iterdir() if (p / "__init__.py").is_file())


def prepare(bad: Case, base: Path, workdir: Path) -> Path:
    """A copy of the base project with the case's edits made."""
    project = workdir / bad.id / base.name
    shutil.copytree(base, project, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    pkg = package_of(project)
    for edit in bad.edits:
        edit(project, pkg)
    return project


LAUNCHER = """
import json, os, sys

jobs, workers = json.loads(sys.argv[1]), int(sys.argv[2])
from kedro.framework.cli import main

running = {}
for index, (folder, args, out, err, exit_file) in enumerate(jobs):
    while len(running) >= workers:
        pid, status = os.wait()
        running.pop(pid)
    pid = os.fork()
    if pid == 0:
        os.chdir(folder)
        for fd, path in ((1, out), (2, err)):
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(handle, fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        sys.argv = ["kedro", "dab", *args]
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        with open(exit_file, "w") as handle:
            handle.write(str(code))
        os._exit(code)
    running[pid] = index
while running:
    pid, status = os.wait()
    running.pop(pid)
"""


def run_all(projects: dict[str, Path], chosen: Sequence[Case], workdir: Path) -> dict[str, str]:
    """Run every case's `kedro dab` command: the real Kedro CLI entry point in a process of
    its own, forked from one launcher that imported Kedro once (a fresh interpreter per case
    would spend most of the corpus's time importing Kedro). Returns each case's exit file."""
    jobs = []
    for bad in chosen:
        base = workdir / bad.id
        files = [str(base / name) for name in ("out", "err", "exit")]
        jobs.append([str(projects[bad.id]), list(bad.args), *files])
    launcher = workdir / "launcher.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    subprocess.run(
        [sys.executable, str(launcher), json.dumps(jobs), str(WORKERS)],
        cwd=workdir,
        env=kedro_environ(),
        stdin=subprocess.DEVNULL,
        check=True,
        timeout=1800,
    )
    return {bad.id: (workdir / bad.id / "exit").read_text() for bad in chosen}


@pytest.fixture(scope="module")
def base_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised and bundled project that every case copies."""
    project = shared_project(
        tmp_path_factory, pipelines={"flow": HANDOVER_PIPELINE}, catalog=HANDOVER_CATALOG
    )
    dab(project, "init", check=True)
    dab(project, "bundle", check=True)
    return project


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest,
    base_project: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Outcome]:
    """The outcome of every selected case, run `WORKERS` at a time on the first request."""
    selected = {
        item.callspec.params["bad"].id
        for item in request.session.items
        if getattr(item, "module", None) is request.module
        and hasattr(item, "callspec")
        and "bad" in item.callspec.params
    }
    chosen = [c for c in CASES if c.id in selected]
    workdir = tmp_path_factory.mktemp("bad-input")
    projects = {bad.id: prepare(bad, base_project, workdir) for bad in chosen}
    before = {bad.id: tree_hash(projects[bad.id]) for bad in chosen}
    try:
        codes = run_all(projects, chosen, workdir)
        out: dict[str, Outcome] = {}
        for bad in chosen:
            files = workdir / bad.id
            result = subprocess.CompletedProcess(
                ["kedro", "dab", *bad.args],
                int(codes[bad.id]),
                (files / "out").read_text(encoding="utf-8", errors="replace"),
                (files / "err").read_text(encoding="utf-8", errors="replace"),
            )
            conf = projects[bad.id] / "conf"
            escaped = [p for p in bad.outside if (conf / p).exists()]
            out[bad.id] = Outcome(result, before[bad.id], tree_hash(projects[bad.id]), escaped)
        return out
    finally:
        for path in workdir.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                os.chmod(path, path.stat().st_mode | stat.S_IWUSR)


def test_the_corpus_holds_at_least_80_distinct_cases() -> None:
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("bad", CASES, ids=lambda c: c.id)
def test_bad_input_is_one_error_line_naming_the_place_and_fix_and_changes_nothing(
    bad: Case, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes[bad.id]

    line = refusal_line(outcome.result)

    assert bad.place in line, line
    assert bad.fix in line, line
    assert outcome.after == outcome.before, f"{bad.id} changed the project: {line}"
    assert not outcome.escaped, f"{bad.id} wrote outside the project: {outcome.escaped}"


# --- beyond the table ------------------------------------------------------------------------


def test_verbose_shows_the_traceback_and_still_exits_2(project_factory: ProjectFactory) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=HANDOVER_CATALOG,
        dab_yml="groupng:\n  - by: node\n",
    )

    result = dab(project, "plan", "--verbose")

    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error:")
    assert "groupng" in result.stderr


def test_kedro_dab_verbose_env_shows_the_traceback_of_an_unexpected_error(
    project_factory: ProjectFactory,
) -> None:
    project = project_factory(pipelines={"flow": HANDOVER_PIPELINE}, catalog=HANDOVER_CATALOG)
    registry("raise ValueError('the registry is broken')")(project, package_of(project))

    result = run_kedro(project, "dab", "plan", env={"KEDRO_DAB_VERBOSE": "1"})

    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "the registry is broken" in result.stderr.strip().splitlines()[-1]


ADVISED_INIT = ("dby-kedro-env-without-default", "dby-include-misses-owned-files", "dby-missing")


@pytest.mark.parametrize(
    "bad",
    [c for c in CASES if c.id in ADVISED_INIT],
    ids=lambda c: c.id,
)
def test_an_error_that_advises_init_is_fixed_by_init(
    bad: Case, base_project: Path, tmp_path: Path
) -> None:
    project = tmp_path / base_project.name
    shutil.copytree(base_project, project, ignore=shutil.ignore_patterns("__pycache__"))
    for edit in bad.edits:
        edit(project, package_of(project))
    assert "kedro dab init" in refusal_line(dab(project, *bad.args))

    dab(project, "init", check=True)

    dab(project, *bad.args, check=True)


def test_in_memory_dataset_across_tasks_with_merging_joins_the_two_tasks(
    project_factory: ProjectFactory, tmp_path: Path
) -> None:
    project = project_factory(
        pipelines={"flow": HANDOVER_PIPELINE},
        catalog=HANDOVER_CATALOG,
        dab_yml="merge_memory: true\n",
    )

    plan = plan_json(project, tmp_path / "out")

    (job,) = plan["jobs"]
    (task,) = job["tasks"]
    assert [node["name"] for node in task["nodes"]] == ["extract_rows", "count_rows"]
    assert any("merged" in node["placed_by"] for node in task["nodes"])
    assert job["boundary_datasets"] == []
