"""Tiers at work: the ladder staff set, the qualifying points a credit records (and an upgrade
in its transaction), what returns take back of them, the requalification job, staff floors,
and a customer's tier as the API shows it. The arithmetic is ``rewards.tiers``.

Locks: a qualifying credit takes the customer's account row lock, then their tier standing's
(``tier_standing_lock``); a staff floor the same; the requalification job takes standings only,
with ``SKIP LOCKED``. So a credit and a return of one customer are serialised by the account
lock, and nothing waits in a circle.
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import orjson
from django.db import connection, connections, transaction
from django.db.models import Model, Q
from django.utils import timezone

from core.db_router import read_alias
from core.exceptions import DomainError
from rewards.errors import UnknownTier
from rewards.models import (
    EventType,
    QualifyingDay,
    Tier,
    TierChange,
    TierChangeCause,
    TierLadder,
    TierStanding,
)
from rewards.program.engine import program_time
from rewards.program.language import decimal_text
from rewards.services.events import event_record
from rewards.shapes import iso
from rewards.tiers import Ladder, Standing, TierDef, current_tier, earned_tier, held_tier, ladder_validated, progress

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


# ---- the ladder ---------------------------------------------------------------------------------

# The ladder as one JSON value (NULL while none is set): a scalar subquery, so a statement that
# reads more than the ladder (an order's first statement) reads it with the same words.
LADDER_JSON = f"""(
    SELECT json_build_object('window_days', l.window_days, 'qualifying_kinds', l.qualifying_kinds,
           'tiers', json_agg(json_build_object(
               'code', t.code, 'name', t.name, 'entry_points', t.entry_points, 'retain_points', t.retain_points,
               'multiplier', t.multiplier::text, 'benefits', t.benefits)))
    FROM {TierLadder._meta.db_table} l CROSS JOIN {Tier._meta.db_table} t
    GROUP BY l.id
)"""


def ladder_of(value: Mapping[str, Any] | None) -> Ladder | None:
    """The ladder from what ``LADDER_JSON`` read (the driver parses a json value)."""
    if value is None:
        return None
    return Ladder.of(tiers=value["tiers"], window_days=value["window_days"], qualifying_kinds=value["qualifying_kinds"])


def ladder_read() -> Ladder | None:
    """The ladder, in one read; None while none is set."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {LADDER_JSON}")
        return ladder_of(cursor.fetchone()[0])


@transaction.atomic
def ladder_set(*, definition: Mapping[str, Any], by: str) -> Ladder | None:
    """Replace the ladder with one the ladder's grammar accepts (``ladder_validated``, else a
    400 naming what is wrong); no tiers removes it. It applies from now on: credits are multiplied and upgrade by
    it at once, and customers move down only at their requalification dates
    (``recompute_tiers`` places those whose tier it no longer has, or who now reach higher)."""
    valid = ladder_validated(dict(definition))
    now = timezone.now()
    with connection.cursor() as cursor:
        # Racing sets (the first one included) one after the other; reads of the ladder go on.
        cursor.execute(f"LOCK TABLE {TierLadder._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    Tier.objects.all().delete()
    if not valid["tiers"]:
        TierLadder.objects.filter(pk=TierLadder.LADDER_ID).delete()
        return None
    ladder, _ = TierLadder.objects.update_or_create(
        pk=TierLadder.LADDER_ID,
        defaults={
            "window_days": valid["window_days"],
            "qualifying_kinds": list(valid["qualifying_kinds"]),
            "updated_at": now,
            "updated_by": by,
        },
    )
    Tier.objects.bulk_create(Tier(ladder=ladder, **tier) for tier in valid["tiers"])
    return ladder_read()


def ladder_settings() -> TierLadder | None:
    return TierLadder.objects.filter(pk=TierLadder.LADDER_ID).first()


# ---- a customer's standing --------------------------------------------------------------------

_STANDING_COLUMNS = ("tier_code", "since", "requalify_at", "floor_code", "floor_until")


def _standing_of(row: Sequence[Any] | None) -> Standing | None:
    return Standing(*row) if row and row[0] is not None else None


def standing_lock(user_id: int, *, now: datetime) -> Standing | None:
    """The customer's standing, with their account row and standing row locked until commit."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(_STANDING_COLUMNS)} FROM tier_standing_lock(%s, %s)", [user_id, now])
        return _standing_of(cursor.fetchone())


def qualifying_points(user_id: int, *, ladder: Ladder, on: date) -> int:
    """The customer's qualifying points in the window that ends on ``on``: at most
    ``window_days`` day buckets, none after ``on``, summed by ``tier_qualifying_points`` (the
    one sum of them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tier_qualifying_points(%s, %s, %s)", [user_id, *ladder.window(on)])
        return cursor.fetchone()[0]


def _standing_save(user_id: int, standing: Standing, *, now: datetime) -> None:
    """Write the earned tier and its dates, leaving a floor set meanwhile alone."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TierStanding._meta.db_table} AS s"
            " (user_id, tier_code, since, requalify_at, floor_code, floor_until, updated_at)"
            " VALUES (%s, %s, %s, %s, '', NULL, %s)"
            " ON CONFLICT (user_id) DO UPDATE SET tier_code = EXCLUDED.tier_code, since = EXCLUDED.since,"
            " requalify_at = EXCLUDED.requalify_at, updated_at = EXCLUDED.updated_at",
            [user_id, standing.tier_code, standing.since, standing.requalify_at, now],
        )


def _tier_event(
    *, user_id: int, before: TierDef, after: TierDef, qualifying: int | None, now: datetime, app: Model | None
) -> None:
    """``tier.upgraded`` or ``tier.downgraded`` when the customer's tier (floor included) moved."""
    if before == after:
        return
    ladder_up = after.entry_points > before.entry_points
    event_record(
        type=EventType.TIER_UPGRADED if ladder_up else EventType.TIER_DOWNGRADED,
        user_id=user_id,
        now=now,
        app=app,
        extra={
            "tier": {"code": after.code, "name": after.name},
            "previous_tier": {"code": before.code, "name": before.name},
            "qualifying_points": qualifying,
        },
    )


# ---- a qualifying credit ------------------------------------------------------------------------


@dataclass(frozen=True)
class TierContext:
    """What a customer's credit needs of the ladder, read under their locks: the tier before it."""

    ladder: Ladder
    standing: Standing | None
    tier: TierDef


def context_lock(ladder: Ladder, user_id: int, *, now: datetime) -> TierContext:
    """Lock the customer's account and standing and read their tier: the tier an event's rules
    see (``customer.tier``) and its credit is multiplied at."""
    standing = standing_lock(user_id, now=now)
    return TierContext(ladder=ladder, standing=standing, tier=current_tier(ladder, standing, now))


def context_read(ladder: Ladder, user_id: int, *, now: datetime) -> TierContext:
    """The customer's tier as a credit now would see it, locking nothing (a simulation)."""
    standing = _standing_read(user_id)
    return TierContext(ladder=ladder, standing=standing, tier=current_tier(ladder, standing, now))


def credit_qualify(
    context: TierContext,
    *,
    user_id: int,
    occurred_at: datetime,
    credits: Sequence[tuple[int, int]],
    now: datetime,
    app: Model | None,
) -> int:
    """Count an event's qualifying credits (ledger row id, points) on its day, and upgrade the
    customer at once if their qualifying points reach a higher tier. Answers the qualifying
    points after it. In the credit's transaction, under ``context_lock``'s locks."""
    ladder = context.ladder
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tier_qualify(%s, %s, %s, %s, %s::bigint[], %s::bigint[])",
            [
                user_id,
                program_time(occurred_at).date(),
                *ladder.window(program_time(now).date()),
                [credit_id for credit_id, _ in credits],
                [points for _, points in credits],
            ],
        )
        qualifying = cursor.fetchone()[0]
    earned = earned_tier(ladder, context.standing, qualifying=qualifying)
    reached = ladder.reached(qualifying)
    if reached.entry_points > earned.entry_points:
        standing = Standing(
            tier_code=reached.code,
            since=now,
            requalify_at=ladder.requalify_after(now),
            floor_code=context.standing.floor_code if context.standing else "",
            floor_until=context.standing.floor_until if context.standing else None,
        )
        _standing_save(user_id, standing, now=now)
        TierChange.objects.create(
            user_id=user_id,
            cause=TierChangeCause.UPGRADE,
            from_code=earned.code,
            to_code=reached.code,
            qualifying_points=qualifying,
            changed_at=now,
        )
        _tier_event(
            user_id=user_id,
            before=context.tier,
            after=current_tier(ladder, standing, now),
            qualifying=qualifying,
            now=now,
            app=app,
        )
    return qualifying


def qualifying_take_back(takes: Iterable[tuple[int, int]]) -> None:
    """A return took back points of these credits (ledger row id, points): what they count
    toward the tiers goes down as much. In the return's transaction, after the take-backs
    (which hold the customers' account locks)."""
    takes = list(takes)
    if not takes:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tier_take_back(%s::bigint[], %s::bigint[])",
            [[credit_id for credit_id, _ in takes], [points for _, points in takes]],
        )


# ---- what a customer sees ------------------------------------------------------------------------

_VIEW_READ = f"""
    SELECT s.tier_code, s.since, s.requalify_at, s.floor_code, s.floor_until, tier_qualifying_points(%s, %s, %s)
    FROM (SELECT 1) one LEFT JOIN {TierStanding._meta.db_table} s ON s.user_id = %s
"""


@dataclass(frozen=True)
class TierView:
    """A customer's tier and their progress, as get-points and the page show them."""

    ladder: Ladder
    tier: TierDef
    standing: Standing | None
    qualifying_points: int

    def tier_fields(self) -> dict[str, Any]:
        earned = self.standing is not None and self.standing.tier_code == self.tier.code
        floor = self.standing is not None and self.standing.floor_code == self.tier.code and not earned
        return {
            "code": self.tier.code,
            "name": self.tier.name,
            "multiplier": decimal_text(self.tier.multiplier),
            "benefits": list(self.tier.benefits),
            "since": iso(self.standing.since) if earned else None,
            "requalify_at": iso(self.standing.requalify_at) if earned else None,
            "floor_until": iso(self.standing.floor_until) if floor else None,
        }

    def progress_fields(self) -> dict[str, Any]:
        return progress(self.ladder, self.tier, self.qualifying_points).fields()


def tier_view(user_id: int, *, now: datetime | None = None, ladder: Ladder | None = None) -> TierView | None:
    """The customer's tier now and their qualifying points; None while no ladder is set. Two
    reads: the ladder, then the standing with the window's sum."""
    now = now or timezone.now()
    ladder = ladder or ladder_read()
    if ladder is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_VIEW_READ, [user_id, *ladder.window(program_time(now).date()), user_id])
        *standing_row, qualifying = cursor.fetchone()
    standing = _standing_of(standing_row)
    tier = current_tier(ladder, standing, now, qualifying=qualifying)
    return TierView(ladder=ladder, tier=tier, standing=standing, qualifying_points=qualifying)


def tier_fields(user_id: int) -> dict[str, Any]:
    """``tier`` and ``tier_progress`` as the API answers them (both null with no ladder)."""
    return tier_fields_by(user_id, ladder_read())


def tier_fields_by(user_id: int, ladder: Ladder | None) -> dict[str, Any]:
    """``tier_fields`` by a ladder already read (None: no ladder is set, no read at all)."""
    view = tier_view(user_id, ladder=ladder) if ladder is not None else None
    if view is None:
        return {"tier": None, "tier_progress": None}
    return {"tier": view.tier_fields(), "tier_progress": view.progress_fields()}


def answer_with_tier(
    user_id: int, answer: str, ladder_value: Mapping[str, Any] | None
) -> orjson.Fragment | dict[str, Any]:
    """An answer PostgreSQL wrote whole with ``"tier":null,"tier_progress":null`` (get-points,
    get-user-info), and the ladder read in the same statement (``LADDER_JSON``): the bytes as
    they are while no ladder is set; with one, the answer with ``tier_fields`` in place of those
    nulls (the keys keep their order). Which tier a customer holds is rewards/tiers.py's rule,
    the one the writes decide by; it is not written again in SQL."""
    if ladder_value is None:
        return orjson.Fragment(answer)
    return orjson.loads(answer) | tier_fields_by(user_id, ladder_of(ladder_value))


# get-points' answer now (``points_answer``) with the ladder, in one statement; the lean path
# runs the same read in the token's statement (loyalty/lean.py).
POINTS_ANSWER_READ = f"SELECT points_answer(%s), {LADDER_JSON}"


def points_answer_of(user_id: int, row: Sequence[Any]) -> orjson.Fragment | dict[str, Any]:
    """get-points' answer from a ``POINTS_ANSWER_READ`` row."""
    answer, ladder_value = row
    return answer_with_tier(user_id, answer, ladder_value)


def points_answer(*, user_id: int) -> orjson.Fragment | dict[str, Any]:
    """get-points' answer now, read where the request's reads go (``read_alias``)."""
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(POINTS_ANSWER_READ, [user_id])
        return points_answer_of(user_id, cursor.fetchone())


# get-user-info's answer (``answer_user_info``) with the ladder, in one statement: by user_id,
# limit and the cursor (NULL: the first page, which is all the lean path serves).
USER_INFO_READ = f"SELECT answer_user_info(%s, %s, %s), {LADDER_JSON}"
USER_INFO_FIRST_PAGE_READ = f"SELECT answer_user_info(%s, %s, NULL), {LADDER_JSON}"


def user_info_answer_of(user_id: int, row: Sequence[Any]) -> orjson.Fragment | dict[str, Any]:
    """get-user-info's answer from a ``USER_INFO_READ`` row."""
    answer, ladder_value = row
    return answer_with_tier(user_id, answer, ladder_value)


def user_info_answer(*, user_id: int, limit: int, before_id: int | None) -> orjson.Fragment | dict[str, Any]:
    """get-user-info's answer (balance, badges, a page of the history) with its tier, in one
    statement. Read where the request's reads go."""
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(USER_INFO_READ, [user_id, limit, before_id])
        return user_info_answer_of(user_id, cursor.fetchone())


# ---- staff floors ---------------------------------------------------------------------------------


@transaction.atomic
def tier_floor_set(*, user_id: int, code: str, until: datetime, reason: str, by: str) -> TierChange:
    """A staff floor: the customer has at least tier ``code`` until ``until``, for ``reason``;
    recorded as a change, with ``tier.upgraded`` if it lifts them. A new floor replaces the
    last one (an empty ``code`` ends it now)."""
    now = timezone.now()
    ladder = ladder_read()
    if ladder is None:
        raise UnknownTier("No tier ladder is set.", fields={"tier": ["Set the tier ladder first."]})
    if code and ladder.find(code) is None:
        raise UnknownTier(f"The ladder has no tier {code!r}.", fields={"tier": [f"Not a tier: {code!r}."]})
    if code and until <= now:
        raise DomainError("A floor must end in the future.", fields={"until": ["Must be in the future."]})
    if not reason.strip():
        raise DomainError("Say why.", fields={"reason": ["A floor needs a reason."]})
    standing = standing_lock(user_id, now=now)
    before = current_tier(ladder, standing, now)
    if standing is None:
        standing = Standing(tier_code=ladder.lowest.code, since=now, requalify_at=None)
        _standing_save(user_id, standing, now=now)
    standing = replace(standing, floor_code=code, floor_until=until if code else None)
    TierStanding.objects.filter(user_id=user_id).update(
        floor_code=standing.floor_code, floor_until=standing.floor_until, updated_at=now
    )
    change = TierChange.objects.create(
        user_id=user_id,
        cause=TierChangeCause.FLOOR,
        from_code=before.code,
        to_code=code,
        floor_until=standing.floor_until,
        reason=reason.strip(),
        changed_by=by,
        changed_at=now,
    )
    _tier_event(
        user_id=user_id, before=before, after=current_tier(ladder, standing, now), qualifying=None, now=now, app=None
    )
    return change


# ---- requalification ------------------------------------------------------------------------------


@dataclass
class RequalifyReport:
    checked: int = 0
    downgraded: int = 0
    floors_ended: int = 0
    moves: list[tuple[int, str, str]] = field(default_factory=list)


def _due(now: datetime):
    return TierStanding.objects.filter(Q(requalify_at__lte=now) | Q(floor_until__lte=now)).order_by("user_id")


def tiers_requalify(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> RequalifyReport:
    """The requalification job: customers whose date has come keep the highest tier, up to
    their own, whose retain points their qualifying points meet on that date (in the
    program's time zone), and the date moves on a window; floors whose end has come end.
    Reads only the customers due, in batches locked with ``SKIP LOCKED``; a customer done has
    nothing due until their next date, so the job is idempotent and safe beside itself."""
    now = now or timezone.now()
    report = RequalifyReport()
    ladder = ladder_read()
    if ladder is None:
        return report
    while True:
        with transaction.atomic():
            batch = list(_due(now).select_for_update(skip_locked=True)[:batch_size])
            for row in batch:
                _requalify(ladder, row, now=now, report=report)
        if len(batch) < batch_size:
            break
    return report


def _requalify(ladder: Ladder, row: TierStanding, *, now: datetime, report: RequalifyReport) -> None:
    standing = Standing(*(getattr(row, name) for name in _STANDING_COLUMNS))
    before = held_tier(ladder, standing)
    if ladder.find(standing.tier_code) is None:  # a tier a ladder change removed: where the points are now
        earned = ladder.reached(qualifying_points(row.user_id, ladder=ladder, on=program_time(now).date()))
    else:
        earned = earned_tier(ladder, standing)
    since, requalify_at = standing.since, standing.requalify_at
    qualifying = None
    while requalify_at is not None and requalify_at <= now:
        qualifying = qualifying_points(row.user_id, ladder=ladder, on=program_time(requalify_at).date())
        kept = ladder.kept(qualifying, at_most=earned)
        if kept != earned:
            TierChange.objects.create(
                user_id=row.user_id,
                cause=TierChangeCause.REQUALIFY,
                from_code=earned.code,
                to_code=kept.code,
                qualifying_points=qualifying,
                changed_at=now,
            )
            earned, since = kept, requalify_at
        requalify_at = None if earned == ladder.lowest else ladder.requalify_after(requalify_at)
    floor_ended = standing.floor_until is not None and standing.floor_until <= now
    if floor_ended:
        TierChange.objects.create(
            user_id=row.user_id,
            cause=TierChangeCause.FLOOR_END,
            from_code=standing.floor_code,
            to_code=earned.code,
            changed_at=now,
        )
        report.floors_ended += 1
    after = Standing(
        tier_code=earned.code,
        since=since,
        requalify_at=requalify_at,
        floor_code="" if floor_ended else standing.floor_code,
        floor_until=None if floor_ended else standing.floor_until,
    )
    TierStanding.objects.filter(user_id=row.user_id).update(
        tier_code=after.tier_code,
        since=after.since,
        requalify_at=after.requalify_at,
        floor_code=after.floor_code,
        floor_until=after.floor_until,
        updated_at=now,
    )
    report.checked += 1
    moved_to = current_tier(ladder, after, now)
    if moved_to != before:
        report.downgraded += 1
        report.moves.append((row.user_id, before.code, moved_to.code))
    _tier_event(user_id=row.user_id, before=before, after=moved_to, qualifying=qualifying, now=now, app=None)


# ---- a ladder change ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recomputed:
    user_id: int
    from_code: str
    to_code: str
    qualifying_points: int


def tiers_recompute(*, dry_run: bool, now: datetime | None = None) -> list[Recomputed]:
    """After a ladder change: customers whose qualifying points now reach a higher tier move up,
    and those whose tier the ladder no longer has are placed by their qualifying points.
    Nobody moves down otherwise: that waits for their requalification date. With ``dry_run``,
    only who would move."""
    now = now or timezone.now()
    ladder = ladder_read()
    if ladder is None:
        return []
    window_before, today = ladder.window(program_time(now).date())
    in_window = QualifyingDay.objects.filter(day__gt=window_before, day__lte=today, points__gt=0)
    user_ids = sorted(
        set(TierStanding.objects.values_list("user_id", flat=True)) | set(in_window.values_list("user_id", flat=True))
    )
    moves = []
    for user_id in user_ids:
        with transaction.atomic():
            standing = standing_lock(user_id, now=now) if not dry_run else _standing_read(user_id)
            qualifying = qualifying_points(user_id, ladder=ladder, on=program_time(now).date())
            reached = ladder.reached(qualifying)
            known = standing is not None and ladder.find(standing.tier_code) is not None
            earned = earned_tier(ladder, standing, qualifying=qualifying) if known else None
            if earned is not None and reached.entry_points <= earned.entry_points:
                continue
            if earned is None and standing is None and reached == ladder.lowest:
                continue
            moves.append(
                Recomputed(
                    user_id=user_id,
                    from_code=standing.tier_code if standing else ladder.lowest.code,
                    to_code=reached.code,
                    qualifying_points=qualifying,
                )
            )
            if not dry_run:
                _recompute_apply(ladder, user_id, standing, reached, qualifying, now=now)
    return moves


def _standing_read(user_id: int) -> Standing | None:
    row = TierStanding.objects.filter(user_id=user_id).values_list(*_STANDING_COLUMNS).first()
    return _standing_of(row)


def _recompute_apply(
    ladder: Ladder, user_id: int, standing: Standing | None, reached: TierDef, qualifying: int, *, now: datetime
) -> None:
    before = current_tier(ladder, standing, now, qualifying=qualifying)
    after = Standing(
        tier_code=reached.code,
        since=now,
        requalify_at=None if reached == ladder.lowest else ladder.requalify_after(now),
        floor_code=standing.floor_code if standing else "",
        floor_until=standing.floor_until if standing else None,
    )
    _standing_save(user_id, after, now=now)
    TierChange.objects.create(
        user_id=user_id,
        cause=TierChangeCause.RECOMPUTE,
        from_code=standing.tier_code if standing else "",
        to_code=reached.code,
        qualifying_points=qualifying,
        changed_at=now,
    )
    _tier_event(
        user_id=user_id, before=before, after=current_tier(ladder, after, now), qualifying=qualifying, now=now, app=None
    )


def ladder_fields() -> dict[str, Any]:
    """The ladder as the API shows it (no ladder: no tiers, and nulls)."""
    settings_row = ladder_settings()
    ladder = ladder_read() if settings_row else None
    if ladder is None:
        return {"tiers": [], "window_days": None, "qualifying_kinds": [], "updated_at": None, "updated_by": None}
    return {
        "tiers": [tier.fields() for tier in ladder.tiers],
        "window_days": ladder.window_days,
        "qualifying_kinds": list(ladder.qualifying_kinds),
        "updated_at": iso(settings_row.updated_at),
        "updated_by": settings_row.updated_by,
    }
