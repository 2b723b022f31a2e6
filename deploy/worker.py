"""`make worker`: the Celery worker with beat inside it, or one more worker for `make run`'s.

With DATABASE_URL set, or no `make run` running: the worker with beat, on DATABASE_URL and
CELERY_BROKER_URL (default redis://127.0.0.1:6379/2), beat's schedule in .run/. With no
DATABASE_URL while `make run` runs: a worker on make run's database and broker (.run/dev.env,
read by rewards_project/celery.py) without beat, since make run's worker runs the one beat.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rewards_project.devenv import DEV_ENV, RUN_DIR, dev_env_live  # noqa: E402

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/2"


def main() -> None:
    command = [sys.executable, "-m", "celery", "-A", "rewards_project", "worker"]
    if not os.environ.get("DATABASE_URL") and dev_env_live(DEV_ENV) is not None:
        print("`make run` is running its worker and beat: this is one more worker, without beat.", file=sys.stderr)
    else:
        os.environ["CELERY_BROKER_URL"] = os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER_URL
        RUN_DIR.mkdir(exist_ok=True)
        command += ["--beat", "--schedule", str(RUN_DIR / "celerybeat-schedule")]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"]
    os.chdir(ROOT)
    os.execv(sys.executable, command)


if __name__ == "__main__":
    main()
