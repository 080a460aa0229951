# Two commands on a fresh machine:  `make demo` (set up + run the main job on the embedded sample)
# and `make test` (the test suite, which is also what CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; a bare `torch` would pull several GB of CUDA libraries.
TORCH_SPEC ?= torch==2.13.0
DEMO_CONFIG ?= eval/sample.yaml

.PHONY: setup demo test clean
setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test,backends]"
	touch $@

demo: setup
	$(BIN)/prosper-repro --config $(DEMO_CONFIG)

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

clean:
	rm -rf work reports .pytest_cache
