"""Scheduled jobs of the rewards app, run by Celery beat (settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from rewards.services import idempotency_keys_purge, points_lifecycle_run


@shared_task
def points_lifecycle() -> dict:
    """One pass of the points lifecycle (release, expiry, expiring-soon notices)."""
    report = points_lifecycle_run()
    return {"released": report.released.done, "expired": report.expired.done, "noticed": report.noticed.done}


@shared_task
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()
