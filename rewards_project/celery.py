"""Celery, with Redis as broker (CELERY_BROKER_URL): `celery -A rewards_project worker` delivers
webhooks, `celery -A rewards_project beat` runs the schedule in settings.CELERY_BEAT_SCHEDULE."""

import os
import sys
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")
# No client waits on a task: the worker and beat wait longer than a request for a row
# (settings.py). Every process imports this module (rewards_project/__init__.py), so only the
# `celery` command itself says so.
if Path(sys.argv[0]).name == "celery" or Path(sys.argv[0]).parts[-2:] == ("celery", "__main__.py"):
    os.environ.setdefault("LOYALTY_BACKGROUND", "1")

app = Celery("rewards_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
