"""A real gunicorn serving the project against the test database, for what only a real
HTTP server shows: chunked bodies, odd charsets before Django parses anything,
production mode (DEBUG=0) started the documented way (static files collected first)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET_KEY = os.environ.get("SECRET_KEY", "test-secret-key")
TEST_LEDGER_SIGNING_KEY = os.environ.get("LEDGER_SIGNING_KEY", "1f" * 32)
# The Python of a venv with requirements.txt alone (`make test` makes one): what a production
# worker and beat have, so nothing from the test tools may be needed to run them.
RUNTIME_PYTHON = os.environ.get("RUNTIME_PYTHON") or sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(name: str | None = None) -> str:
    """A URL of the tests' PostgreSQL server (TCP, or the embedded server's Unix socket, whose
    host is a folder), for database ``name`` (default: the test database itself)."""
    s = connection.settings_dict
    name = name or s["NAME"]
    host = s["HOST"] or s["OPTIONS"].get("host") or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{s['USER']}@/{name}?host={host}"
    return f"postgres://{s['USER']}@{host}:{s['PORT'] or 5432}/{name}"


def live_database_url() -> str:
    """The URL of the database the tests are using."""
    return database_url()


def production_environment(static_root: Path, **extra: str) -> dict[str, str]:
    """The environment of a production start (DEBUG off) against the test database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rewards_project.settings",
        "DATABASE_URL": live_database_url(),
        "SECRET_KEY": TEST_SECRET_KEY,
        "LEDGER_SIGNING_KEY": TEST_LEDGER_SIGNING_KEY,
        "DEBUG": "0",
        "STATIC_ROOT": str(static_root),
        "THROTTLE_APPLICATION_RATE": "",
        "THROTTLE_CUSTOMER_RATE": "",
        **extra,
    }


def collectstatic(static_root: Path) -> None:
    """What the documented start (`make serve`, the Dockerfile) runs before gunicorn."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=production_environment(static_root),
        check=True,
        timeout=120,
    )


@contextmanager
def gunicorn_serving(
    static_root: Path, *, env: dict[str, str] | None = None, workers: int = 1, log_path: Path | None = None
) -> Iterator[str]:
    """Start gunicorn with the project's config; yields its base URL; stops it after.

    With ``log_path``, everything the server prints goes there."""
    port = free_port()
    environment = production_environment(
        static_root, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS=str(workers), **(env or {})
    )
    log = open(log_path, "w") if log_path else None  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "rewards_project.wsgi:application"],
        cwd=ROOT,
        env=environment,
        stdout=log or subprocess.DEVNULL,
        stderr=log or subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log is not None:
            log.close()


def wait_until_up(base: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stderr.read()[-3000:] if process.stderr else "see its log file"
            raise RuntimeError(f"gunicorn exited {process.returncode}: {output}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer /healthz in time")


@contextmanager
def edge_serving(
    static_root: Path, *, workers: int = 2, env: dict[str, str] | None = None, run_dir: Path | None = None
) -> Iterator[str]:
    """What `make serve` runs (deploy/serve.sh: gunicorn behind HAProxy) against the test
    database; yields the edge's base URL and stops both after. ``run_dir``: its SERVE_RUN_DIR
    (default a temporary folder, removed after)."""
    port = free_port()
    keep_run_dir = run_dir is not None
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="serve-"))
    environment = production_environment(
        static_root,
        HOST="127.0.0.1",
        PORT=str(port),
        PYTHON=sys.executable,
        SERVE_RUN_DIR=str(run_dir),
        GUNICORN_WORKERS=str(workers),
        **(env or {}),
    )
    log_path = run_dir / "serve.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            ["bash", str(ROOT / "deploy" / "serve.sh")],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_up(base, process)
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n{log_path.read_text()[-3000:]}") from None
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if not keep_run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)


@contextmanager
def celery_process(*args: str, broker: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A Celery process (``worker --pool solo``, ``beat``…) of the production install, on the
    test database and ``broker``; stopped after (terminated, killed if it will not stop)."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rewards_project.settings",
        "DATABASE_URL": live_database_url(),
        "SECRET_KEY": TEST_SECRET_KEY,
        "CELERY_BROKER_URL": broker,
        **(env or {}),
    }
    process = subprocess.Popen(
        [RUNTIME_PYTHON, "-m", "celery", "-A", "rewards_project", *args, "--loglevel", "WARNING"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(condition: Callable[[], object], seconds: float) -> bool:
    """Whether ``condition()`` came true within ``seconds`` (polled every 50 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@contextmanager
def slow_clients(base: str, count: int = 16) -> Iterator[list[socket.socket]]:
    """``count`` connections that never finish their request: half stop inside the headers,
    half inside a body they announced. Closed after."""
    host, port = base.removeprefix("http://").split(":")
    sockets = []
    try:
        for index in range(count):
            sock = socket.create_connection((host, int(port)), timeout=10)
            if index % 2:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            else:
                sock.sendall(
                    b"POST /rewards-api/earn-points/ HTTP/1.1\r\nHost: x\r\n"
                    b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user_id": '
                )
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()
