# Everyday targets. Every target builds the environment it needs first.
#
# Two environments, both from the pinned files:
#   .venv      the learner's: requirements.txt only (what Binder installs too).
#              `make lab` runs JupyterLab from it, so no instructor or test tool
#              (nbgrader's menu, panels and buttons) appears in a learner's lab.
#   .venv-dev  everything else: requirements-dev.txt (pytest, nbval, nbgrader,
#              playwright, ruff, ...) on top of a copy of .venv, so the big
#              packages (torch) are downloaded and unpacked once.
# `make test`, `grade`, `exercises`, `bench`, `slides`, `html`, `lint` use .venv-dev.
PYTHON ?= python3
VENV := .venv
DEV := .venv-dev
BIN := $(VENV)/bin
DEVBIN := $(DEV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(DEV)/.installed
PORT ?= 8888
# JupyterLab refuses to run as root unless told to (containers, CI).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: lab test lint bench clean slides html vendor exercises grade notebooks

# The learner's environment, made afresh whenever a requirements file changes:
# installing into an old one would keep packages the file no longer lists (an
# environment made by an older Makefile held every instructor tool).
$(STAMP): requirements.txt constraints.txt pyproject.toml tools/jupyterlab-settings/course.json
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip
	$(BIN)/python -m pip install $(PIP_QUIET) -r requirements.txt -c constraints.txt
	touch $(STAMP)

# The developer's environment: a copy of the learner's (paths in its scripts
# and activate files re-pointed at the copy), plus requirements-dev.txt.
$(DEVSTAMP): $(STAMP) requirements-dev.txt
	rm -rf $(DEV)
	cp -a $(VENV) $(DEV)
	rm -f $(DEV)/.installed
	grep -rlI --null "$(CURDIR)/$(VENV)" $(DEVBIN) | xargs -0 -r \
	  sed -i "s|$(CURDIR)/$(VENV)/|$(CURDIR)/$(DEV)/|g; s|$(CURDIR)/$(VENV)\"|$(CURDIR)/$(DEV)\"|g; s|$(CURDIR)/$(VENV)'|$(CURDIR)/$(DEV)'|g; s|$(CURDIR)/$(VENV)$$|$(CURDIR)/$(DEV)|g"
	$(DEVBIN)/python -m pip install $(PIP_QUIET) -r requirements-dev.txt -c constraints.txt
	touch $(DEVSTAMP)

lab: $(STAMP)  ## start JupyterLab on the notebooks, from the learner's environment
	$(BIN)/python -m jupyter lab --notebook-dir=. notebooks/01_entropy.ipynb --port=$(PORT) $(ALLOW_ROOT)

# Two pytest workers (the course's 2-core machines); a file's tests stay in one
# worker, so a notebook's cells run in order in one kernel.
TEST_WORKERS ?= 2
test: $(DEVSTAMP)  ## every test: unit, property, doctests, notebooks, browser
	$(DEVBIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300 --durations=15

lint: $(DEVSTAMP)
	$(DEVBIN)/ruff check itutils tests benchmarks tools

bench: $(DEVSTAMP)  ## speed and accuracy against the reference libraries (ONLY=name for one)
	$(DEVBIN)/python -m benchmarks.run $(ONLY)

# Re-run notebooks the way nbval will (NB=notebooks/01_entropy.ipynb for one).
NB ?= notebooks/[0-9]*.ipynb
notebooks: $(DEVSTAMP)  ## execute notebooks in place, widget state stripped
	$(DEVBIN)/python -m tools.execute_notebook $(NB)

slides: $(DEVSTAMP)  ## each chapter as reveal.js slides in _build/slides (offline build)
	$(DEVBIN)/python -m tools.build_site check slides

html: $(DEVSTAMP)  ## the course as a static site in _build/html (offline build)
	$(DEVBIN)/python -m tools.build_site html

vendor:  ## local reveal.js, MathJax, require.js, jQuery (npm) so the pages view offline
	npm install --no-audit --no-fund --prefix _build/vendor \
	  reveal.js@4.0.2 mathjax@2.7.9 requirejs@2.3.7 jquery@3.7.1

exercises: $(DEVSTAMP)  ## regenerate exercises/ from solutions/ (nbgrader's own preprocessors)
	$(DEVBIN)/python -m itutils.grading generate --solutions solutions --out exercises

OUT ?= grading-output
# Extra options for the grader, e.g. GRADE_FLAGS="--workers 2 --exercise 01_entropy".
GRADE_FLAGS ?=
grade: $(DEVSTAMP)  ## grade a folder of notebooks: make grade SUBMISSIONS=dir [OUT=dir] [GRADE_FLAGS=...]
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=dir [OUT=dir]"; exit 2; }
	$(DEVBIN)/python -m itutils.grading grade "$(SUBMISSIONS)" --out "$(OUT)" --solutions solutions $(GRADE_FLAGS)

clean:
	rm -rf $(VENV) $(DEV) build *.egg-info _build test-artifacts grading-output
