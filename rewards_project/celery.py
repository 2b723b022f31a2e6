"""Celery: `celery -A rewards_project worker` delivers webhooks, `celery -A rewards_project beat`
runs the schedule in settings.CELERY_BEAT_SCHEDULE. The broker is CELERY_BROKER_URL: Redis, or
the filesystem transport in folders on this machine (what `make run` uses when none is set)."""

import os
import sys
from pathlib import Path

from celery import Celery

from rewards_project.devenv import dev_env_load

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")
# Every process imports this module (rewards_project/__init__.py), so only the `celery` command
# itself is told apart here.
if Path(sys.argv[0]).name == "celery" or Path(sys.argv[0]).parts[-2:] == ("celery", "__main__.py"):
    # No client waits on a task: the worker and beat wait longer than a request for a row
    # (settings.py).
    os.environ.setdefault("LOYALTY_BACKGROUND", "1")
    # Started by hand in a second terminal: `make run`'s database and broker (devenv.py).
    dev_env_load()

app = Celery("rewards_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
