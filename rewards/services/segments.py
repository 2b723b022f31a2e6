"""Segments as staff manage them, and the bulk awards to them. Who is in a segment is read in
``rewards.segments.membership`` (members, their count, a customer's segments, the catalog's and
the rules' checks), and a bulk award's member list is written from the same query."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from rewards.errors import (
    SegmentAwardConflict,
    SegmentAwardNotFound,
    SegmentExists,
    SegmentInUse,
    SegmentInvalid,
    SegmentNotFound,
)
from rewards.models import (
    CatalogItem,
    EventType,
    RewardKind,
    Segment,
    SegmentAward,
    SegmentAwardCredit,
    SegmentAwardMember,
    SegmentAwardState,
)
from rewards.segments.language import SEGMENT_KEYS, segment_validated
from rewards.segments.query import members_query
from rewards.services.events import event_record
from rewards.services.ledger import points_credit, points_entry_check
from rewards.shapes import iso

logger = logging.getLogger(__name__)


def segment_definition(segment: Segment) -> dict[str, Any]:
    return {name: getattr(segment, name) for name in SEGMENT_KEYS}


def segment_find(*, code: str) -> Segment:
    segment = Segment.objects.filter(code=code).first()
    if segment is None:
        raise SegmentNotFound()
    return segment


def segment_create(*, definition: Mapping[str, Any], by: str) -> Segment:
    """A new segment from a definition the language accepts (else a 400 naming what is
    wrong); a code already taken is a 409."""
    now = timezone.now()
    segment = Segment(**segment_validated(definition), created_at=now, updated_at=now, updated_by=by)
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:
        raise SegmentExists() from None
    return segment


@transaction.atomic
def segment_edit(*, code: str, changes: Mapping[str, Any], by: str) -> Segment:
    """Apply ``changes`` (any of name, description, conditions) to the segment, the whole
    result validated. The code is the segment's name for everything that targets it: it stays."""
    segment = Segment.objects.select_for_update().filter(code=code).first()
    if segment is None:
        raise SegmentNotFound()
    if changes.get("code", code) != code:
        raise SegmentInvalid(fields={"code": ["A segment's code does not change; create another segment."]})
    valid = segment_validated({**segment_definition(segment), **changes})
    for name, value in valid.items():
        setattr(segment, name, value)
    segment.updated_at, segment.updated_by = timezone.now(), by
    segment.save()
    return segment


@transaction.atomic
def segment_delete(*, code: str) -> Segment:
    """Delete a segment no catalog item names (else 409 ``segment_in_use``, naming them): an item
    limited to a segment that no longer exists would be for nobody. Its bulk awards stay."""
    segment = Segment.objects.select_for_update().filter(code=code).first()
    if segment is None:
        raise SegmentNotFound()
    items = list(CatalogItem.objects.filter(segment_codes__contains=[code]).values_list("pk", flat=True))
    if items:
        raise SegmentInUse(
            f"Catalog items {', '.join(map(str, items))} are limited to this segment; take it off them first.",
            fields={"code": [f"Named by catalog items {', '.join(map(str, items))}."]},
        )
    segment.delete()
    return segment


# ---- bulk awards ---------------------------------------------------------------------------------


def award_fields(award: SegmentAward) -> dict[str, Any]:
    return {
        "award_id": award.award_id,
        "segment": award.segment_code,
        "points": award.points,
        "description": award.description,
        "state": award.state,
        "members": award.members,
        "credited": award.credited,
        "created_at": iso(award.created_at),
        "finished_at": iso(award.finished_at),
    }


def award_find(*, code: str, award_id: str) -> SegmentAward:
    award = SegmentAward.objects.filter(award_id=award_id, segment_code=code).first()
    if award is None:
        raise SegmentAwardNotFound()
    return award


@dataclass(frozen=True)
class AwardAsked:
    award: SegmentAward
    created: bool  # False: the same award asked again


def award_ask(*, code: str, award_id: str, points: int, description: str, app: Model | None, by: str) -> AwardAsked:
    """A bulk award of ``points`` to every member of the segment now: the award and its member
    list are written in one transaction, the worker credits them after. The same ``award_id``
    with the same segment, points and description is the same award; with another, a 409."""
    points_entry_check(points, field="points")
    now = timezone.now()
    existing = SegmentAward.objects.filter(award_id=award_id).first()
    if existing is None:
        segment = segment_find(code=code)
        try:
            with transaction.atomic():
                award = SegmentAward.objects.create(
                    award_id=award_id,
                    segment=segment,
                    segment_code=code,
                    points=points,
                    description=description,
                    application=app,
                    members=0,
                    created_at=now,
                    asked_by=by,
                )
                query = members_query(segment.conditions, now=now)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"INSERT INTO {SegmentAwardMember._meta.db_table} (award_id, user_id) "
                        f"SELECT %(award)s, m.user_id FROM ({query.sql}) m",
                        {**query.params, "award": award.pk},
                    )
                    award.members = cursor.rowcount
                if award.members == 0:
                    award.state, award.finished_at = SegmentAwardState.DONE, now
                    _award_done_event(award, now=now)
                award.save(update_fields=["members", "state", "finished_at"])
            if award.state == SegmentAwardState.QUEUED:
                transaction.on_commit(lambda: _award_queue(award.pk))
            return AwardAsked(award=award, created=True)
        except IntegrityError:  # asked at the same moment by another request: that one stands
            existing = SegmentAward.objects.get(award_id=award_id)
    if (existing.segment_code, existing.points, existing.description) != (code, points, description):
        raise SegmentAwardConflict()
    return AwardAsked(award=existing, created=False)


def _award_queue(award_pk: int) -> None:
    if not settings.CELERY_BROKER_URL:
        return  # the sweep of a worker started later finds it
    from rewards.tasks import segment_award_run

    try:
        segment_award_run.delay(award_pk)
    except Exception:
        logger.warning("Could not queue bulk award %s; the sweep will run it", award_pk, exc_info=True)


def _award_done_event(award: SegmentAward, *, now: datetime) -> None:
    event_record(
        type=EventType.SEGMENT_AWARD_DONE,
        user_id=None,
        now=now,
        app=award.application,
        extra={"award": award_fields(award)},
    )


_UNCREDITED = f"""
    SELECT m.user_id FROM {SegmentAwardMember._meta.db_table} m
    WHERE m.award_id = %(award)s AND m.user_id > %(after)s
      AND NOT EXISTS (
        SELECT 1 FROM {SegmentAwardCredit._meta.db_table} c WHERE c.award_id = %(award)s AND c.user_id = m.user_id
      )
    ORDER BY m.user_id LIMIT %(limit)s
"""


def award_batch(*, award_pk: int, after: int = 0, batch: int | None = None) -> int | None:
    """Credit the next batch of the award's members not yet credited (user_ids above
    ``after``), in one transaction under the award's row lock: each an ordinary ledger credit
    and its ``SegmentAwardCredit`` row. Answers the last user_id credited, or None once every
    member is (the award is then done, with its event)."""
    batch = batch or settings.SEGMENT_AWARD_BATCH
    with transaction.atomic():
        award = SegmentAward.objects.select_for_update(of=("self",)).select_related("application").get(pk=award_pk)
        if award.state in (SegmentAwardState.DONE, SegmentAwardState.FAILED):
            return None
        with connection.cursor() as cursor:
            cursor.execute(_UNCREDITED, {"award": award.pk, "after": after, "limit": batch})
            user_ids = [row[0] for row in cursor.fetchall()]
        now = timezone.now()
        if not user_ids and after > 0:
            return 0  # nothing above after: look again from the start
        if not user_ids:
            award.state, award.finished_at = SegmentAwardState.DONE, now
            award.credited = SegmentAwardCredit.objects.filter(award=award).count()
            award.save(update_fields=["state", "finished_at", "credited"])
            _award_done_event(award, now=now)
            return None
        credits = []
        for user_id in user_ids:
            posting = points_credit(
                user_id=user_id,
                points=award.points,
                kind=RewardKind.EARN,
                description=award.description,
                app=award.application,
                event_extra={"segment_award": {"award_id": award.award_id, "segment": award.segment_code}},
            )
            credits.append(SegmentAwardCredit(award=award, user_id=user_id, credit_id=posting.reward.pk))
        SegmentAwardCredit.objects.bulk_create(credits)
        award.state = SegmentAwardState.RUNNING
        award.credited += len(credits)
        award.save(update_fields=["state", "credited"])
        return user_ids[-1]


def award_run(*, award_pk: int) -> SegmentAward:
    """Credit the award's members batch after batch until all are. Safe to run twice at once
    and to run again after a worker died mid-way: a batch is all or nothing, and a member
    credited is never credited again."""
    after = 0
    while (after := award_batch(award_pk=award_pk, after=after)) is not None:
        pass
    return SegmentAward.objects.get(pk=award_pk)


def awards_unfinished() -> list[int]:
    return list(
        SegmentAward.objects.filter(state__in=[SegmentAwardState.QUEUED, SegmentAwardState.RUNNING])
        .order_by("id")
        .values_list("id", flat=True)
    )
