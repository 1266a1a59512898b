"""Which datasets are persisted, judged from catalog configuration and the project's own
dataset classes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kedro.io import AbstractDataset, MemoryDataset

from kedro_dab import compat
from kedro_dab.errors import ConfigError
from kedro_dab.kedro_config import persisted_datasets
from kedro_dab.registry import persisted_families

PICKLE = {"type": "pickle.PickleDataset", "filepath": "x.pkl"}
MEMORY = {"type": "MemoryDataset"}

CASES: list[tuple[str, dict[str, Any], list[str], set[str]]] = [
    (
        "a declared file dataset is persisted and an undeclared one is not",
        {"a": {"type": "pandas.CSVDataset", "filepath": "a.csv"}},
        ["a", "b"],
        {"a"},
    ),
    (
        "declared memory datasets are not persisted",
        {"a": MEMORY, "b": {"type": "kedro.io.SharedMemoryDataset"}},
        ["a", "b"],
        set(),
    ),
    (
        "a cached dataset is persisted when what it wraps is",
        {
            "a": {"type": "CachedDataset", "dataset": {"type": "pickle.PickleDataset"}},
            "b": {"type": "CachedDataset", "dataset": MEMORY},
        },
        ["a", "b"],
        {"a"},
    ),
    (
        "parameters are never datasets",
        {"params:x": {"type": "x.Y"}},
        ["params:x", "parameters"],
        set(),
    ),
    (
        "a factory pattern makes matching names persisted",
        {"{ns}.model": PICKLE},
        ["a.model", "a.other"],
        {"a.model"},
    ),
    (
        "a more specific pattern wins over a general one",
        {"{name}_mem": MEMORY, "{name}": PICKLE},
        ["x_mem", "y"],
        {"y"},
    ),
    (
        "the catch-all pattern comes after every other pattern",
        {"{anything}": PICKLE, "{a}.{b}": MEMORY},
        ["ns.x", "plain"],
        {"plain"},
    ),
    (
        "with equal specificity, more placeholders win",
        {"a{x}": PICKLE, "{a}.{b}": MEMORY},
        ["a.b"],
        set(),
    ),
    (
        "an explicit entry wins over a pattern",
        {"{x}": {"type": "pickle.PickleDataset"}, "scratch": MEMORY},
        ["scratch", "other"],
        {"other"},
    ),
    (
        "YAML anchor keys are not datasets",
        {"_csv": {"type": "pandas.CSVDataset"}},
        ["_csv"],
        set(),
    ),
]


@pytest.mark.parametrize(
    ("catalog", "datasets", "persisted"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_persisted_datasets(
    catalog: dict[str, Any], datasets: list[str], persisted: set[str]
) -> None:
    assert persisted_datasets(catalog, datasets) == persisted


class ProjectMemory(MemoryDataset):
    """A project's own in-memory dataset (here `tests` stands for the project's package)."""


class ProjectPickle(AbstractDataset):
    """A project's own dataset that persists."""

    def _load(self) -> Any: ...
    def _save(self, data: Any) -> None: ...
    def _describe(self) -> dict[str, Any]:
        return {}


HERE = __name__


@pytest.mark.parametrize(
    ("kind", "in_memory"),
    [
        (f"{HERE}.ProjectMemory", True),
        (f"{HERE}.ProjectPickle", False),
        (f"{HERE}.NoSuchDataset", False),  # cannot be imported: judged by its name
        ("tests.no_such_module.ProjectMemory", False),
    ],
    ids=["memory_subclass", "persisting_class", "missing_class", "missing_module"],
)
def test_the_projects_own_dataset_classes_are_judged_by_what_they_subclass(kind, in_memory):
    assert issubclass(ProjectMemory, MemoryDataset) and issubclass(ProjectPickle, AbstractDataset)
    persisted = persisted_datasets({"a": {"type": kind}}, ["a"], own_package="tests")
    assert persisted == (set() if in_memory else {"a"})


def test_a_class_outside_the_projects_package_is_judged_by_its_name():
    catalog = {"a": {"type": f"{HERE}.ProjectMemory"}}
    assert persisted_datasets(catalog, ["a"], own_package="another_project") == {"a"}


def test_two_catch_all_patterns_are_an_error_as_kedro_makes_them():
    with pytest.raises(ConfigError, match=r"^the catalog: Multiple catch-all patterns"):
        persisted_datasets({"{a}": PICKLE, "{b}": MEMORY}, ["x"])


# --- transcoding families: `df` is persisted only when all of `df`, `df@pandas`, ... are ---


@settings(max_examples=300, deadline=None)
@given(
    st.sets(st.sampled_from(["a", "b", "a@pandas", "a@spark", "b@spark", "c@x", "d"])),
    st.data(),
)
def test_a_family_is_persisted_exactly_when_every_catalog_form_of_it_is(
    names: set[str], data: st.DataObject
) -> None:
    persisted = data.draw(st.sets(st.sampled_from(sorted(names)) if names else st.nothing()))
    forms: dict[str, set[str]] = {}
    for name in names:  # the definition, with Kedro's own transcoding split as the oracle
        forms.setdefault(compat.strip_transcoding(name), set()).add(name)
    expected = {family for family, found in forms.items() if found <= persisted}
    assert persisted_families(persisted, names) == expected
