"""Challenges: goals staff set ("3 orders in 30 days", "spend 200 this month", "a 7-day
streak"), each customer's progress toward them, and the completion that gives the reward.

- **The grammar** (``CHALLENGE``): a challenge's goal names a metric and a target, and its
  conditions are the rule conditions of the metric's event, checked by the rules' own grammar
  (``rewards.program.validate.conditions_for``) and judged by the rules' engine.
- **Progress** is moved in the transaction of the event that moves it (an order, a purchase, an
  activity), by one call of ``challenge_progress_add`` (rewards/sql/challenges.sql) for all the
  challenges the event counts for, under the customer's account lock: every event of one
  customer is serialised there, so a target crossed by racing events is completed once (and a
  partial unique constraint says so again). Each event's part is its own contribution row, so
  a return takes back exactly its share from the period that counted it.
- **A completion** gives the reward's points (a ledger row of kind ``challenge``, whose event is
  ``challenge.completed``) and badge. Its points are pending as long as those of the event
  that completed it (``stands_at``); a return before then that brings the progress below the
  target cancels it: the points are taken back through the ledger (kind ``challenge_cancel``,
  event ``challenge.cancelled``), the badge too, and the challenge can be completed again.

An event with no active challenge of its trigger costs one indexed read and nothing else.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from core.limits import MAX_POINTS_PER_ENTRY
from core.validation import (
    Choice,
    DateTime,
    Integer,
    Invalid,
    ListOf,
    Object,
    ObjectList,
    Text,
    pattern,
    plain_errors,
    visible_text,
)
from rewards.errors import ChallengeExists, ChallengeInvalid, ChallengeNotFound
from rewards.json_rows import json_rows_loader, json_rows_sql
from rewards.models import (
    Badge,
    CapPeriod,
    Challenge,
    ChallengeCompletion,
    ChallengeMetric,
    ChallengeProgress,
    EventType,
    RewardKind,
    RuleStatus,
    RuleTrigger,
)
from rewards.program.engine import (
    ProgramEvent,
    condition_holds,
    names_tier,
    period_start,
    program_time,
    segment_codes_named,
)
from rewards.program.validate import CONDITION, MAX_CONDITIONS, conditions_for
from rewards.segments.membership import segments_of, segments_unknown
from rewards.selectors import Balance
from rewards.services.badges import BADGE_CODE_MESSAGE, BADGE_CODE_PATTERN, badge_award, badge_revoke
from rewards.services.events import event_record
from rewards.services.ledger import Posting, credit_take_back, points_credit
from rewards.shapes import iso

# ---- the grammar -----------------------------------------------------------------------------

# The event each metric counts; a streak counts the days of the event its goal names.
METRIC_TRIGGERS = {
    ChallengeMetric.ORDERS: RuleTrigger.ORDER,
    ChallengeMetric.SPEND: RuleTrigger.ORDER,
    ChallengeMetric.PURCHASES: RuleTrigger.PURCHASE,
    ChallengeMetric.ACTIVITIES: RuleTrigger.ACTIVITY,
}
STREAK_EVENTS = (RuleTrigger.ORDER, RuleTrigger.PURCHASE, RuleTrigger.ACTIVITY)
WINDOW_PERIODS = (CapPeriod.WEEK, CapPeriod.MONTH, CapPeriod.YEAR)
MAX_TARGET = 10**12
MAX_WINDOW_DAYS = 3_660
MAX_SEGMENT_CODES = 20
# The one period of a challenge without a calendar window (a rolling one, or none): ever.
EVER = date.min
CHALLENGE_KEYS = (
    "code",
    "name",
    "description",
    "status",
    "starts_at",
    "ends_at",
    "segment_codes",
    "goal",
    "window",
    "reward",
)


def goal_trigger(goal: Mapping[str, Any]) -> str:
    """The event a goal counts: its metric's, or for a streak the one it names."""
    if goal["metric"] == ChallengeMetric.STREAK_DAYS:
        return goal.get("event", RuleTrigger.ORDER)
    return METRIC_TRIGGERS[goal["metric"]]


def _goal_whole(goal: dict[str, Any]) -> dict[str, Any]:
    streak = goal["metric"] == ChallengeMetric.STREAK_DAYS
    if "event" in goal and not streak:
        raise Invalid({"event": [f"Only a streak names its event; {goal['metric']} counts its own."]})
    if streak:
        goal.setdefault("event", RuleTrigger.ORDER)
    trigger = goal_trigger(goal)
    if trigger == RuleTrigger.ACTIVITY and not goal["activity_name"]:
        raise Invalid({"activity_name": ["A goal that counts activities names its activity."]})
    if trigger != RuleTrigger.ACTIVITY and goal["activity_name"]:
        raise Invalid({"activity_name": ["Only a goal that counts activities names one."]})
    if not goal["activity_name"]:
        del goal["activity_name"]
    goal["conditions"] = conditions_for(goal["conditions"], trigger)
    return goal


def _window_whole(window: dict[str, Any]) -> dict[str, Any]:
    if len(window) > 1:
        raise Invalid({"days": ["A window is a calendar period or a number of days, not both."]})
    return window


def _reward_whole(reward: dict[str, Any]) -> dict[str, Any]:
    if not reward:
        raise Invalid({"points": ["A reward gives points, a badge or both."]})
    if "badge" in reward and not Badge.objects.filter(code=reward["badge"]).exists():
        raise Invalid({"badge": [f"No badge has the code {reward['badge']!r}."]})
    return reward


def _challenge_whole(challenge: dict[str, Any]) -> dict[str, Any]:
    if challenge["starts_at"] and challenge["ends_at"] and challenge["starts_at"] >= challenge["ends_at"]:
        raise Invalid({"ends_at": ["Must be after starts_at."]})
    codes = challenge["segment_codes"]
    if len(set(codes)) != len(codes):
        raise Invalid({"segment_codes": ["Each segment once."]})
    unknown = segments_unknown(codes)
    if unknown:
        raise Invalid({"segment_codes": [f"No segment has the code {code!r}." for code in unknown]})
    if challenge["goal"]["metric"] == ChallengeMetric.STREAK_DAYS and "days" in challenge["window"]:
        raise Invalid({"window": {"days": ["A streak counts days in a row: its window is a period or none."]}})
    return challenge


GOAL = Object(
    {
        "metric": Choice(ChallengeMetric.choices),
        "target": Integer(min_value=1, max_value=MAX_TARGET),
        "conditions": ObjectList(CONDITION, max_length=MAX_CONDITIONS, default=list),
        "event": Choice(STREAK_EVENTS, required=False),
        "activity_name": Text(max_length=100, allow_blank=True, default=""),
    },
    whole=_goal_whole,
)
WINDOW = Object(
    {
        "period": Choice(WINDOW_PERIODS, required=False),
        "days": Integer(min_value=1, max_value=MAX_WINDOW_DAYS, required=False),
    },
    whole=_window_whole,
    allow_null=True,
    default=dict,
)
REWARD = Object(
    {
        "points": Integer(min_value=1, max_value=MAX_POINTS_PER_ENTRY, required=False),
        "badge": Text(max_length=50, required=False),
    },
    whole=_reward_whole,
)
CHALLENGE = Object(
    {
        "code": Text(max_length=50, checks=[pattern(BADGE_CODE_PATTERN, BADGE_CODE_MESSAGE)]),
        "name": visible_text(max_length=100),
        "description": Text(max_length=500, allow_blank=True, trim=False, default=""),
        "status": Choice(RuleStatus.choices, default=RuleStatus.DRAFT),
        "starts_at": DateTime(allow_null=True, default=None),
        "ends_at": DateTime(allow_null=True, default=None),
        "segment_codes": ListOf(Text(max_length=50), max_length=MAX_SEGMENT_CODES, default=list),
        "goal": GOAL,
        "window": WINDOW,
        "reward": REWARD,
    },
    whole=_challenge_whole,
    nul_refused=True,
)


def challenge_validated(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A challenge's definition as the model stores it, or ``ChallengeInvalid`` naming what is
    wrong (``goal.conditions.0.field``)."""
    try:
        valid = CHALLENGE.validate(dict(definition))
    except Invalid as error:
        raise ChallengeInvalid(fields=plain_errors(error.detail)) from None
    valid["window"] = valid["window"] or {}
    return valid


def challenge_definition(challenge: Challenge) -> dict[str, Any]:
    return {name: getattr(challenge, name) for name in CHALLENGE_KEYS}


# ---- staff: create, edit, archive --------------------------------------------------------------


def challenge_find(*, code: str) -> Challenge:
    challenge = Challenge.objects.filter(code=code).first()
    if challenge is None:
        raise ChallengeNotFound()
    return challenge


def challenges_listed() -> list[Challenge]:
    return list(Challenge.objects.order_by("code"))


def challenge_create(*, definition: Mapping[str, Any], by: str) -> Challenge:
    """A new challenge from a definition the grammar accepts (else a 400 naming what is wrong);
    a code taken is a 409."""
    valid = challenge_validated(definition)
    now = timezone.now()
    challenge = Challenge(**valid, trigger=goal_trigger(valid["goal"]), created_at=now, updated_at=now, updated_by=by)
    try:
        with transaction.atomic():
            challenge.save()
    except IntegrityError:
        raise ChallengeExists() from None
    return challenge


@transaction.atomic
def challenge_edit(*, code: str, changes: Mapping[str, Any], by: str) -> Challenge:
    """Apply ``changes`` to the challenge as it is now, under its row lock, the whole result
    validated. Its code stays (progress and completions name it). Progress already made stays
    as it was counted; events from now on count by the new goal."""
    challenge = Challenge.objects.select_for_update().filter(code=code).first()
    if challenge is None:
        raise ChallengeNotFound()
    if changes.get("code", code) != code:
        raise ChallengeInvalid(fields={"code": ["A challenge's code does not change; create another one."]})
    valid = challenge_validated({**challenge_definition(challenge), **changes})
    counted_as = (goal_trigger(challenge.goal), challenge.goal["metric"], challenge.window)
    # What the progress made so far counts, and over which periods, cannot come to mean something else.
    changed = counted_as != (goal_trigger(valid["goal"]), valid["goal"]["metric"], valid["window"])
    if changed and ChallengeProgress.objects.filter(challenge=challenge).exists():
        raise ChallengeInvalid(
            fields={
                "goal": [
                    "Customers have progress in this challenge: its metric, event and window stay. "
                    "Archive it and create another."
                ]
            }
        )
    for name, value in valid.items():
        setattr(challenge, name, value)
    challenge.trigger = goal_trigger(valid["goal"])
    challenge.updated_at, challenge.updated_by = timezone.now(), by
    challenge.save()
    return challenge


def challenge_archive(*, code: str, by: str) -> Challenge:
    """Archive: nothing counts toward it any more; its progress and completions stay."""
    return challenge_edit(code=code, changes={"status": RuleStatus.ARCHIVED}, by=by)


# ---- what an event counts for -----------------------------------------------------------------

# The trigger's active challenges as one JSON value (``rewards/services/program.py`` reads it
# with the rules and the ladder).
CHALLENGES_JSON = json_rows_sql("challenges_active(%s)")
challenges_loaded = json_rows_loader(Challenge)


def challenges_active(trigger: str) -> list[Challenge]:
    """The trigger's active challenges: one indexed read through the database function
    ``challenges_active`` (its plan made once per connection), by hand as the rules are read,
    since it is on every event's path."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {CHALLENGES_JSON}", [trigger])
        return challenges_loaded(cursor.fetchone()[0])


def challenge_period(challenge: Challenge, moment: datetime) -> date:
    """The first day of the period that counts an event at ``moment``: its calendar period's
    (program time zone, weeks from Monday), else ``EVER``."""
    period = challenge.window.get("period")
    return period_start(moment, period) if period else EVER


def period_end(challenge: Challenge, start: date) -> datetime | None:
    """When the period that started on ``start`` ends (program time zone); None for ``EVER``."""
    period = challenge.window.get("period")
    if not period:
        return None
    if period == CapPeriod.WEEK:
        end = start + timedelta(days=7)
    elif period == CapPeriod.MONTH:
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    else:
        end = date(start.year + 1, 1, 1)
    return datetime.combine(end, time.min, tzinfo=ZoneInfo(settings.PROGRAM_TIME_ZONE))


def challenge_begins(challenge: Challenge) -> datetime:
    """The first moment an event counts toward the challenge: its ``starts_at``, else when it
    was created. An event dated before it (an order sent with an old ``completed_at``, a
    history backfilled) counts for nothing, so no period before the challenge existed is ever
    completed. (From the whole second it was created: an order's ``completed_at`` is in seconds,
    so one completed as the challenge was made counts.)"""
    return challenge.starts_at or challenge.created_at.replace(microsecond=0)


def _counts_for(challenge: Challenge, event: ProgramEvent, segments: frozenset[str]) -> bool:
    """Whether the event moves the challenge: inside its dates (the event's time), its activity,
    a customer it is for, and all its conditions."""
    if event.occurred_at < challenge_begins(challenge):
        return False
    if challenge.ends_at is not None and event.occurred_at >= challenge.ends_at:
        return False
    if challenge.segment_codes and not segments.intersection(challenge.segment_codes):
        return False
    goal = challenge.goal
    if event.trigger == RuleTrigger.ACTIVITY and goal.get("activity_name") != event.activity_name:
        return False
    return all(condition_holds(condition, event) for condition in challenge.conditions)


def _with_customer(event: ProgramEvent, challenges: Sequence[Challenge]) -> tuple[ProgramEvent, frozenset[str]]:
    """The event with what the challenges ask of its customer: the segments they name (as
    ``segment_codes`` or in a condition) and the tier when a condition names it; nothing read
    when none does."""
    codes = set(segment_codes_named(challenges))
    for challenge in challenges:
        codes.update(challenge.segment_codes)
    segments = segments_of(user_id=event.user_id, codes=codes) if codes else frozenset()
    if event.tier is None and names_tier(challenges):
        from rewards.services.tiers import context_read, ladder_read

        ladder = ladder_read()
        if ladder is not None:
            event = replace(event, tier=context_read(ladder, event.user_id, now=timezone.now()).tier.code)
    return replace(event, segments=frozenset(event.segments | segments)), segments


@dataclass(frozen=True)
class Source:
    """The event a contribution comes from, as a return finds it: ``order`` (its order_id),
    ``purchase`` (its ledger row), ``activity`` (its row)."""

    kind: str
    id: int


@dataclass(frozen=True)
class Counted:
    """What an event did to the challenges: the completions it made, and the customer's balance
    after their points (None when none credited any), which the event's answer shows."""

    completions: list[ChallengeCompletion]
    balance: Balance | None = None


def event_count(
    event: ProgramEvent,
    *,
    source: Source,
    stands_at: datetime,
    app: Model | None,
    challenges: Sequence[Challenge] | None = None,
) -> Counted:
    """Count ``event`` toward every active challenge of its trigger it meets, in the caller's
    transaction: one call for all their progress, then a completion for each whose target it
    reached. ``stands_at``: when the event's own points stop being pending (what its
    completions' points wait for). Answers the completions it made and the balance after them."""
    challenges = challenges_active(event.trigger) if challenges is None else challenges
    if not challenges:
        return NOTHING_COUNTED
    event, segments = _with_customer(event, challenges)
    counted = [challenge for challenge in challenges if _counts_for(challenge, event, segments)]
    if not counted:
        return NOTHING_COUNTED
    now = timezone.now()
    money = int(event.money or 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM challenge_progress_add(%s, %s, %s, %s, %s, %s,"
            " %s::bigint[], %s::date[], %s::bigint[], %s::boolean[], %s::integer[], %s::bigint[])",
            [
                event.user_id,
                source.kind,
                source.id,
                event.occurred_at,
                program_time(event.occurred_at).date(),
                now,
                [challenge.pk for challenge in counted],
                [challenge_period(challenge, event.occurred_at) for challenge in counted],
                [money if challenge.goal["metric"] == ChallengeMetric.SPEND else 1 for challenge in counted],
                [challenge.goal["metric"] == ChallengeMetric.STREAK_DAYS for challenge in counted],
                [challenge.window.get("days") for challenge in counted],
                [challenge.goal["target"] for challenge in counted],
            ],
        )
        reached = [(row[0], row[1], row[3]) for row in cursor.fetchall() if row[4]]
    by_id = {challenge.pk: challenge for challenge in counted}
    completions, balance = [], None
    for challenge_id, start, value in reached:
        completion, posting = _complete(
            by_id[challenge_id],
            user_id=event.user_id,
            start=start,
            value=value,
            source=source,
            stands_at=stands_at,
            now=now,
            app=app,
        )
        completions.append(completion)
        balance = posting.balance if posting is not None else balance
    return Counted(completions, balance)


NOTHING_COUNTED = Counted([])


def _challenge_event_fields(challenge: Challenge, completion: ChallengeCompletion) -> dict[str, Any]:
    return {
        "challenge": {"code": challenge.code, "name": challenge.name},
        "completion": completion_fields(completion),
    }


def completion_fields(completion: ChallengeCompletion) -> dict[str, Any]:
    return {
        "id": completion.pk,
        "challenge": completion.challenge.code,
        "period_start": completion.period_start.isoformat() if completion.period_start != EVER else None,
        "completed_at": iso(completion.completed_at),
        "stands_at": iso(completion.stands_at),
        "progress": completion.value,
        "points": completion.points,
        "badge": completion.badge_award.badge.code if completion.badge_award_id else None,
        "source": {"kind": completion.source, "id": completion.source_id},
        "cancelled_at": iso(completion.cancelled_at),
    }


def _complete(
    challenge: Challenge,
    *,
    user_id: int,
    start: date,
    value: int,
    source: Source,
    stands_at: datetime,
    now: datetime,
    app: Model | None,
) -> tuple[ChallengeCompletion, Posting | None]:
    """The completion, its points (a ``challenge`` row pending until ``stands_at``, whose event
    is ``challenge.completed``; its posting, None with no points) and its badge (when the
    customer does not hold it already)."""
    reward = challenge.reward
    badge = None
    if "badge" in reward:
        badge = badge_award(
            user_id=user_id,
            code=reward["badge"],
            reason=f"Challenge completed: {challenge.name}",
            by=f"challenge {challenge.code}",
            now=now,
            if_not_held=True,
        )
    completion = ChallengeCompletion(
        challenge=challenge,
        user_id=user_id,
        period_start=start,
        completed_at=now,
        stands_at=max(stands_at, now),
        value=value,
        source=source.kind,
        source_id=source.id,
        points=reward.get("points", 0),
        badge_award=badge,
    )
    completion.save()  # the partial unique constraint: once per period, whatever raced
    extra = _challenge_event_fields(challenge, completion)
    if completion.points:
        posting = points_credit(
            user_id=user_id,
            points=completion.points,
            kind=RewardKind.CHALLENGE,
            description=f"Challenge completed: {challenge.name}",
            app=app,
            credited_at=completion.stands_at,
            pending_days=0,
            event_extra=extra,
        )
        completion.reward = posting.reward
        ChallengeCompletion.objects.filter(pk=completion.pk).update(reward=posting.reward)
        return completion, posting
    event_record(type=EventType.CHALLENGE_COMPLETED, user_id=user_id, now=now, app=app, extra=extra)
    return completion, None


# ---- returns --------------------------------------------------------------------------------------


def order_returned(
    *, user_id: int, order_id: int, cost: int, whole: bool, app: Model | None
) -> list[ChallengeCompletion]:
    """An order's return, in the progress of every challenge that counted it: ``cost`` back from
    spend, the order back from orders once ``whole``. A completion of those periods still
    pending (before its ``stands_at``) whose progress is now below the target is cancelled. In
    the return's transaction, under the customer's account lock. Answers what it cancelled."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM challenge_order_return(%s, %s, %s, %s, %s)", [user_id, order_id, cost, whole, now]
        )
        moved = cursor.fetchall()
    cancelled = []
    for challenge_id, start, value in moved:
        completion = (
            ChallengeCompletion.objects.select_related("challenge", "badge_award__badge")
            .filter(
                challenge_id=challenge_id,
                user_id=user_id,
                period_start=start,
                cancelled_at__isnull=True,
                stands_at__gt=now,
            )
            .first()
        )
        if completion is None:
            continue
        challenge = completion.challenge
        measured = value
        days = challenge.window.get("days")
        if days:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT challenge_window_sum(%s, %s, %s, %s)",
                    [challenge_id, user_id, start, completion.completed_at - timedelta(days=days)],
                )
                measured = cursor.fetchone()[0]
        if measured < challenge.goal["target"]:
            cancelled.append(_cancel(completion, reason=f"order {order_id} returned", now=now, app=app))
    return cancelled


def _cancel(completion: ChallengeCompletion, *, reason: str, now: datetime, app: Model | None) -> ChallengeCompletion:
    """Cancel a completion: its points taken back (still pending: cancelled in their lot), its
    badge taken back, and ``challenge.cancelled``."""
    challenge = completion.challenge
    completion.cancelled_at = now
    extra = {**_challenge_event_fields(challenge, completion), "reason": reason}
    if completion.reward_id is not None:
        posting = credit_take_back(
            user_id=completion.user_id,
            credit_id=completion.reward_id,
            points=completion.points,
            kind=RewardKind.CHALLENGE_CANCEL,
            description=f"Challenge cancelled: {challenge.name} ({reason})",
            app=app,
            event_extra=extra,
            event_type=EventType.CHALLENGE_CANCELLED,
        )
        completion.cancel_reward = posting.reward
    else:
        event_record(type=EventType.CHALLENGE_CANCELLED, user_id=completion.user_id, now=now, app=app, extra=extra)
    if completion.badge_award_id is not None and completion.badge_award.revoked_at is None:
        badge_revoke(
            award_id=completion.badge_award_id,
            reason=f"Challenge cancelled: {reason}",
            by=f"challenge {challenge.code}",
            now=now,
        )
    completion.save(update_fields=["cancelled_at", "cancel_reward"])
    return completion


# ---- reading a customer's challenges -------------------------------------------------------------


@dataclass(frozen=True)
class ChallengeStanding:
    """One challenge as a customer sees it now."""

    challenge: Challenge
    progress: int
    period_start: date
    period_ends_at: datetime | None
    completion: ChallengeCompletion | None

    def fields(self) -> dict[str, Any]:
        challenge = self.challenge
        target = challenge.goal["target"]
        return {
            "code": challenge.code,
            "name": challenge.name,
            "description": challenge.description,
            "metric": challenge.goal["metric"],
            "target": target,
            "progress": self.progress,
            "left": max(target - self.progress, 0) if self.completion is None else 0,
            "window": challenge.window,
            "period_start": self.period_start.isoformat() if self.period_start != EVER else None,
            "period_ends_at": iso(self.period_ends_at),
            "ends_at": iso(challenge.ends_at),
            "reward": challenge.reward,
            "completed": self.completion is not None,
            "completed_at": iso(self.completion.completed_at) if self.completion else None,
        }


def _current_streak(challenge: Challenge, user_id: int, start: date, today: date) -> int:
    """The run of consecutive days that ends today or yesterday (a streak not broken yet)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT day FROM rewards_challengecontribution"
            " WHERE challenge_id = %s AND user_id = %s AND period_start = %s AND day <= %s ORDER BY day DESC",
            [challenge.pk, user_id, start, today],
        )
        days = [row[0] for row in cursor.fetchall()]
    if not days or days[0] < today - timedelta(days=1):
        return 0
    run = 1
    for before, after in zip(days[1:], days, strict=False):
        if after - before != timedelta(days=1):
            break
        run += 1
    return run


def customer_challenges(*, user_id: int, now: datetime | None = None) -> list[ChallengeStanding]:
    """Every active challenge the customer may take part in now (its dates hold now and it is
    for them), with their progress in the period now, and whether they completed it."""
    now = now or timezone.now()
    challenges = [
        challenge
        for challenge in Challenge.objects.filter(status=RuleStatus.ACTIVE).order_by("id")
        if (challenge.starts_at is None or challenge.starts_at <= now)
        and (challenge.ends_at is None or now < challenge.ends_at)
    ]
    named = {code for challenge in challenges for code in challenge.segment_codes}
    segments = segments_of(user_id=user_id, codes=named, now=now) if named else frozenset()
    challenges = [c for c in challenges if not c.segment_codes or segments.intersection(c.segment_codes)]
    starts = {challenge.pk: challenge_period(challenge, now) for challenge in challenges}
    progress = {
        (row.challenge_id, row.period_start): row.value
        for row in ChallengeProgress.objects.filter(user_id=user_id, challenge__in=challenges)
    }
    completions = {
        (row.challenge_id, row.period_start): row
        for row in ChallengeCompletion.objects.filter(user_id=user_id, challenge__in=challenges, cancelled_at=None)
    }
    today = program_time(now).date()
    standings = []
    for challenge in challenges:
        start = starts[challenge.pk]
        if challenge.goal["metric"] == ChallengeMetric.STREAK_DAYS:
            value = _current_streak(challenge, user_id, start, today)
        elif challenge.window.get("days"):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT challenge_window_sum(%s, %s, %s, %s)",
                    [challenge.pk, user_id, start, now - timedelta(days=challenge.window["days"])],
                )
                value = cursor.fetchone()[0]
        else:
            value = progress.get((challenge.pk, start), 0)
        standings.append(
            ChallengeStanding(
                challenge=challenge,
                progress=value,
                period_start=start,
                period_ends_at=period_end(challenge, start) if challenge.window.get("period") else challenge.ends_at,
                completion=completions.get((challenge.pk, start)),
            )
        )
    return standings


def challenges_of(*, user_id: int) -> dict[str, Any]:
    """What a customer did toward challenges, as their export carries it: every progress (per
    challenge and period) and every completion, cancelled ones too."""
    return {
        "progress": [
            {
                "challenge": row.challenge.code,
                "period_start": row.period_start.isoformat() if row.period_start != EVER else None,
                "value": row.value,
                "updated_at": iso(row.updated_at),
            }
            for row in ChallengeProgress.objects.filter(user_id=user_id).select_related("challenge").order_by("id")
        ],
        "completions": [
            completion_fields(row)
            for row in ChallengeCompletion.objects.filter(user_id=user_id)
            .select_related("challenge", "badge_award__badge")
            .order_by("id")
        ],
    }


def challenge_fields(challenge: Challenge) -> dict[str, Any]:
    """A challenge as ``loyalty-api/challenges`` answers it."""
    return {
        "code": challenge.code,
        "name": challenge.name,
        "description": challenge.description,
        "status": challenge.status,
        "starts_at": iso(challenge.starts_at),
        "ends_at": iso(challenge.ends_at),
        "segment_codes": challenge.segment_codes,
        "goal": challenge.goal,
        "window": challenge.window,
        "reward": challenge.reward,
        "created_at": iso(challenge.created_at),
        "updated_at": iso(challenge.updated_at),
        "updated_by": challenge.updated_by,
    }
