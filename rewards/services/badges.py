"""Badges: the ones staff define (``loyalty-api/badges``, admin), and giving one to a customer
or taking it back (staff in admin with a reason, or a challenge's reward and its cancellation).

An award is never deleted: taking a badge back writes who and why on the award's row, once,
under its row lock. A customer holds a badge at most once at a time (a partial unique index
decides between racing awards); once it was taken back it can be given again, as a new award.
Every award and take-back writes its event (``badge.awarded``, ``badge.revoked``) in the same
transaction.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from rewards.errors import BadgeAlreadyHeld, BadgeConflict, BadgeNotFound, BadgeNotHeld
from rewards.models import Badge, BadgeAward, EventType
from rewards.services.events import event_record
from rewards.shapes import badge_award_fields

# What staff may set on a badge; ``code`` only when it is created.
BADGE_EDITABLE_FIELDS = ("name", "description", "image_url")


def badge_create(*, code: str, name: str, description: str = "", image_url: str = "") -> Badge:
    """A new badge (validated by the caller's serializer or form); a code taken is a 409."""
    now = timezone.now()
    badge = Badge(code=code, name=name, description=description, image_url=image_url, created_at=now, updated_at=now)
    try:
        with transaction.atomic():
            badge.save()
    except IntegrityError:
        raise BadgeConflict() from None
    return badge


@transaction.atomic
def badge_edit(*, code: str, changes: Mapping[str, Any]) -> Badge:
    """Change a badge's name, description or picture; awards already given show the change."""
    badge = Badge.objects.select_for_update().filter(code=code).first()
    if badge is None:
        raise BadgeNotFound()
    for name in BADGE_EDITABLE_FIELDS:
        if name in changes:
            setattr(badge, name, changes[name])
    badge.updated_at = timezone.now()
    badge.save()
    return badge


def _event(award: BadgeAward, type: str, now: datetime) -> None:
    badge = award.badge
    event_record(
        type=type,
        user_id=award.user_id,
        now=now,
        extra={"badge": {"code": badge.code, "name": badge.name}, "award": badge_award_fields(award)},
    )


@transaction.atomic
def badge_award(
    *, user_id: int, code: str, reason: str, by: str, now: datetime | None = None, if_not_held: bool = False
) -> BadgeAward | None:
    """Give the badge ``code`` to a customer, with why and by whom, and its ``badge.awarded`` event.

    A customer already holding it: 409 ``badge_already_held``, or, with ``if_not_held`` (a
    challenge's reward), nothing is written and None answered. Racing awards of one badge to one
    customer: the unique index lets one commit, the others wait for it and then find it held.
    """
    badge = Badge.objects.filter(code=code).first()
    if badge is None:
        raise BadgeNotFound()
    now = now or timezone.now()
    award = BadgeAward(user_id=user_id, badge=badge, awarded_at=now, awarded_by=by, reason=reason)
    try:
        with transaction.atomic():
            award.save()
    except IntegrityError:
        if if_not_held:
            return None
        raise BadgeAlreadyHeld() from None
    _event(award, EventType.BADGE_AWARDED, now)
    return award


@transaction.atomic
def badge_revoke(*, award_id: int, reason: str, by: str, now: datetime | None = None) -> BadgeAward:
    """Take a badge back: the award keeps its row, with when, who and why, and a ``badge.revoked``
    event. One already taken back is a 409 ``badge_not_held`` (racing take-backs: the row lock
    lets the first one through)."""
    award = BadgeAward.objects.select_for_update().select_related("badge").filter(pk=award_id).first()
    if award is None:
        raise BadgeNotFound("No badge award has this id.")
    if award.revoked_at is not None:
        raise BadgeNotHeld()
    award.revoked_at = now or timezone.now()
    award.revoked_by = by
    award.revoke_reason = reason
    award.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    _event(award, EventType.BADGE_REVOKED, award.revoked_at)
    return award
