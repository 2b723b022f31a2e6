"""Webhook delivery on Celery: queued when events commit, and swept every few seconds by beat."""

import logging
import time

from celery import shared_task
from django.conf import settings
from django.dispatch import receiver

from loyalty.services.webhooks import webhooks_deliver_all
from rewards.services.events import events_committed

logger = logging.getLogger(__name__)

# Writes commit far more often than one delivery round needs to start: queue at most one
# round per process per interval; the sweep catches anything in between.
_QUEUE_INTERVAL_SECONDS = 0.2
_last_queued = 0.0


@shared_task
def deliver_webhooks() -> dict:
    report = webhooks_deliver_all()
    return {"delivered": report.delivered, "failed_attempts": report.failed_attempts, "gave_up": report.gave_up}


@receiver(events_committed)
def queue_delivery(**kwargs) -> None:
    """Once events commit, ask a worker to deliver them (only with a broker configured)."""
    global _last_queued
    now = time.monotonic()
    if not settings.CELERY_BROKER_URL or now - _last_queued < _QUEUE_INTERVAL_SECONDS:
        return
    _last_queued = now
    try:
        deliver_webhooks.delay()
    except Exception:
        logger.warning("Could not queue webhook delivery; the sweep will deliver it", exc_info=True)
