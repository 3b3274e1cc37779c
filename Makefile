# One command each: `make demo` installs and serves the demo city; `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

.PHONY: install demo test bench
install: $(VENV)/.installed

demo: install
	$(VENV)/bin/gridsync demo

test: install
	$(PY) -m pytest -n auto

bench: install
	$(PY) bench/sync_throughput.py
