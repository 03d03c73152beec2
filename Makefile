# Everyday targets. Every target builds the environment it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
# JupyterLab refuses to run as root unless told to (containers, CI).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test lint bench clean

# The environment is rebuilt whenever a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

lab: $(STAMP)  ## start JupyterLab on the notebooks
	$(BIN)/jupyter lab --notebook-dir=. notebooks/01_entropy.ipynb --port=$(PORT) $(ALLOW_ROOT)

test: $(STAMP)  ## every test: unit, property, doctests, notebooks
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg --durations=15

lint: $(STAMP)
	$(BIN)/ruff check itutils tests benchmarks

bench: $(STAMP)  ## speed and accuracy against the reference libraries (ONLY=name for one)
	$(BIN)/python -m benchmarks.run $(ONLY)

clean:
	rm -rf $(VENV) build *.egg-info
