"""Celery, with Redis as broker (CELERY_BROKER_URL): `celery -A rewards_project worker` delivers
webhooks, `celery -A rewards_project beat` runs the schedule in settings.CELERY_BEAT_SCHEDULE."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")

app = Celery("rewards_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
