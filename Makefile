# The two commands of the README, plus bench. Both set up everything they need: a virtualenv
# in .venv with this project installed, and (through the tool itself) a local PostgreSQL.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[embedded,test,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/schema-tools db start
	$(BIN)/ralph run
	$(BIN)/ralph log
	$(BIN)/schema-tools status

test: $(STAMP)
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	-$(BIN)/schema-tools db stop
	rm -rf $(VENV) .schema_tools .ralph
