# Everything starts from nothing: `make run` (local mode, end to end) and `make test` create the venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.py | sha1sum | cut -c1-12)
# checkov pins boto3==1.35.x, which the package cannot use: it gets a virtualenv of its own (tests find it there).
IAC_VENV ?= .venv-iac
CHECKOV := $(IAC_VENV)/bin/checkov
PYTEST_ARGS ?=

.PHONY: install test test-fast lint run golden container-test clean

install: $(STAMP) $(CHECKOV)

$(CHECKOV): requirements-iac.txt
	$(PYTHON) -m venv $(IAC_VENV)
	$(IAC_VENV)/bin/python -m pip install --quiet -r requirements-iac.txt
	touch $@

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel setuptools
	$(BIN)/python -m pip install --quiet -e '.[local,dev]'
	rm -f $(VENV)/.installed-* && touch $@

lint: install
	$(BIN)/ruff check pipelines steps containers tests benchmarks seed_code
	$(BIN)/lint-imports
	$(BIN)/mypy pipelines steps containers

## The default test run: everything but the Docker image test (run that with `make container-test`).
test: lint
	$(BIN)/python -m pytest -m "not container" $(PYTEST_ARGS)

## Skip the slow (training, end-to-end) tests while iterating.
test-fast: lint
	$(BIN)/python -m pytest -m "not container and not slow" $(PYTEST_ARGS)

container-test: install
	$(BIN)/python -m pytest -m container -v

## Local mode: sample data -> PrepareData -> TrainYOLO -> EvaluateYOLO -> CheckQuality -> RegisterYOLO -> endpoint.
run: install
	$(BIN)/yolo-pipeline run --local

## Regenerate the golden definition after a deliberate change (review the diff).
golden: install
	$(BIN)/python -m tests.golden

clean:
	rm -rf $(VENV) $(IAC_VENV) .yolo-pipeline .pytest_cache
