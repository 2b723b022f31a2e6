# The README's two commands: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite lint format venv chromium screenshots

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Development server on SQLite unless DATABASE_URL is set; prints tokens and a demo customer.
run: venv
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --no-input -v 0
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The browser tests drive Debian's Chromium; no browser is ever downloaded.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

# The whole suite on PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/rewards).
test: venv chromium
	$(BIN)/pytest

# Refresh docs/rewards-page-desktop.png and docs/rewards-page-phone.png.
screenshots: venv chromium
	$(BIN)/pytest -m screenshots

# The API flow tests on the embedded SQLite default.
test-sqlite: venv
	DATABASE_URL=sqlite:///$(CURDIR)/.pytest-sqlite.sqlite3 $(BIN)/pytest -m flow

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
