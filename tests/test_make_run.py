"""`make run` from a fresh copy of the project, as a newcomer runs it: with no DATABASE_URL and no
CELERY_BROKER_URL (no Redis needed) it starts the embedded PostgreSQL, the server, and the Celery
worker and beat on a broker in .run/broker/; a webhook to a local receiver gets a signed delivery
within 15 s of an earn; in a second shell, `manage.py createsuperuser` and `make worker` find
make run's database and broker by themselves; Ctrl-C stops everything it started."""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg2
import pytest

from tests.live import ROOT, free_port
from tests.loyalty.test_webhooks import Receiver, verify_signature

pytestmark = pytest.mark.skipif(not shutil.which("make") or not shutil.which("git"), reason="needs make and git")

# The venv `make run` uses: the production install (requirements.txt alone) when there is one.
VENV = Path(os.environ["RUNTIME_PYTHON"]).parent.parent if os.environ.get("RUNTIME_PYTHON") else Path(sys.prefix)


def fresh_copy(target: Path) -> Path:
    """The project's files as a clone has them (what git tracks, uncommitted changes included)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / os.fsdecode(name)
        if source.is_file():
            (target / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / os.fsdecode(name))
    return target


def newcomer_environment(**extra: str) -> dict[str, str]:
    """A shell's environment with nothing of this project's set: no DATABASE_URL, no broker."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    return {**{key: os.environ[key] for key in keep if key in os.environ}, **extra}


def make(clone: Path, target: str, log: Path, **variables: str) -> subprocess.Popen:
    """`make TARGET` in its own session (as a terminal would run it), with the venv already built."""
    arguments = [f"{name}={value}" for name, value in {"VENV": str(VENV), **variables}.items()]
    with open(log, "w") as output:
        return subprocess.Popen(
            ["make", "--no-print-directory", "-o", str(VENV / ".runtime"), target, *arguments],
            cwd=clone,
            env=newcomer_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(condition: Callable[[], object], seconds: float, what: str, log: Path | None = None) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {seconds} s" + (f":\n{log.read_text()[-4000:]}" if log else ""))


def call(base: str, path: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def processes_of(clone: Path) -> list[psutil.Process]:
    """Every process running from the copy (by working directory or command line)."""
    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        cmdline, cwd = process.info["cmdline"] or [], process.info["cwd"] or ""
        if cwd.startswith(str(clone)) or any(str(clone) in part for part in cmdline):
            found.append(process)
    return found


def stop_group(process: subprocess.Popen, signum: int, seconds: float) -> int | None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
    try:
        return process.wait(seconds)
    except subprocess.TimeoutExpired:
        return None


@pytest.fixture
def clone() -> Iterator[Path]:
    # Not under pytest's base folder: as root the embedded server runs as another user, who
    # must traverse the path, and pytest keeps its base folder private (0700).
    copy = fresh_copy(Path(tempfile.mkdtemp(prefix="make-run-")) / "clone")
    yield copy
    for process in processes_of(copy):  # only if the test failed half-way
        process.kill()
    shutil.rmtree(copy.parent, ignore_errors=True)


def test_make_run_alone_delivers_webhooks_and_a_second_shell_finds_it(clone, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "make-run.log"
    receiver = Receiver()
    run = make(clone, "run", log, PORT=str(port))
    try:
        wait_for(lambda: answers(f"{base}/healthz"), 120, "make run serving", log)
        text = log.read_text()
        token = re.search(r"'Demo shop' token \(Can_Modify_Orders\): (\S+)", text)[1]
        database_url = re.search(r"Embedded PostgreSQL .*DATABASE_URL=(\S+)", text)[1]

        # The broker is the filesystem in .run/broker/: Redis is never asked.
        dev_env = dict(
            line.split("=", 1) for line in (clone / ".run" / "dev.env").read_text().splitlines() if "=" in line
        )
        assert dev_env["DATABASE_URL"] == database_url
        assert dev_env["CELERY_BROKER_URL"] == f"filesystem://localhost{clone}/.run/broker"
        assert (clone / ".run" / "broker" / "queue").is_dir()
        # A development key signs the ledger's digests, said so, and a second shell has it too.
        assert "Ledger digests: signed with a development key, made now in .run/ledger-signing-key" in text
        assert dev_env["LEDGER_SIGNING_KEY"] == (clone / ".run" / "ledger-signing-key").read_text().strip()

        webhook = call(base, "/loyalty-api/webhooks", token, {"url": receiver.url, "event_types": ["points.earned"]})
        earned_at = time.monotonic()
        call(
            base, "/rewards-api/earn-points/", token, {"user_id": 4242, "points_earned": 25, "reward_description": "x"}
        )
        wait_for(lambda: receiver.received, 15, "a delivery", log)
        assert time.monotonic() - earned_at < 15
        headers, body = receiver.received[0]
        assert verify_signature(webhook["secret"], headers["X-Loyalty-Signature"], body)
        event = json.loads(body)
        assert event["type"] == "points.earned"
        assert event["user_id"] == 4242
        assert event["data"]["reward"]["points_earned"] == 25

        # A second shell: manage.py reaches make run's database, and says how.
        created = subprocess.run(
            [str(VENV / "bin" / "python"), "manage.py", "createsuperuser", "--no-input", "--username", "newcomer"],
            cwd=clone,
            env=newcomer_environment(DJANGO_SUPERUSER_PASSWORD="a-long-password-1", DJANGO_SUPERUSER_EMAIL="n@x.io"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        assert "DATABASE_URL is not set: using the database and broker of `make run` (.run/dev.env)." in created.stderr
        with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT is_superuser FROM auth_user WHERE username = 'newcomer'")
            assert cursor.fetchall() == [(True,)]
        connection.close()

        # ... and `make worker` joins make run's broker as one more worker, without a second beat.
        worker_log = tmp_path / "make-worker.log"
        worker = make(clone, "worker", worker_log)
        try:
            wait_for(lambda: "ready." in worker_log.read_text(), 60, "make worker ready", worker_log)
            worker_text = worker_log.read_text()
            assert "this is one more worker, without beat" in worker_text
            assert "using the database and broker of `make run` (.run/dev.env)" in worker_text
            assert re.search(
                rf"Connected to filesystem://\S*@localhost{re.escape(str(clone))}/\.run/broker\n", worker_text
            )
            assert "beat: Starting" not in worker_text
        finally:
            assert stop_group(worker, signal.SIGINT, 30) is not None, worker_log.read_text()[-3000:]

        # Ctrl-C: the server, the worker, beat and PostgreSQL stop; the address file goes.
        assert stop_group(run, signal.SIGINT, 45) is not None, log.read_text()[-3000:]
        assert wait_for(lambda: not processes_of(clone), 10, "every process gone", log)
        assert not (clone / ".pgdata" / "postmaster.pid").exists()
        assert not (clone / ".run" / "dev.env").exists()
    finally:
        receiver.close()
        if run.poll() is None:
            stop_group(run, signal.SIGKILL, 10)
