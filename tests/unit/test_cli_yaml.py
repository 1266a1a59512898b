"""Bundle YAML is read as the Databricks CLI reads it, and kedro-dab's files are written so
the CLI reads every text back as text.

The expected values are the CLI's: its own loader tests on the YAML spec's examples 2.19-2.22
(`libs/dyn/yamlloader/yaml_spec_test.go`) and go-yaml v3's resolution of plain scalars, which
the CLI uses (`resolve.go`: only true/false are booleans, no sexagesimal numbers). PyYAML's
own reading, YAML 1.1, is shown beside them where it differs."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_dab.bundle import cli_yaml
from kedro_dab.bundle.render import split_generated, to_yaml
from kedro_dab.bundle.root import BundleRoot
from kedro_dab.errors import ConfigError

CLI_READS = [
    # example 2.19, integers
    ("12345", 12345, 12345),
    ("+12345", 12345, 12345),
    ("0o14", 12, "0o14"),
    ("0xC", 12, 12),
    ("012345", 12345, 5349),  # the CLI drops leading zeros; YAML 1.1 reads octal
    # example 2.20, floating point
    ("1.23015e+3", 1230.15, 1230.15),
    ("12.3015e+02", 1230.15, 1230.15),
    ("1230.15", 1230.15, 1230.15),
    ("-.inf", -math.inf, -math.inf),
    # example 2.21
    ("", None, None),
    ("[ true, false ]", [True, False], [True, False]),
    ("'012345'", "012345", "012345"),
    # example 2.22, timestamps: the CLI keeps their text
    ("2001-12-15T02:59:43.1Z", "2001-12-15T02:59:43.1Z", None),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00", None),
    ("2001-12-14 21:59:43.10 -5", "2001-12-14 21:59:43.10 -5", None),
    ("2002-12-14", "2002-12-14", None),
    # go-yaml v3's plain scalars
    ("yes", "yes", True),
    ("No", "No", False),
    ("on", "on", True),
    ("OFF", "OFF", False),
    ("True", True, True),
    ("12:30:45", "12:30:45", 45045),
    ("1e3", 1000.0, "1e3"),
    ("08", 8.0, "08"),
    ("-0755", -755, -493),
    ("1_000", 1000, 1000),
    (".5", 0.5, 0.5),
    ("~", None, None),
    ("NULL", None, None),
    ("15.4.x-scala2.12", "15.4.x-scala2.12", "15.4.x-scala2.12"),
]


@pytest.mark.parametrize(
    ("text", "cli", "pyyaml"), CLI_READS, ids=[c[0] or "empty" for c in CLI_READS]
)
def test_a_scalar_reads_as_the_databricks_cli_reads_it(text: str, cli: Any, pyyaml: Any) -> None:
    read = cli_yaml.load(f"v: {text}\n")["v"]
    assert repr(read) == repr(cli)
    if pyyaml is not None and repr(pyyaml) != repr(cli):
        assert repr(yaml.safe_load(f"v: {text}\n")["v"]) == repr(pyyaml)  # why this module exists


@pytest.mark.parametrize("text", ["1__0", "9223372036854775808", "1e999"])
def test_a_number_the_cli_cannot_parse_is_an_error_naming_its_line(text: str) -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match=f"invalid .* value: {text}") as exc:
        cli_yaml.load(f"a: 1\nb: {text}\n")
    assert exc.value.problem_mark is not None and exc.value.problem_mark.line == 1


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("~: 1\nnull: 2\n'': 3\n", ["~", "null", ""]),
        ("'1': 1\n1-2: 2\nyes: 3\n", ["1", "1-2", "yes"]),
    ],
    ids=["null forms", "texts that look like other things"],
)
def test_a_mapping_key_is_the_text_as_written(text: str, keys: list[str]) -> None:
    assert list(cli_yaml.load(text)) == keys


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: 1\n2024: x\n", "invalid key tag: !!int"),
        ("a: 1\n1.5: x\n", "invalid key tag: !!float"),
        ("a: 1\ntrue: x\n", "invalid key tag: !!bool"),
        ("a: 1\n2024-01-01: x\n", "invalid key tag: !!timestamp"),
        ("a: 1\n? [b]\n: x\n", "a key is not a scalar"),
        ("a: &x {b: 1}\nc:\n  <<: *x\n  <<: *x\n", "more than one merge key"),
    ],
    ids=["int", "float", "bool", "timestamp", "a sequence", "two merge keys"],
)
def test_a_key_the_cli_refuses_is_an_error_naming_its_line(text: str, problem: str) -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match=re.escape(problem)) as exc:
        cli_yaml.load(text)
    assert exc.value.problem_mark is not None and exc.value.problem_mark.line >= 1


def test_databricks_yml_is_read_as_the_cli_reads_it(tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle:\n  name: b\ntargets:\n  dev:\n    default: true\n    resources:\n"
        "      jobs:\n        j:\n          tags: {managed: yes, since: 2024-01-01}\n"
        "          max_concurrent_runs: 010\n",
        encoding="utf-8",
    )
    job = BundleRoot.read(tmp_path).data["targets"]["dev"]["resources"]["jobs"]["j"]
    assert job == {"tags": {"managed": "yes", "since": "2024-01-01"}, "max_concurrent_runs": 10}


def test_a_number_databricks_cannot_read_in_databricks_yml_is_one_line_naming_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "databricks.yml").write_text("bundle:\n  name: b\nx: 1__0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"databricks.yml: invalid YAML at line 3: .*1__0"):
        BundleRoot.read(tmp_path)


NUMBER_LIKE = st.text(alphabet="0123456789+-._eExob:~ ", min_size=1, max_size=8)


@settings(max_examples=500, deadline=None)
@given(st.one_of(NUMBER_LIKE, st.sampled_from([t for t, _, _ in CLI_READS]), st.text(max_size=8)))
def test_a_text_written_into_a_generated_file_reads_back_as_that_text_to_both_readers(
    text: str,
) -> None:
    _, body = split_generated(to_yaml({"value": text}))
    assert cli_yaml.load(body) == {"value": text}
    assert yaml.safe_load(body) == {"value": text}
