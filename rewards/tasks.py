"""Scheduled jobs of the rewards app, run by Celery beat (settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from rewards.services import (
    birthdays_award,
    coupons_expire,
    idempotency_keys_purge,
    points_lifecycle_run,
    tiers_requalify,
)
from rewards.services.digests import ledger_digest_cut


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
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()


@shared_task
def ledger_digest() -> int:
    """A signed digest of the chain heads that moved (hourly, so at least daily); its id."""
    return ledger_digest_cut().id
