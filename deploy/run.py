"""`make run`: migrate, seed the demo, then serve with the Celery worker and beat beside it.

    python deploy/run.py HOST:PORT

Runs in the environment deploy/embedded_postgres.py gives it (DATABASE_URL set). The broker is
CELERY_BROKER_URL when set (Redis), else kombu's filesystem transport in .run/broker/: nothing
to install, and every process on this machine reaches it. While it runs, .run/dev.env says
where the database and the broker are, so that manage.py and `make worker` in another terminal
find them by themselves (rewards_project/devenv.py). Whichever of runserver and the worker stops
first stops the other; Ctrl-C or SIGTERM stops both, then the file is removed (and
embedded_postgres.py, which started this, stops the database after it).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rewards_project.devenv import (  # noqa: E402
    DEV_ENV,
    DEV_SIGNING_KEY,
    RUN_DIR,
    SHARED,
    dev_env_remove,
    dev_env_write,
    development_signing_key,
)

PYTHON = sys.executable
STOP_SECONDS = 15  # a warm shutdown lets a delivery round finish; then it is killed


WORKER = "the worker"


class Stop(Exception):
    pass


def _stop_signal(signum: int, frame: object) -> None:
    raise Stop


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """In its own process group, so that stopping it stops what it started too (runserver's
    reloaded child, the worker's pool and its beat)."""
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def _signal(process: subprocess.Popen, signum: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def stop(processes: dict[str, subprocess.Popen]) -> None:
    """SIGTERM: the worker's own process, which shuts its pool and beat down in order (a
    delivery round in flight finishes); runserver's whole group (its reloaded child). What is
    left after STOP_SECONDS is killed, group and all."""
    for name, process in processes.items():
        _signal(process, signal.SIGTERM, group=name != WORKER)
    deadline = time.monotonic() + STOP_SECONDS
    for process in processes.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.1, deadline - time.monotonic()))
        _signal(process, signal.SIGKILL, group=True)  # anything of its group still there
        process.wait()


def main() -> int:
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8000"
    signal.signal(signal.SIGTERM, _stop_signal)
    signal.signal(signal.SIGHUP, _stop_signal)
    # Each line as it is written, whatever the output is (a terminal, a pipe, a file).
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if not env.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = f"filesystem://localhost{RUN_DIR / 'broker'}"
        broker = f"the filesystem, {(RUN_DIR / 'broker').relative_to(ROOT)}/ (CELERY_BROKER_URL for Redis)"
    else:
        broker = env["CELERY_BROKER_URL"].split("@")[-1]
    # Messages to customers never leave the machine: one file each in .run/mail/ (EMAIL_URL for a
    # server, or consolemail:// to print them), their unsubscribe links to this server.
    if not env.get("EMAIL_URL"):
        env["EMAIL_URL"] = f"filemail:///{(RUN_DIR / 'mail').relative_to(ROOT)}"
    env.setdefault("MESSAGES_BASE_URL", f"http://{address}")
    mail = env["EMAIL_URL"].split("@")[-1]
    RUN_DIR.mkdir(exist_ok=True)
    if not env.get("LEDGER_SIGNING_KEY"):
        env["LEDGER_SIGNING_KEY"], new = development_signing_key()
        print(
            f"Ledger digests: signed with a development key, {'made now in' if new else 'kept in'} "
            f"{DEV_SIGNING_KEY.relative_to(ROOT)} (never serve with it: set LEDGER_SIGNING_KEY, "
            "`manage.py ledger_keygen` prints one)",
            flush=True,
        )
    processes: dict[str, subprocess.Popen] = {}
    try:
        manage("migrate", "--no-input", "-v", "0", env=env)
        manage("seed_demo", "--base-url", f"http://{address}", env=env)
        dev_env_write({key: env[key] for key in SHARED if key in env}, pid=os.getpid())
        worker = [
            PYTHON, "-m", "celery", "-A", "rewards_project", "--quiet", "worker", "--hostname", "run@%h",
            "--beat", "--schedule", str(RUN_DIR / "celerybeat-schedule"), "--concurrency", "2",
            # One machine: no worker-to-worker chatter (nothing here revokes tasks), which on the
            # filesystem broker would leave files for workers long gone.
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING",
        ]  # fmt: skip
        processes[WORKER] = start(worker, env)
        print(f"Celery worker and beat: webhooks and the scheduled jobs; broker: {broker}", flush=True)
        print(f"Messages to customers: {mail} (nothing leaves this machine)", flush=True)
        print(
            f"Another terminal: manage.py and `make worker` find this database and broker in "
            f"{DEV_ENV.relative_to(ROOT)} while this runs. Ctrl-C stops everything.",
            flush=True,
        )
        processes["runserver"] = start([PYTHON, "manage.py", "runserver", address], env)
        while all(process.poll() is None for process in processes.values()):
            time.sleep(0.2)
        name, failed = next((name, p) for name, p in processes.items() if p.poll() is not None)
        print(f"{name} stopped (exit {failed.returncode}): stopping the rest", file=sys.stderr, flush=True)
        return failed.returncode or 1
    except (KeyboardInterrupt, Stop):
        return 0
    except subprocess.CalledProcessError as error:
        return error.returncode
    finally:
        # Ctrl-C again while stopping must not leave the worker or the file behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(processes)
        dev_env_remove(pid=os.getpid())


if __name__ == "__main__":
    sys.exit(main())
