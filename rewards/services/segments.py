"""Segments as staff manage them, and who is in one. Every answer to "who is in it" is the one
query ``rewards.segments.query`` compiles from the conditions: members, their count, a
customer's segments, a bulk award's member list, the program's checks."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from rewards.errors import InvalidInput, SegmentExists, SegmentNotFound
from rewards.models import Segment
from rewards.segments.language import SEGMENT_KEYS, segment_validated
from rewards.segments.query import count_query, members_query


def segment_definition(segment: Segment) -> dict[str, Any]:
    return {name: getattr(segment, name) for name in SEGMENT_KEYS}


def segment_find(*, code: str) -> Segment:
    segment = Segment.objects.filter(code=code).first()
    if segment is None:
        raise SegmentNotFound()
    return segment


def segments_listed() -> list[Segment]:
    return list(Segment.objects.order_by("code"))


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
        raise InvalidInput(fields={"code": ["A segment's code does not change; create another segment."]})
    valid = segment_validated({**segment_definition(segment), **changes})
    for name, value in valid.items():
        setattr(segment, name, value)
    segment.updated_at, segment.updated_by = timezone.now(), by
    segment.save()
    return segment


def segment_delete(*, code: str) -> Segment:
    segment = segment_find(code=code)
    segment.delete()
    return segment


def segment_members(
    segment: Segment, *, after: int | None = None, limit: int | None = None, now: datetime | None = None
) -> list[int]:
    """The members' user_ids in order, as of ``now``: all, or a page after a user_id."""
    query = members_query(segment.conditions, now=now or timezone.now(), after=after, limit=limit)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return [row[0] for row in cursor.fetchall()]


def segment_count(segment: Segment, *, now: datetime | None = None) -> int:
    query = count_query(segment.conditions, now=now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return cursor.fetchone()[0]


def segment_has(conditions: Sequence[Mapping[str, Any]], *, user_id: int, now: datetime | None = None) -> bool:
    """Whether one customer meets these conditions now: the same query, for them alone."""
    query = members_query(conditions, now=now or timezone.now(), user_id=user_id)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return cursor.fetchone() is not None


def customer_segments(*, user_id: int, now: datetime | None = None) -> list[Segment]:
    """Every segment the customer is in now, by code."""
    now = now or timezone.now()
    return [segment for segment in segments_listed() if segment_has(segment.conditions, user_id=user_id, now=now)]
