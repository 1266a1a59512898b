"""Which datasets are persisted, judged from catalog configuration alone."""

from __future__ import annotations

from kedro_dab.project import persisted_datasets


def test_declared_file_dataset_is_persisted_and_undeclared_is_not():
    catalog = {"a": {"type": "pandas.CSVDataset", "filepath": "a.csv"}}
    assert persisted_datasets(catalog, ["a", "b"]) == {"a"}


def test_declared_memory_dataset_is_not_persisted():
    catalog = {"a": {"type": "MemoryDataset"}, "b": {"type": "kedro.io.SharedMemoryDataset"}}
    assert persisted_datasets(catalog, ["a", "b"]) == set()


def test_cached_dataset_is_persisted_when_what_it_wraps_is():
    catalog = {
        "a": {"type": "CachedDataset", "dataset": {"type": "pickle.PickleDataset"}},
        "b": {"type": "CachedDataset", "dataset": {"type": "MemoryDataset"}},
    }
    assert persisted_datasets(catalog, ["a", "b"]) == {"a"}


def test_parameters_are_never_datasets():
    assert persisted_datasets({"params:x": {"type": "x.Y"}}, ["params:x", "parameters"]) == set()


def test_factory_pattern_makes_matching_names_persisted():
    catalog = {"{ns}.model": {"type": "pickle.PickleDataset", "filepath": "{ns}.pkl"}}
    assert persisted_datasets(catalog, ["a.model", "a.other"]) == {"a.model"}


def test_more_specific_pattern_wins_over_a_general_one():
    catalog = {
        "{name}_mem": {"type": "MemoryDataset"},
        "{name}": {"type": "pickle.PickleDataset", "filepath": "{name}.pkl"},
    }
    assert persisted_datasets(catalog, ["x_mem", "y"]) == {"y"}


def test_catch_all_pattern_comes_after_every_other_pattern():
    catalog = {
        "{anything}": {"type": "pickle.PickleDataset", "filepath": "{anything}.pkl"},
        "{a}.{b}": {"type": "MemoryDataset"},
    }
    assert persisted_datasets(catalog, ["ns.x", "plain"]) == {"plain"}


def test_explicit_entry_wins_over_a_pattern():
    catalog = {"{x}": {"type": "pickle.PickleDataset"}, "scratch": {"type": "MemoryDataset"}}
    assert persisted_datasets(catalog, ["scratch", "other"]) == {"other"}


def test_yaml_anchor_keys_are_not_datasets():
    catalog = {"_csv": {"type": "pandas.CSVDataset"}}
    assert persisted_datasets(catalog, ["_csv"]) == set()
