"""Idempotency-Key: a write request's key and the response it got, replayed on a retry."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from rewards.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from rewards.models import ERASED, IdempotencyKey

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class KeyedResponse:
    status: int
    body: dict
    replayed: bool


def idempotent_call(
    *,
    app: Model,
    customer_user_id: int | None,
    key: str,
    fingerprint: str,
    work: Callable[[], tuple[int, dict]],
) -> KeyedResponse:
    """Run ``work`` once per (application, customer session or none, key) within 24 hours, Stripe-style.

    The key row is inserted in the same transaction as the work. A concurrent request
    with the same key blocks on the unique index until the first commits, then
    replays its response; if the first fails, nothing of it remains and the second
    does the work. Errors are not stored: a failed request wrote nothing, so a retry
    is safe.
    """
    now = timezone.now()
    scope = IdempotencyKey.objects.filter(application=app, customer_user_id=customer_user_id, key=key)
    with transaction.atomic():
        scope.filter(created_at__lt=now - IDEMPOTENCY_KEY_TTL).delete()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    application=app,
                    customer_user_id=customer_user_id,
                    key=key,
                    request_fingerprint=fingerprint,
                    created_at=now,
                )
        except IntegrityError:
            record = None
        if record is None:
            return _idempotent_replay(scope.first(), fingerprint=fingerprint)
        status, body = work()
        IdempotencyKey.objects.filter(pk=record.pk).update(response_status=status, response_body=body)
    return KeyedResponse(status=status, body=body, replayed=False)


def _idempotent_replay(stored: IdempotencyKey | None, *, fingerprint: str) -> KeyedResponse:
    if stored is None or stored.response_status is None:
        raise IdempotencyKeyInUse()
    # ERASED: the customer's personal data was erased, the request's fingerprint with it; any
    # body replays the (erased) answer, so a replay cannot tell a right guess from a wrong one.
    if stored.request_fingerprint not in (fingerprint, ERASED):
        raise IdempotencyKeyReused()
    return KeyedResponse(status=stored.response_status, body=stored.response_body, replayed=True)


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete keys older than 24 hours; returns how many."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
