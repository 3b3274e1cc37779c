# One command each: `make demo` installs and serves the demo city; `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

# Translations (gettext catalogues): `make messages` extracts the words and updates every .po;
# translate the new entries, then `make compile` (the .mo files are committed, and `make
# install` compiles them again so a fresh clone never runs on stale ones).
PYBABEL := $(VENV)/bin/pybabel
SERVER_TR := server/translations
SDK_TR := client_sdk/locale
KEYWORDS := -k _ -k N_ -k gettext -k ngettext:1,2 -k lazy_gettext -k _l

.PHONY: install demo test bench messages compile
install: $(VENV)/.installed
	@$(MAKE) -s compile

messages: $(VENV)/.installed
	$(PYBABEL) extract -F babel.cfg $(KEYWORDS) --no-location --sort-output -o $(SERVER_TR)/messages.pot .
	$(PYBABEL) update -i $(SERVER_TR)/messages.pot -d $(SERVER_TR) --no-fuzzy-matching
	$(PYBABEL) extract -F babel-sdk.cfg $(KEYWORDS) --no-location --sort-output -o $(SDK_TR)/fieldsync.pot .
	$(PYBABEL) update -D fieldsync -i $(SDK_TR)/fieldsync.pot -d $(SDK_TR) --no-fuzzy-matching

compile: $(VENV)/.installed
	$(PYBABEL) compile -d $(SERVER_TR)
	$(PYBABEL) compile -D fieldsync -d $(SDK_TR)

# `make demo PORT=5001` serves on another port
PORT ?= 5000
demo: install
	$(VENV)/bin/gridsync demo --port $(PORT)

test: install
	$(PY) -m pytest -n auto

bench: install
	$(PY) bench/sync_throughput.py
