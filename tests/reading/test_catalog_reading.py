"""Reading the catalog fast gives exactly what the project's own config loader gives."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.kedro_projects import kedro_environ

pytestmark = pytest.mark.project

COMPARE = """
import json
from pathlib import Path
from kedro_dab import compat, kedro_config
root = Path('.').resolve()
compat.bootstrap(root)
out = {}
for env in ("databricks", "base", "prod"):
    loader = kedro_config.config_loader(root, env)
    fast = kedro_config.catalog_config(loader, env)
    slow = kedro_config.load_config_key(kedro_config.config_loader(root, env), "catalog")
    out[env] = [sorted(fast) == sorted(slow),
                {k: (v or {}).get("type") for k, v in fast.items()} ==
                {k: (v or {}).get("type") for k, v in slow.items()},
                sorted(fast)]
print(json.dumps(out))
"""


def test_fast_catalog_reading_agrees_with_the_config_loader(project_factory):
    project = project_factory(
        catalog=(
            "_pickle: &pickle\n  type: pickle.PickleDataset\n"
            "a:\n  <<: *pickle\n  filepath: data/a.pkl\n"
            "'{ns}.model':\n  type: pickle.PickleDataset\n  filepath: data/{ns}.pkl\n"
            "mem:\n  type: MemoryDataset\n"
        ),
        envs={
            "base": {
                "catalog/extra.yml": "b:\n  type: text.TextDataset\n  filepath: data/b.txt\n",
                "catalog_dated.yml": "2024-01-01:\n  type: pickle.PickleDataset\n  filepath: d\n",
                "catalog_more.json": '{"c": {"type": "json.JSONDataset", "filepath": "c.json"}}',
            },
            "prod": {"catalog.yml": "mem:\n  type: pickle.PickleDataset\n  filepath: m.pkl\n"},
        },
    )
    result = subprocess.run(
        [sys.executable, "-c", COMPARE],
        cwd=project,
        capture_output=True,
        text=True,
        env=kedro_environ(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    for env, (same_names, same_types, names) in outcome.items():
        assert same_names and same_types, env
        assert "_pickle" not in names
    assert {"a", "b", "c", "mem", "{ns}.model", "2024-01-01"} <= set(outcome["prod"][2])
