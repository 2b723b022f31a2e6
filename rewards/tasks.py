"""Scheduled jobs of the rewards app, run by Celery beat (settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task
from celery.signals import worker_ready

from rewards.services import (
    birthdays_award,
    coupons_expire,
    coupons_notice,
    idempotency_keys_purge,
    messages_send,
    points_lifecycle_run,
    tiers_requalify,
)
from rewards.services.digests import ledger_digest_cut
from rewards.services.segments import award_run, awards_unfinished


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


@shared_task
def segment_award_run(award_pk: int) -> int:
    """Credit a bulk award's members, batch after batch (queued when the award is asked)."""
    return award_run(award_pk=award_pk).credited


@shared_task
def segment_awards_sweep() -> int:
    """Finish every award not finished: one whose worker died mid-way, or asked while no
    worker ran (every few seconds, by beat, and when a worker starts)."""
    unfinished = awards_unfinished()
    for award_pk in unfinished:
        award_run(award_pk=award_pk)
    return len(unfinished)


@worker_ready.connect
def _awards_resume(**kwargs: object) -> None:
    """A worker that starts finishes what a worker that died left (a kill -9 mid-award)."""
    segment_awards_sweep.delay()


@shared_task
def ledger_digest() -> int:
    """A signed digest of the chain heads that moved (hourly, so at least daily); its id."""
    return ledger_digest_cut().id
