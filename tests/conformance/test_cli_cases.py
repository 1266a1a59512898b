"""Conformance: the SDK engine reads the Databricks CLI's own acceptance cases as the CLI does.

The inputs and the CLI's recorded outputs in `data/` are copied unmodified from
`acceptance/bundle/` of github.com/databricks/cli at v1.13.0 (commit 7bbe2852131b, four commits
after the v1.13.0 tag), under the Databricks License in `data/LICENSE`. Each case names the
command the case's `script` runs (target, `BUNDLE_VAR_` environment, `--var`), the part of
`bundle validate -o json` it records, and whether the CLI rejects the bundle.

A case is *equal* when the engine's settings are the CLI's (after the recorder's own
replacements: the user name becomes `[USERNAME]`, the node type `[NODE_TYPE_ID]`; and with the
`null`s `validate` prints for unset fields left out, as the Jobs API never receives them),
*refused* when the engine stops with one clean line (always so for a case the CLI rejects), and
*different* otherwise. Different must stay zero, and so must accepted-but-the-CLI-rejects.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kedro_dab.deploy.target import CLI_VERSION
from kedro_dab.errors import DabError
from tests.conformance.engine import USER, engine_view

DATA = Path(__file__).parent / "data"
CLI_COMMIT = "7bbe2852131b"
NODE_TYPE_ID = "i3.xlarge"
MIN_EQUAL = 31
"""Equal cases today; raise it when the engine supports more."""


@dataclass(frozen=True)
class Case:
    """One `bundle validate` command of a CLI acceptance case."""

    path: str
    target: str | None = None
    select: str = ".resources.jobs"
    block: int = 0
    """Which JSON value of `output.txt` (or of `source`) the command printed."""
    source: str = "output.txt"
    take: str = ""
    """A key of the printed value to compare (the case printed more than jobs)."""
    environ: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    rejects: bool = False
    wrap: str = ""
    """The key the case's jq put the selected value under (`{paths: [...]}`)."""

    @property
    def id(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in {**self.environ, **self.variables}.items())
        return f"{self.path}[{self.target or 'default'}{',' + extra if extra else ''}]"


DEFAULTS_CLUSTER = ".resources.jobs.job1.job_clusters[0]"
CASES = [
    Case("override/job_cluster", "development"),
    Case("override/job_cluster", "staging", block=1),
    Case("override/job_cluster_var", "development"),
    Case("override/job_cluster_var", "staging", block=1),
    Case("override/job_tasks", "development", rejects=True),
    Case("override/job_tasks", "staging", rejects=True),
    Case("validate/permissions_overlap", select=".resources.jobs | map_values(.permissions)"),
    Case("validate/presets_max_concurrent_runs"),
    Case("validate/presets_tags", select=".resources.jobs | map_values(.tags)"),
    Case("validate/empty_tasks"),
    Case("validate/permissions", select=".resources"),
    Case("variables/complex-simple", select=".resources.jobs.job1.job_clusters"),
    Case(
        "variables/resolve-nonstrings",
        take="jobs",
        environ={
            "BUNDLE_VAR_no_alert_for_skipped_runs": "false",
            "BUNDLE_VAR_max_workers": "2",
            "BUNDLE_VAR_min_workers": "3",
        },
        variables={
            "no_alert_for_canceled_runs": "true",
            "min_workers": "1",
            "spot_bid_max_price": "0.5",
        },
    ),
    Case("variables/vanilla", select=".resources.jobs.one.name", environ={"BUNDLE_VAR_b": "def"}),
    Case("variables/vanilla", "default", rejects=True),
    Case(
        "resources/jobs/instance_pool_and_node_type", select=".resources.jobs.some_other_job.tasks"
    ),
    Case(
        "variables/complex", source="out.default.json", take="resources", select=".resources.jobs"
    ),
    Case(
        "variables/complex",
        "dev",
        source="out.dev.json",
        take="resources",
        select=".resources.jobs",
    ),
    Case("variables/cycle", rejects=True),
    Case("variables/complex-cycle", select=".resources.jobs"),
    Case(
        "variables/env_overrides",
        "env-with-single-variable-override",
        select=".variables.result.value",
    ),
    Case("variables/env_overrides", "env-missing-a-required-variable-assignment", rejects=True),
    Case("variables/env_overrides", "env-using-an-undefined-variable", rejects=True),
    Case("includes/non_yaml_in_include", rejects=True),
    Case("presets/preset_vs_dev_mode", rejects=True),
    Case("variables/empty", rejects=True),
    Case("variables/double_underscore", select=".resources.jobs.test_job.tasks"),
    Case("variables/unicode_reference", select=".resources.jobs.foo.name"),
    Case("variables/resolve-empty", select=".resources.jobs.job1.tags"),
    Case(
        "variables/resolve-field-within-complex",
        select=".resources.jobs.job1.job_clusters[0].new_cluster",
    ),
    Case("variables/complex-within-complex", select=".resources.jobs.job1.job_clusters"),
    Case("variables/complex-with-var-reference", select=".resources.jobs.job1.tasks"),
    Case("libraries/pypi", select=".resources.jobs.testjob.tasks[0].libraries"),
    Case("variables/resolve-builtin", select=".workspace"),
    Case("libraries/maven", select=".resources.jobs.testjob.tasks[0].libraries"),
    Case("variables/complex_multiple_files", "dev", take="resources", select=".resources.jobs"),
    Case(
        "variables/complex_multiple_files",
        "dev",
        select=".variables | map_values(.value)",
        take="variables",
    ),
    Case("variables/issue_2436", rejects=True),
    *(
        Case(
            "paths/relative_path_translation",
            target,
            select=".resources.jobs.job.tasks[].spark_python_task.python_file",
            source=f"output.{target}.json",
            wrap="paths",
        )
        for target in ("default", "override")
    ),
    Case("variables/resolve-vars-in-root-path", select=".workspace"),
    Case("variables/prepend-workspace-var", select=".workspace", take="workspace"),
    Case("variables/prepend-workspace-var", select=".resources.jobs", take="resources"),
    *(
        Case("variables/file-defaults", target, select=DEFAULTS_CLUSTER, block=block, **more)
        for block, (target, more) in enumerate(
            [
                (None, {}),
                (None, {"variables": {"cluster_key": "mlops_stacks-cluster-overriden"}}),
                (None, {"environ": {"BUNDLE_VAR_cluster_key": "mlops_stacks-cluster-overriden"}}),
                ("with_value", {}),
                ("invalid_json", {"rejects": True}),
                ("wrong_file_structure", {"rejects": True}),
                ("complex_to_string", {"rejects": True}),
                ("string_to_complex", {"rejects": True}),
                ("without_defaults", {"rejects": True}),
            ]
        )
    ),
]


def json_values(text: str) -> list[Any]:
    """The JSON values a recorded output printed, in order (each starts a line)."""
    decoder = json.JSONDecoder()
    values, position = [], 0
    for match in re.finditer(r'^[\[{"]', text, re.MULTILINE):
        if match.start() < position:
            continue
        try:
            value, end = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        values.append(value)
        position = end
    return values


def select(document: Any, expression: str) -> Any:
    """The subset of jq the cases use: `.a.b[0]` and `.a[].b` (a list of each element's `.b`),
    optionally `| map_values(.x)`."""
    path, _, mapped = expression.partition("|")
    value = _path(document, re.findall(r"\.([A-Za-z_][\w-]*)|\[(\d*)\]", path.strip()))
    found = re.fullmatch(r"\s*map_values\(\.(\w+)\)\s*", mapped) if mapped else None
    if found:
        value = {key: item.get(found.group(1)) for key, item in value.items()}
    return value


def _path(value: Any, steps: list[tuple[str, str]]) -> Any:
    for at, (name, index) in enumerate(steps):
        if not name and not index:
            return [_path(item, steps[at + 1 :]) for item in value]
        value = value.get(name) if name else value[int(index)]
    return value


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def recorded(text: Any) -> Any:
    """A value as the CLI's recorder writes it: user and node type replaced."""
    if isinstance(text, dict):
        return {k: recorded(v) for k, v in text.items()}
    if isinstance(text, list):
        return [recorded(v) for v in text]
    if isinstance(text, str):
        text = text.replace(USER, "[USERNAME]").replace(NODE_TYPE_ID, "[NODE_TYPE_ID]")
        return re.sub(r"\btester\b", "[USERNAME]", text)
    return text


def expected(case: Case) -> Any:
    values = json_values((DATA / case.path / case.source).read_text(encoding="utf-8"))
    value = values[case.block]
    return without_nulls(value[case.take] if case.take else value)


_VERDICTS: dict[str, tuple[str, str]] = {}


def verdict(case: Case) -> tuple[str, str]:
    """(equal | refused | different | accepted-rejected | traceback, detail), computed once."""
    if case.id + case.select not in _VERDICTS:
        _VERDICTS[case.id + case.select] = _verdict(case)
    return _VERDICTS[case.id + case.select]


def _verdict(case: Case) -> tuple[str, str]:
    root = DATA / case.path
    try:
        view = engine_view(root, case.target, environ=case.environ, variables=case.variables)
    except DabError as error:
        message = str(error)
        return ("refused" if "\n" not in message else "traceback"), message
    except Exception as error:
        return "traceback", f"{type(error).__name__}: {error}"
    if case.rejects:
        return "accepted-rejected", "the CLI rejects this bundle"
    document = {
        "resources": {"jobs": view["jobs"]},
        "variables": {name: {"value": value} for name, value in view["variables"].items()},
        "workspace": view["workspace"],
    }
    ours = without_nulls(recorded(select(document, case.select)))
    if case.wrap:
        ours = {case.wrap: ours}
    theirs = expected(case)
    if case.take in ("resources", "workspace", "variables"):
        theirs = select({case.take: theirs}, case.select)
    if ours == theirs:
        return "equal", ""
    shown = json.dumps(ours, sort_keys=True), json.dumps(theirs, sort_keys=True)
    return "different", f"engine: {shown[0]}\n    CLI: {shown[1]}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_engine_reads_the_cli_case_as_the_cli_does_or_refuses_it(case: Case) -> None:
    kind, detail = verdict(case)
    assert kind in ("equal", "refused"), f"{kind}: {detail}"


def test_conformance_counts(capsys: pytest.CaptureFixture[str]) -> None:
    counts = Counter(verdict(case)[0] for case in CASES)
    with capsys.disabled():
        print(
            f"\nconformance with Databricks CLI {CLI_VERSION} ({CLI_COMMIT}): {len(CASES)} cases, "
            f"{counts['equal']} equal, {counts['refused']} refused cleanly, "
            f"{counts['different']} different, {counts['accepted-rejected']} accepted that the "
            f"CLI rejects, {counts['traceback']} tracebacks"
        )
    assert counts["different"] == counts["accepted-rejected"] == counts["traceback"] == 0
    assert counts["equal"] >= MIN_EQUAL
