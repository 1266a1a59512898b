# Two commands do all set-up on a fresh machine:
#   make example   init, plan, bundle, validate, a local run and one served request of
#                  examples/spaceflights (no workspace)
#   make test      lint (ruff, mypy) + the whole test suite under Kedro 1.x, then the project
#                  tests under 0.19
PYTHON ?= python3
VENV ?= .venv
KEDRO ?= kedro>=1.0,<2
BIN := $(VENV)/bin
SHARED_SCHEMA := $(abspath ../shared/databricks/bundle_schema.json)

export KEDRO_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
ifneq ($(wildcard $(SHARED_SCHEMA)),)
export KEDRO_DAB_BUNDLE_SCHEMA ?= $(SHARED_SCHEMA)
endif

.PHONY: install example test test-kedro-019 test-kedro-oldest test-old-kedro lint
.DEFAULT_GOAL := test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e ".[test]" "$(KEDRO)"
	touch $@

install: $(VENV)/.installed

example: install
	cd examples/spaceflights && ../../$(BIN)/kedro dab init
	cd examples/spaceflights && ../../$(BIN)/kedro dab plan
	cd examples/spaceflights && ../../$(BIN)/kedro dab bundle
	cd examples/spaceflights && ../../$(BIN)/kedro dab validate
	cd examples/spaceflights && ../../$(BIN)/kedro dab run --local --env base
	cd examples/spaceflights && ../../$(BIN)/python ../serve_once.py price-shuttle \
		requests/price-shuttle.json requests/price-shuttle-full-price.json -- --env base

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Two workers, one test file each at a time (module fixtures are built once); the slowest
# tests are listed at the end of each run.
PYTEST_WORKERS ?= -n 2 --dist loadfile --durations=15

test: lint
	$(BIN)/python -m pytest $(PYTEST_WORKERS)
	$(MAKE) test-kedro-019
	$(MAKE) test-kedro-oldest
	$(MAKE) test-old-kedro

# The project tests again, in a second environment with the latest Kedro 0.19.
test-kedro-019:
	$(MAKE) install VENV=.venv-kedro019 KEDRO="kedro>=0.19.9,<0.20"
	.venv-kedro019/bin/python -m pytest $(PYTEST_WORKERS) -m project tests

# The oldest Kedro kedro-dab supports: the project tests that lean most on Kedro's own API
# (reading projects, the runner, hooks, the catalog, the CLI's exit codes).
OLDEST_KEDRO_TESTS := tests/project/test_kedro_projects_support.py tests/project/test_kedro_view.py \
	tests/project/test_task_env.py tests/project/test_build.py tests/project/test_quiet_output.py \
	tests/simulation tests/persist tests/reading tests/workflows tests/serving
test-kedro-oldest:
	$(MAKE) install VENV=.venv-kedro-oldest KEDRO="kedro==0.19.9"
	.venv-kedro-oldest/bin/python -m pytest $(PYTEST_WORKERS) -m project $(OLDEST_KEDRO_TESTS)

# `kedro dab` on a Kedro older than supported (0.19.3) is refused in one line.
test-old-kedro: install
	test -x .venv-oldkedro/bin/python || $(PYTHON) -m venv .venv-oldkedro
	$(BIN)/uv pip install --python .venv-oldkedro/bin/python --quiet "kedro==0.19.3"
	$(BIN)/uv pip install --python .venv-oldkedro/bin/python --quiet --no-deps -e .
	KEDRO_DAB_OLD_KEDRO=.venv-oldkedro/bin/kedro $(BIN)/python -m pytest tests/project/test_old_kedro.py
