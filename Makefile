# `make run` starts the app on the bundled model; `make test` runs the whole test suite.
# Both create .venv on first use and reinstall only when the requirements change.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint bench clean chromium

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Two heap arenas: the server's many threads otherwise grow its memory (core/engine/memory.py).
run: $(VENV)/.runtime
	MALLOC_ARENA_MAX=2 $(PY) -m streamlit run streamlit_app.py

# The browser tests drive Debian's chromium; install it when the machine lacks it.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

test: $(VENV)/.dev chromium
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(VENV)/.runtime
	$(PY) -m core bench ../shared/data/samples/v_Surfing_g10_c02.avi --repeat-to 60

clean:
	rm -rf $(VENV) .pytest_cache
