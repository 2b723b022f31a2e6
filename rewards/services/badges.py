"""Badges: the ones staff define (``loyalty-api/badges``, admin), and giving one to a customer
or taking it back (staff in admin with a reason, or a challenge's reward and its cancellation).

An award is never deleted: taking a badge back writes who and why on the award's row, once,
under its row lock. A customer holds a badge at most once at a time (a partial unique index
decides between racing awards); once it was taken back it can be given again, as a new award.
Every award and take-back writes its event (``badge.awarded``, ``badge.revoked``) in the same
transaction.
"""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.validation import Invalid, Object, Text, pattern, plain_errors, visible_text
from rewards.errors import BadgeAlreadyHeld, BadgeConflict, BadgeInvalid, BadgeNotFound, BadgeNotHeld
from rewards.models import Badge, BadgeAward, EventType
from rewards.services.events import event_record
from rewards.shapes import badge_award_fields

BADGE_CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,49}$"
BADGE_CODE_MESSAGE = "Lower-case letters, digits, _ and -, starting with a letter or digit (1-50)."
# What a path on this service may hold: no spaces, quotes, angle brackets or backslashes.
_PATH_UNSAFE = re.compile(r"[\s\\\"'<>]")


def image_url_refusal(value: str) -> str | None:
    """A badge's picture is an https URL or a path on this service (``/static/…``); never
    ``http:``, ``javascript:`` or a protocol-relative ``//host``, which a page would load as is."""
    if value.startswith("/") and not value.startswith("//"):
        return (
            "A path on this service has no spaces, quotes, angle brackets or backslashes."
            if _PATH_UNSAFE.search(value)
            else None
        )
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or _PATH_UNSAFE.search(value):
        return "An https:// URL or a path on this service starting with /."
    return None


# A badge as staff define it (``loyalty-api/badges`` and admin).
BADGE = Object(
    {
        "code": Text(max_length=50, checks=[pattern(BADGE_CODE_PATTERN, BADGE_CODE_MESSAGE)]),
        "name": visible_text(max_length=100),
        "description": Text(max_length=500, allow_blank=True, trim=False, default=""),
        "image_url": Text(max_length=500, allow_blank=True, default="", checks=[image_url_refusal]),
    },
    nul_refused=True,
)
BADGE_FIELDS = tuple(BADGE.fields)


def badge_validated(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A badge's definition checked whole, or ``BadgeInvalid`` naming what is wrong."""
    try:
        return BADGE.validate(definition)
    except Invalid as error:
        raise BadgeInvalid(fields=plain_errors(error.detail)) from None


def badge_definition(badge: Badge) -> dict[str, Any]:
    return {name: getattr(badge, name) for name in BADGE_FIELDS}


def badge_create(*, definition: Mapping[str, Any]) -> Badge:
    """A new badge from a definition ``BADGE`` accepts (else a 400 naming what is wrong); a code
    taken is a 409."""
    now = timezone.now()
    badge = Badge(**badge_validated(dict(definition)), created_at=now, updated_at=now)
    try:
        with transaction.atomic():
            badge.save()
    except IntegrityError:
        raise BadgeConflict() from None
    return badge


@transaction.atomic
def badge_edit(*, code: str, changes: Mapping[str, Any]) -> Badge:
    """Change a badge's name, description or picture, the whole result validated; its code is
    set once. Awards already given show the change."""
    badge = Badge.objects.select_for_update().filter(code=code).first()
    if badge is None:
        raise BadgeNotFound()
    if changes.get("code", code) != code:
        raise BadgeInvalid(fields={"code": ["A badge's code is set once; it is the one in the path."]})
    for name, value in badge_validated({**badge_definition(badge), **changes}).items():
        setattr(badge, name, value)
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
