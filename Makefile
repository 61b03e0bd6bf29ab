# The two commands of the README, plus bench. Both set up everything they need: a virtualenv
# in .venv with this project installed, and (through the tool itself) a local PostgreSQL.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Test workers: one per core, at most 4 (each starts its own PostgreSQL; the tests wait on the
# server more than they compute, so two cores run two workers well). JOBS=1 runs serially.
JOBS   ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: demo test bench clean system-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[embedded,test,bench]'
	$(BIN)/python -m compileall -q schema_tools ralph  # an editable install has no byte-code of its own
	touch $(STAMP)

# The demo works on its own copy of the stories and a log of its own (.ralph/demo/): the checkout's
# ralph/stories.toml and progress.log stay as committed, and its log shows this run only.
demo: $(STAMP)
	$(BIN)/schema-tools db start
	rm -rf .ralph/demo && mkdir -p .ralph/demo && cp ralph/stories.toml .ralph/demo/stories.toml
	$(BIN)/ralph run --stories .ralph/demo/stories.toml --log .ralph/demo/progress.log
	$(BIN)/ralph log --strict .ralph/demo/progress.log
	$(BIN)/schema-tools status

# mypy --strict twice: the packages ([tool.mypy] strict = true), then the tests (the packages' own
# errors silenced there: they are the first run's business), each with a cache of its own.
# system-deps comes first: a missing system package is said within seconds, before any install.
test: system-deps $(STAMP)
	$(BIN)/python -m mypy
	$(BIN)/python -m mypy --strict --follow-imports=silent --cache-dir .mypy_cache/tests tests
	$(BIN)/python -m pytest -n $(JOBS)

# What the suite needs beyond Python, as command:package. bubblewrap: ralph run puts the agent in
# it, and the tests that play a hostile agent need it; chromium: the report test renders the HTML
# report headless. Tests install nothing: as root with apt-get they are installed here, otherwise
# one line names the command to run.
SYSTEM_DEPS := bwrap:bubblewrap chromium:chromium
BROWSERS    := chromium chromium-browser google-chrome-stable google-chrome
system-deps:
	@missing=""; for dep in $(SYSTEM_DEPS); do \
	  cmd=$${dep%%:*}; pkg=$${dep#*:}; found=""; \
	  if [ "$$cmd" = chromium ]; then for b in $(BROWSERS); do command -v $$b >/dev/null 2>&1 && found=1; done; \
	  else command -v $$cmd >/dev/null 2>&1 && found=1; fi; \
	  [ -n "$$found" ] || missing="$$missing $$pkg"; done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing$$missing (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	else echo "make test needs$$missing: sudo apt-get install -y$$missing (or your system's packages), then make test again"; exit 1; fi

# Byte-code first: with PYTHONDONTWRITEBYTECODE set (as on these machines), sources edited since the
# install would be compiled again by every process a benchmark times.
bench: $(STAMP)
	$(BIN)/python -m compileall -q schema_tools ralph
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	-$(BIN)/schema-tools db stop
	rm -rf $(VENV) .schema_tools .ralph
