# Two commands for a new user:  make demo  |  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build of PyTorch is pinned here only (pyproject declares torch>=2.2 for users). It is
# repeated on the line that installs the extras, so that nothing they bring (Lightning,
# transformers, accelerate) can swap it for a newer, multi-GB CUDA build.
TORCH_PIN := torch==2.13.0

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q $(TORCH_PIN)
	$(BIN)/python -m pip install -q $(TORCH_PIN) -e '.[nn,viz]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q $(TORCH_PIN)
	$(BIN)/python -m pip install -q $(TORCH_PIN) -e '.[dev,nn,viz]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/hyperknob tune digits --trials 30 --study demo-digits

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
