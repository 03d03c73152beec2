# Everyday targets. Every target builds the environment it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
# JupyterLab refuses to run as root unless told to (containers, CI).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test lint bench clean slides html vendor exercises grade

# The environment is rebuilt whenever a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

lab: $(STAMP)  ## start JupyterLab on the notebooks
	$(BIN)/jupyter lab --notebook-dir=. notebooks/01_entropy.ipynb --port=$(PORT) $(ALLOW_ROOT)

test: $(STAMP)  ## every test: unit, property, doctests, notebooks
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300 --durations=15

lint: $(STAMP)
	$(BIN)/ruff check itutils tests benchmarks tools

bench: $(STAMP)  ## speed and accuracy against the reference libraries (ONLY=name for one)
	$(BIN)/python -m benchmarks.run $(ONLY)

slides: $(STAMP)  ## each chapter as reveal.js slides in _build/slides (offline build)
	$(BIN)/python -m tools.build_site check slides

html: $(STAMP)  ## the course as a static site in _build/html (offline build)
	$(BIN)/python -m tools.build_site html

vendor:  ## local reveal.js, MathJax, require.js, jQuery (npm) so the pages view offline
	npm install --no-audit --no-fund --prefix _build/vendor \
	  reveal.js@4.0.2 mathjax@2.7.9 requirejs@2.3.7 jquery@3.7.1

exercises: $(STAMP)  ## regenerate exercises/ from solutions/ (nbgrader's own preprocessors)
	$(BIN)/python -m itutils.grading generate --solutions solutions --out exercises

OUT ?= grading-output
grade: $(STAMP)  ## grade a folder of notebooks: make grade SUBMISSIONS=dir [OUT=dir]
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=dir [OUT=dir]"; exit 2; }
	$(BIN)/python -m itutils.grading grade "$(SUBMISSIONS)" --out "$(OUT)" --solutions solutions

clean:
	rm -rf $(VENV) build *.egg-info _build test-artifacts grading-output
