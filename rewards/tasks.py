"""Scheduled jobs of the rewards app, run by Celery beat (settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from rewards.services import (
    birthdays_award,
    coupons_expire,
    coupons_notice,
    idempotency_keys_purge,
    messages_send,
    points_lifecycle_run,
    tiers_requalify,
)


@shared_task
def points_lifecycle() -> dict:
    """One pass of the points lifecycle (release, expiry, expiring-soon notices)."""
    report = points_lifecycle_run()
    return {"released": report.released.done, "expired": report.expired.done, "noticed": report.noticed.done}


@shared_task
def birthdays() -> int:
    """Today's birthdays get the birthday rules' awards (hourly; each customer once a year)."""
    return birthdays_award().awarded


@shared_task
def requalify_tiers() -> int:
    """Customers whose tier date has come are requalified; staff floors that ended end (hourly)."""
    return tiers_requalify().checked


@shared_task
def expire_coupons() -> int:
    """Coupons past their valid_until are marked expired (refunded with COUPON_EXPIRY_REFUND; hourly)."""
    return coupons_expire().expired


@shared_task
def notice_coupons() -> int:
    """Coupons about to expire get their notice (and their customers a message; hourly)."""
    return coupons_notice()


@shared_task
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()


@shared_task
def send_messages() -> int:
    """The messages due are sent (every 10 s)."""
    return messages_send().sent
