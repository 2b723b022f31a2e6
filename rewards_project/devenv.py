"""`make run`'s address file: how a second terminal reaches the service `make run` is running.

`make run` (deploy/run.py) writes ``.run/dev.env`` while it runs, with what its own processes
run with (the embedded PostgreSQL's socket URL, the broker, DEBUG), and removes it when it
stops. ``manage.py`` and the ``celery`` command read it only when ``DATABASE_URL`` is not set,
and say so on stderr: a process given its own database never reads it, and neither does a web
server (wsgi.py), so production settings never depend on it.
"""

import os
import secrets
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / ".run"
DEV_ENV = RUN_DIR / "dev.env"
# What a process needs to act on the same service as `make run`'s own processes.
SHARED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DEBUG",
    "WEBHOOK_ALLOW_PRIVATE",
    "EMAIL_URL",
    "MESSAGES_BASE_URL",
    "LEDGER_SIGNING_KEY",
)
PID_KEY = "MAKE_RUN_PID"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rewards"
# `make run`'s ledger signing key, kept between runs so its digests keep verifying.
DEV_SIGNING_KEY = RUN_DIR / "ledger-signing-key"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def dev_env_write(values: Mapping[str, str], *, pid: int, path: Path = DEV_ENV) -> None:
    """Write the file (readable by its owner only: a DATABASE_URL may hold a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Written by `make run` while it runs, removed when it stops. manage.py and the Celery",
        "# worker read it when DATABASE_URL is not set (rewards_project/devenv.py).",
        f"{PID_KEY}={pid}",
        *(f"{key}={values[key]}" for key in SHARED if values.get(key)),
    ]
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)


def development_signing_key(path: Path = DEV_SIGNING_KEY) -> tuple[str, bool]:
    """`make run`'s LEDGER_SIGNING_KEY: the one kept in ``path``, or a new one (an Ed25519 seed
    is 32 random bytes) written there for its owner alone. Returns it and whether it is new."""
    try:
        key = path.read_text().strip()
    except OSError:
        key = ""
    if len(key) == 64 and all(c in "0123456789abcdefABCDEF" for c in key):
        return key, False
    key = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(key + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)
    return key, True


def dev_env_remove(*, pid: int, path: Path = DEV_ENV) -> None:
    """Remove the file if this ``make run`` wrote it (not one another started since)."""
    values = dev_env_read(path)
    if values is not None and values.get(PID_KEY) == str(pid):
        path.unlink(missing_ok=True)


def dev_env_read(path: Path = DEV_ENV) -> dict[str, str] | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values[key.strip()] = value.strip()
    return values


def _running(pid: str | None) -> bool:
    if not (pid or "").isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def dev_env_live(path: Path = DEV_ENV) -> dict[str, str] | None:
    """The file's values while the ``make run`` that wrote it is running, else None."""
    values = dev_env_read(path)
    if values is None or not _running(values.get(PID_KEY)):
        return None
    return values


def dev_env_load(path: Path = DEV_ENV, environ: MutableMapping[str, str] = os.environ) -> bool:
    """With no DATABASE_URL, take make run's database and broker from the file (a variable
    already set wins), saying so in one line on stderr. True when it did."""
    if environ.get("DATABASE_URL") or not path.exists():
        return False
    values = dev_env_live(path)
    if values is None:
        print(f"Ignoring {_shown(path)}: the `make run` that wrote it is no longer running.", file=sys.stderr)
        return False
    for key in SHARED:
        if key in values:
            environ.setdefault(key, values[key])
    print(
        f"DATABASE_URL is not set: using the database and broker of `make run` ({_shown(path)}).",
        file=sys.stderr,
    )
    return True


def database_hint(error: str, *, from_dev_env: bool, url: str | None) -> str:
    """What to do when the database cannot be used, for the way this process found it:
    DATABASE_URL given, make run's file, or neither (the settings' default)."""
    if from_dev_env:
        return (
            f"Cannot use the database of `make run` ({_shown(DEV_ENV)}): {error}. "
            "Is `make run` still running? Otherwise set DATABASE_URL."
        )
    if url:
        hint = ""
        if "does not exist" in error:
            parts = urlsplit(url)
            name = parts.path.lstrip("/") or "<name>"
            host = parse_qs(parts.query).get("host", [parts.hostname or "127.0.0.1"])[0]
            where = f"-h {host} -p {parts.port or 5432} -U {parts.username or 'postgres'}"
            hint = (
                f" Create it first (`createdb {where} {name}`), or unset DATABASE_URL and use `make run`,"
                " which starts an embedded PostgreSQL (a second terminal then finds it by itself)."
            )
        return f"Cannot use the database in DATABASE_URL: {error}.{hint}"
    return (
        f"Cannot use the database: {error}. DATABASE_URL is not set and no `make run` is running, so this"
        f" tried the default, {DEFAULT_DATABASE_URL}, which `make run` does not use. Start `make run`"
        " (another terminal then finds its database by itself), or set DATABASE_URL."
    )
