"""Who is in a segment: every read of membership, each the one query ``query.py`` compiles
(members, their count, one customer's segments, the checks of the catalog and the rules)."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from rewards.models import Segment
from rewards.segments.query import count_query, members_query


def segments_listed() -> list[Segment]:
    return list(Segment.objects.order_by("code"))


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


def segments_of(*, user_id: int, codes: Iterable[str], now: datetime | None = None) -> frozenset[str]:
    """Which of these segments the customer is in now (a code no segment has: none)."""
    now = now or timezone.now()
    segments = Segment.objects.filter(code__in=set(codes)).only("code", "conditions")
    return frozenset(segment.code for segment in segments if segment_has(segment.conditions, user_id=user_id, now=now))


def segments_unknown(codes: Iterable[str]) -> list[str]:
    """The codes no segment has, in the order given."""
    known = set(Segment.objects.filter(code__in=set(codes)).values_list("code", flat=True))
    return [code for code in codes if code not in known]


def customer_segments(*, user_id: int, now: datetime | None = None) -> list[Segment]:
    """Every segment the customer is in now, by code."""
    now = now or timezone.now()
    return [segment for segment in segments_listed() if segment_has(segment.conditions, user_id=user_id, now=now)]
