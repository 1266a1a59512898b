"""`kedro dab plan --format html`: one self-contained page, checked in a real headless
Chromium, offline (every request that is not the page itself is refused and recorded)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.project.conftest import dab, shared_project

pytestmark = pytest.mark.project

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# `rows` is in no catalog: it lives in memory, so merge_memory joins `ingest` and `clean`.
PIPELINE = """\
from kedro.pipeline import Pipeline, node, pipeline


def load(rows):
    return list(rows)


def clean(rows):
    return [row for row in rows if row]


def features(rows):
    return [len(row) for row in rows]


def fit(values):
    return sum(values)


def summarise(model, rows):
    return f"{model} from {len(rows)} rows"


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(load, "raw_rows", "rows", name="load", tags=["task.ingest"]),
            node(clean, "rows", "clean_rows", name="clean", tags=["task.clean"]),
            node(features, "clean_rows", "features", name="features", namespace="training"),
            node(fit, "features", "model_pickle", name="fit", namespace="training"),
            node(summarise, ["model_pickle", "clean_rows"], "summary", name="summarise"),
        ]
    )
"""

CATALOG = """\
raw_rows:
  type: pickle.PickleDataset
  filepath: data/01_raw/rows.pkl
clean_rows:
  type: pickle.PickleDataset
  filepath: data/02_intermediate/clean_rows.pkl
"{name}_pickle":
  type: pickle.PickleDataset
  filepath: data/06_models/{name}.pkl
"""

DAB_YML = "merge_memory: true\n"

# What the pipeline above defines, and what the rules make of it.
NODES = ["load", "clean", "training.features", "training.fit", "summarise"]
TASKS = ["ingest", "training", "summarise"]
# clean_rows goes from the first task to the last one too, past `training`.
FLOWS = {("ingest", "training"), ("training", "summarise"), ("ingest", "summarise")}


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_project(tmp_path_factory, {"data": PIPELINE}, CATALOG, DAB_YML)


@pytest.fixture
def page_file(project: Path, tmp_path: Path) -> Path:
    out = tmp_path / "plan.html"
    dab(project, "plan", "--format", "html", "-o", str(out), check=True)
    return out


def test_mermaid_shows_every_dataset_flow_between_tasks_and_marks_merges(
    project: Path,
) -> None:
    text = dab(project, "plan", "--format", "mermaid", check=True).stdout
    ids = dict(re.findall(r'^\s+(j\d+t\d+)\["<b>([^<]+)</b>', text, re.MULTILINE))
    flows = {
        (ids[a], ids[b]): label
        for a, label, b in re.findall(r"^\s+(\S+) -->\|([^|]*)\| (\S+)$", text, re.MULTILINE)
    }
    assert set(flows) == FLOWS
    assert flows[("ingest", "summarise")] == "clean_rows"
    merged = re.search(r"^\s+class (\S+) merged$", text, re.MULTILINE)
    assert merged is not None
    assert [ids[i] for i in merged.group(1).split(",")] == ["ingest"]
    assert "in-memory dataset 'rows'" in text


def test_plan_page_loads_offline_without_errors_and_shows_every_task_and_node(
    browser, page_file: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    def refuse(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url == page_file.as_uri():
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", refuse)
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    shot = tmp_path / "plan.png"  # kept in pytest's tmp folder for a look
    page.screenshot(path=str(shot), full_page=True)

    assert errors == []
    assert outside == []
    assert shot.stat().st_size > 10_000
    drawn_tasks = page.locator("svg g.task").evaluate_all("gs => gs.map(g => g.dataset.task)")
    assert sorted(drawn_tasks) == sorted(TASKS)
    drawn_nodes = page.locator("svg text.node").evaluate_all(
        "ts => ts.map(t => t.dataset.node).filter(Boolean)"
    )
    assert sorted(drawn_nodes) == sorted(NODES)
    for name in NODES:
        assert page.locator(f'svg [data-node="{name}"]').is_visible()
    flows = page.locator("svg g.flow").evaluate_all(
        "gs => gs.map(g => [g.dataset.from, g.dataset.to])"
    )
    assert {tuple(f) for f in flows} == FLOWS
    merged = page.locator("svg g.task.merged").evaluate_all("gs => gs.map(g => g.dataset.task)")
    assert merged == ["ingest"]
    assert "in-memory dataset 'rows'" in page.locator("ul.merges").inner_text()
    page.close()


def test_persisted_boundary_datasets_are_marked_in_the_page_and_the_diagram(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    persisting = shared_project(
        tmp_path_factory,
        {"data": PIPELINE},
        CATALOG,
        "boundaries: persist\nboundaries_root: /Volumes/main/default/kedro\n",
    )
    out = tmp_path / "plan.html"
    dab(persisting, "plan", "--format", "html", "-o", str(out), check=True)
    mermaid = dab(persisting, "plan", "--format", "mermaid", check=True).stdout

    # `rows` is in no catalog, so with persist it crosses from `ingest` to `clean` persisted
    cells = re.findall(
        r"<tr><td><code>([^<]+)</code></td><td>([^<]+)</td><td>([^<]+)</td>"
        r'<td class="(\w+)">',
        out.read_text(encoding="utf-8"),
    )
    assert ("rows", "ingest", "clean", "persisted") in cells
    assert all(kind != "memory" for *_, kind in cells)
    assert re.search(r"-->\|rows \(persisted\)\|", mermaid)
