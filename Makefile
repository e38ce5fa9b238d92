# The README's two commands: `make build` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: build test lint previews bench serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# One install serves build and test; re-run only when the dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	@# Compiled once, as pip does for an installed package (an editable one is not, and
	@# PYTHONDONTWRITEBYTECODE would keep every run compiling flyer's modules again).
	$(BIN)/python -m compileall -q src/flyer
	@$(BIN)/python -c "import weasyprint" 2>/dev/null || { \
	  echo "WeasyPrint ne trouve pas Pango : voir « Installation » dans README.md"; exit 1; }
	touch $@

build: $(STAMP)
	$(BIN)/flyer build

# The web app: opens the browser on http://127.0.0.1:8000 (Ctrl-C to stop).
serve: $(STAMP)
	$(BIN)/flyer serve

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

# PNG previews for the README, rendered from a fresh build.
previews: $(STAMP)
	$(BIN)/flyer build --out $(VENV)/previews-build
	$(BIN)/python bench/previews.py $(VENV)/previews-build docs

bench: $(STAMP)
	$(BIN)/python bench/build.py

clean:
	rm -rf output $(VENV)
