"""Test settings: the project's settings on a real PostgreSQL unless DATABASE_URL says otherwise."""

import hashlib
import os

os.environ.setdefault("SECRET_KEY", "test-secret-key")
# The ledger digests' signing key of the tests (tests/live.py's servers get it too).
os.environ.setdefault("LEDGER_SIGNING_KEY", "1f" * 32)
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rewards")

from rewards_project.settings import *  # noqa: F403

# The suite's racing threads share one process and its GIL: a thread may hold a row lock for
# many switch intervals, which a gunicorn worker never does. They wait as long as a command;
# the served tests (tests/live.py) run with the production default.
DB_LOCK_TIMEOUT_MS = 3_000
DATABASES["default"]["OPTIONS"]["options"] = postgres_session_options(  # noqa: F405
    statement_ms=DB_STATEMENT_TIMEOUT_MS,  # noqa: F405
    lock_ms=DB_LOCK_TIMEOUT_MS,
    idle_in_transaction_ms=DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,  # noqa: F405
)

# Each checkout on this machine gets its own test database, so two suites never collide.
DATABASES["default"].setdefault("TEST", {}).setdefault(  # noqa: F405
    "NAME",
    f"test_rewards_{hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]}",  # noqa: F405
)

# Tests open and close connections in threads; persistent ones would leak.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Templates render {% static %} without running collectstatic first.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

# The Redis database the tests may use (and clear): the throttle counters and the Celery
# broker of the worker test. Another checkout on this machine can pick another one.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
