"""Challenges: defined through loyalty-api/challenges, moved by orders, purchases and activities
in their own transactions, completed once per period, and exact through returns (a return inside
the completing event's pending time cancels a completion that falls below its target; after it,
the completion stands). Every figure is exact: progress, ledger rows, balances, events."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.models import AccessLevel, OrderAward
from loyalty.services.personal_data import customer_export
from rewards.models import (
    BadgeAward,
    Challenge,
    ChallengeCompletion,
    ChallengeContribution,
    ChallengeProgress,
    Event,
    PointLot,
)
from rewards.program.engine import period_start, program_time
from rewards.selectors import account_balance, ledger_drift
from rewards.services.badges import badge_create
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

USER = 7301
EVER = datetime(1, 1, 1).date()
LONG_AGO = "2020-01-01T00:00:00Z"


@pytest.fixture
def program(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def star(db):
    return badge_create(definition={"code": "star", "name": "Star"})


def challenge_post(program, **definition) -> dict:
    # Begun long before the tests' orders (an event before a challenge begins counts for nothing).
    body = {"name": definition.get("code", "c").title(), "status": "active", "starts_at": LONG_AGO, **definition}
    response = program.post("/loyalty-api/challenges", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def order(shop, order_id: int, total_cost: int = 1000, *, at: datetime, user_id: int = USER, **extra):
    body = {"user_id": user_id, "order_id": order_id, "total_cost": total_cost, "completed_at": ts(at), **extra}
    response = shop.post("/loyalty-api/orders", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def order_return(shop, order_id: int, **extra):
    response = shop.delete("/loyalty-api/orders", {"order_id": order_id, **extra}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def progress(code: str, start=EVER, user_id: int = USER) -> int | None:
    row = ChallengeProgress.objects.filter(challenge__code=code, user_id=user_id, period_start=start).first()
    return None if row is None else row.value


def completions(code: str, user_id: int = USER) -> list[ChallengeCompletion]:
    return list(ChallengeCompletion.objects.filter(challenge__code=code, user_id=user_id).order_by("id"))


def types(user_id: int = USER) -> list[str]:
    return list(Event.objects.filter(user_id=user_id).order_by("id").values_list("type", flat=True))


# ---- the API ------------------------------------------------------------------------------------


def test_a_challenge_is_created_listed_read_edited_and_archived(program, star):
    created = challenge_post(
        program,
        code="three-in-march",
        name="Three orders",
        description="Order three times this month",
        goal={"metric": "orders", "target": 3, "conditions": [{"field": "total_cost", "op": "gte", "value": 500}]},
        window={"period": "month"},
        reward={"points": 50, "badge": "star"},
    )
    assert {k: created[k] for k in ("code", "status", "goal", "window", "reward", "segment_codes")} == {
        "code": "three-in-march",
        "status": "active",
        "goal": {"metric": "orders", "target": 3, "conditions": [{"field": "total_cost", "op": "gte", "value": 500}]},
        "window": {"period": "month"},
        "reward": {"points": 50, "badge": "star"},
        "segment_codes": [],
    }
    assert created["updated_by"] == "application program"
    assert [c["code"] for c in program.get("/loyalty-api/challenges").json()["challenges"]] == ["three-in-march"]
    assert program.get("/loyalty-api/challenges/three-in-march").json()["name"] == "Three orders"

    edited = program.patch(
        "/loyalty-api/challenges/three-in-march", {"goal": {"metric": "orders", "target": 4}}, format="json"
    )
    assert edited.status_code == 200, edited.json()
    assert edited.json()["goal"] == {"metric": "orders", "target": 4, "conditions": []}

    archived = program.delete("/loyalty-api/challenges/three-in-march")
    assert archived.json()["status"] == "archived"
    assert Challenge.objects.get().status == "archived"

    assert program.get("/loyalty-api/challenges/nope").json()["error"]["code"] == "challenge_not_found"
    again = program.post(
        "/loyalty-api/challenges",
        {"code": "three-in-march", "name": "x", "goal": {"metric": "orders", "target": 1}, "reward": {"points": 1}},
        format="json",
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "challenge_exists")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"goal": {"metric": "orders", "target": 3, "conditions": [{"field": "amount", "op": "eq", "value": 1}]}},
            "goal",
            "conditions: 0: field: amount is not a field of order events",
        ),
        (
            {"goal": {"metric": "spend", "target": 0}},
            "goal",
            "target: Ensure this value is greater than or equal to 1.",
        ),
        ({"goal": {"metric": "laps", "target": 3}}, "goal", "metric: "),
        ({"goal": {"metric": "activities", "target": 3}}, "goal", "activity_name: "),
        ({"goal": {"metric": "orders", "target": 3, "event": "purchase"}}, "goal", "event: "),
        ({"goal": {"metric": "streak_days", "target": 3}, "window": {"days": 7}}, "window", "days: A streak"),
        ({"window": {"period": "week", "days": 7}}, "window", "days: A window is"),
        ({"window": {"period": "fortnight"}}, "window", "period: "),
        ({"reward": {}}, "reward", "points: A reward gives"),
        ({"reward": {"badge": "nope"}}, "reward", "badge: No badge"),
        ({"segment_codes": ["nobody"]}, "segment_codes", "No segment"),
        ({"code": "Not A Slug"}, "code", "Lower-case"),
        ({"starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}, "ends_at", "Must be after"),
        ({"prize": 1}, "prize", "Unknown key"),
    ],
)
def test_a_bad_challenge_is_a_400_naming_the_field_and_writes_nothing(program, change, field, message):
    body = {"code": "c", "name": "C", "goal": {"metric": "orders", "target": 3}, "reward": {"points": 5}, **change}
    response = program.post("/loyalty-api/challenges", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["fields"][field][0].startswith(message), response.json()
    assert not Challenge.objects.exists()


def test_a_bad_edit_is_a_400_and_leaves_the_challenge_as_it_was(program):
    challenge_post(program, code="c", goal={"metric": "orders", "target": 3}, reward={"points": 5})
    response = program.patch("/loyalty-api/challenges/c", {"goal": {"metric": "orders", "target": -1}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"goal": ["target: Ensure this value is greater than or equal to 1."]}
    assert Challenge.objects.get().goal == {"metric": "orders", "target": 3, "conditions": []}


def test_once_customers_have_progress_the_metric_and_window_stay(shop, program):
    challenge_post(program, code="c", goal={"metric": "orders", "target": 3}, reward={"points": 5})
    assert program.patch("/loyalty-api/challenges/c", {"window": {"period": "week"}}, format="json").status_code == 200
    order(shop, 81, at=timezone.now())

    for change in ({"goal": {"metric": "spend", "target": 3}}, {"window": {"period": "month"}}):
        refused = program.patch("/loyalty-api/challenges/c", change, format="json")
        assert refused.status_code == 400
        assert refused.json()["error"]["fields"]["goal"][0].startswith("Customers have progress")
    raised = program.patch("/loyalty-api/challenges/c", {"goal": {"metric": "orders", "target": 5}}, format="json")
    assert raised.status_code == 200
    assert Challenge.objects.get().window == {"period": "week"}


def test_only_program_managers_manage_challenges(shop, program):
    assert shop.get("/loyalty-api/challenges").status_code == 403
    assert shop.post("/loyalty-api/challenges", {}, format="json").status_code == 403


# ---- orders, month window ----------------------------------------------------------------------------


def test_orders_in_a_month_complete_once_that_month_with_points_and_a_badge(shop, program, star):
    challenge_post(
        program,
        code="three",
        goal={"metric": "orders", "target": 3},
        window={"period": "month"},
        reward={"points": 50, "badge": "star"},
    )
    march, april = datetime(2026, 3, 1).date(), datetime(2026, 4, 1).date()
    order(shop, 1, at=datetime(2026, 3, 2, 10, tzinfo=UTC))
    order(shop, 2, at=datetime(2026, 3, 30, 10, tzinfo=UTC))
    order(shop, 3, at=datetime(2026, 4, 1, 10, tzinfo=UTC))  # April's period
    assert (progress("three", march), progress("three", april)) == (2, 1)
    assert completions("three") == []

    order(shop, 4, at=datetime(2026, 3, 31, 21, tzinfo=UTC))
    order(shop, 5, at=datetime(2026, 3, 31, 22, tzinfo=UTC))  # past the target: no second completion

    assert progress("three", march) == 4
    [done] = completions("three")
    assert (done.period_start, done.value, done.points, done.source, done.source_id) == (march, 3, 50, "order", 4)
    assert done.reward.kind == "challenge" and done.reward.points_earned == 50
    assert BadgeAward.objects.get(user_id=USER).pk == done.badge_award_id
    # 5 orders of 1000 at 0.05: 250, and the challenge's 50.
    assert account_balance(user_id=USER).total_points == 300
    assert types().count("challenge.completed") == 1
    assert types().count("badge.awarded") == 1
    completed = Event.objects.get(type="challenge.completed")
    assert completed.data["challenge"] == {"code": "three", "name": "Three"}
    assert completed.data["completion"]["points"] == 50
    assert completed.data["reward"]["points_earned"] == 50
    assert ledger_drift() == []


def test_orders_dated_before_the_challenge_began_count_for_nothing(shop, program, star):
    """A shop backfilling its history (or sending old completed_at) completes no period from
    before the challenge existed: with no starts_at it begins when it was created."""
    created = challenge_post(
        program,
        code="monthly",
        starts_at=None,
        goal={"metric": "orders", "target": 2},
        window={"period": "month"},
        reward={"points": 100, "badge": "star"},
    )
    begun = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00")).replace(microsecond=0)
    for order_id, days_before in ((61, 400), (62, 399), (63, 40), (64, 39), (65, 1)):
        order(shop, order_id, at=begun - timedelta(days=days_before))
    order(shop, 66, at=begun - timedelta(seconds=1))
    assert ChallengeProgress.objects.count() == 0 and ChallengeContribution.objects.count() == 0
    assert completions("monthly") == [] and not BadgeAward.objects.exists()

    order(shop, 67, at=begun)  # the second it was created counts (completed_at is in seconds)
    assert progress("monthly", period_start(begun, "month")) == 1
    # Six orders of 1000 at 0.05 before, one after: 350 points, none from the challenge.
    assert account_balance(user_id=USER).total_points == 350
    assert ledger_drift() == []


def test_the_answer_of_a_completing_write_shows_the_balance_after_the_completions_points(shop, program):
    for code, metric in (("o", "orders"), ("p", "purchases"), ("a", "activities")):
        goal = {"metric": metric, "target": 1, **({"activity_name": "review"} if metric == "activities" else {})}
        challenge_post(program, code=code, goal=goal, reward={"points": 7})

    placed_at = timezone.now()
    placed = order(shop, 71, at=placed_at)
    assert placed["current_balance"] == 50 + 7 == account_balance(user_id=USER).total_points
    bought = shop.post(
        "/rewards-api/purchase/", {"user_id": USER, "amount": "1.00", "reward_description": "shop"}, format="json"
    )
    assert bought.json()["total_points"] == 57 + 2 + 7 == account_balance(user_id=USER).total_points
    body = {"user_id": USER, "name": "review", "activity_id": "r1", "properties": {}}
    reviewed = shop.post("/rewards-api/activities/", body, format="json")
    assert reviewed.json()["total_points"] == 66 + 7 == account_balance(user_id=USER).total_points
    # A replay answers as the first answer did: the balance after the completion.
    assert shop.post("/rewards-api/activities/", body, format="json").json()["total_points"] == 73
    replayed = shop.post(
        "/loyalty-api/orders",
        {"user_id": USER, "order_id": 71, "total_cost": 1000, "completed_at": ts(placed_at)},
        format="json",
    )
    assert replayed.json()["current_balance"] == 57
    assert ledger_drift() == []


def test_a_yearly_window_counts_each_order_in_its_own_year_in_the_program_time_zone(shop, program, settings):
    settings.PROGRAM_TIME_ZONE = "Europe/Paris"
    challenge_post(
        program, code="year", goal={"metric": "orders", "target": 2}, window={"period": "year"}, reward={"points": 9}
    )
    y2025, y2026 = datetime(2025, 1, 1).date(), datetime(2026, 1, 1).date()
    order(shop, 91, at=datetime(2025, 12, 31, 22, 0, tzinfo=UTC))  # 23:00 in Paris: 2025
    order(shop, 92, at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC))  # 00:30 in Paris: 2026
    assert (progress("year", y2025), progress("year", y2026)) == (1, 1)
    order(shop, 93, at=datetime(2026, 6, 1, 12, tzinfo=UTC))

    assert (progress("year", y2025), progress("year", y2026)) == (1, 2)
    [done] = completions("year")
    assert (done.period_start, done.source_id, done.points) == (y2026, 93, 9)
    order(shop, 94, at=datetime(2025, 3, 1, 12, tzinfo=UTC))  # 2025 reaches 2 too: its own completion
    assert [(c.period_start, c.source_id) for c in completions("year")] == [(y2026, 93), (y2025, 94)]
    assert account_balance(user_id=USER).total_points == 4 * 50 + 2 * 9
    assert ledger_drift() == []


# ---- spend with conditions, returns ------------------------------------------------------------------


def test_a_return_inside_the_pending_time_cancels_and_the_challenge_is_completed_again(shop, program, star, settings):
    settings.ORDER_POINTS_PENDING_DAYS = 14
    challenge_post(
        program,
        code="shoes",
        goal={
            "metric": "spend",
            "target": 5000,
            "conditions": [{"field": "item.category", "op": "eq", "value": "shoes"}],
        },
        reward={"points": 200, "badge": "star"},
    )
    now = timezone.now()
    shoes = [{"sku": "s1", "category": "shoes", "quantity": 1, "price": 1000}]
    order(shop, 11, 3000, at=now, items=shoes)
    order(shop, 12, 4000, at=now, items=[{"sku": "h", "category": "hats", "quantity": 1, "price": 1000}])
    assert progress("shoes") == 3000  # the hats do not count
    order(shop, 13, 2000, at=now, items=shoes)
    [first] = completions("shoes")
    assert (first.value, first.points, first.source_id) == (5000, 200, 13)
    # Its points wait as the completing order's do: 14 days after its completed_at.
    order_lot = PointLot.objects.get(credit_id=OrderAward.objects.get(order_id=13).credit_id)
    assert PointLot.objects.get(credit_id=first.reward_id).available_at == order_lot.available_at == first.stands_at
    balance = account_balance(user_id=USER)
    assert (balance.total_points, balance.pending_points) == (0, 150 + 200 + 100 + 200)

    order_return(shop, 11, returned_cost=1000)  # 4000 left: below the target, inside the 14 days

    assert progress("shoes") == 4000
    first.refresh_from_db()
    assert first.cancelled_at is not None
    assert first.cancel_reward.kind == "challenge_cancel"
    assert first.cancel_reward.pending_change == -200
    assert BadgeAward.objects.get(pk=first.badge_award_id).revoked_at is not None
    # 450 pending from the orders (150 + 200 + 100), less 50 the return took back; none from the challenge.
    balance = account_balance(user_id=USER)
    assert (balance.total_points, balance.pending_points) == (0, 400)
    assert types().count("challenge.cancelled") == 1 and types().count("badge.revoked") == 1

    order(shop, 14, 1000, at=now, items=shoes)  # 5000 again

    second = completions("shoes")[1]
    assert (second.value, second.cancelled_at, second.source_id) == (5000, None, 14)
    assert BadgeAward.objects.filter(user_id=USER, revoked_at=None).count() == 1
    # The return made the penalty coefficient 1.2 - 1/4: the order of 1000 earns 47.
    assert account_balance(user_id=USER).pending_points == 400 + 47 + 200
    contribution = ChallengeContribution.objects.get(source="order", source_id=11)
    assert (contribution.amount, contribution.taken_back) == (3000, 1000)
    assert ledger_drift() == []


def test_after_the_pending_time_a_completion_stands_through_a_return(shop, program):
    challenge_post(program, code="two", goal={"metric": "orders", "target": 2}, reward={"points": 30})
    now = timezone.now()
    order(shop, 21, at=now)
    order(shop, 22, at=now)  # no pending time: the completion stands at once
    order_return(shop, 21)

    assert progress("two") == 1
    [done] = completions("two")
    assert done.cancelled_at is None
    assert account_balance(user_id=USER).total_points == 100 + 30 - 50
    order(shop, 23, at=now)  # back to 2: completed already, not again
    assert len(completions("two")) == 1
    exported = customer_export(user_id=USER)["challenges"]
    assert [(p["challenge"], p["period_start"], p["value"]) for p in exported["progress"]] == [("two", None, 2)]
    assert [(c["challenge"], c["progress"], c["points"], c["cancelled_at"]) for c in exported["completions"]] == [
        ("two", 2, 30, None)
    ]
    assert ledger_drift() == []


def test_a_partial_return_takes_back_spend_but_not_the_order(shop, program, settings):
    settings.ORDER_POINTS_PENDING_DAYS = 14
    challenge_post(program, code="count", goal={"metric": "orders", "target": 5}, reward={"points": 1})
    challenge_post(program, code="spend", goal={"metric": "spend", "target": 50_000}, reward={"points": 1})
    now = timezone.now()
    order(shop, 31, 2000, at=now)
    order_return(shop, 31, returned_cost=500)
    assert (progress("count"), progress("spend")) == (1, 1500)
    order_return(shop, 31, returned_cost=1500)
    assert (progress("count"), progress("spend")) == (0, 0)
    taken = ChallengeContribution.objects.filter(source_id=31).order_by("challenge__code")
    assert list(taken.values_list("amount", "taken_back")) == [(1, 1), (2000, 2000)]
    assert ledger_drift() == []


# ---- purchases, activities, windows -------------------------------------------------------------------


def test_purchases_in_a_week_count_per_week(shop, program):
    challenge_post(
        program, code="buy", goal={"metric": "purchases", "target": 2}, window={"period": "week"}, reward={"points": 10}
    )
    for _ in range(3):
        response = shop.post(
            "/rewards-api/purchase/", {"user_id": USER, "amount": "1.00", "reward_description": "shop"}, format="json"
        )
        assert response.status_code == 201, response.json()
    week = period_start(timezone.now(), "week")
    assert progress("buy", week) == 3
    [done] = completions("buy")
    assert (done.source, done.value, done.period_start) == ("purchase", 2, week)
    assert account_balance(user_id=USER).total_points == 3 * 2 + 10
    assert ledger_drift() == []


def test_activities_with_a_property_condition_count_once_ever(shop, program):
    challenge_post(
        program,
        code="reviews",
        goal={
            "metric": "activities",
            "activity_name": "review",
            "target": 2,
            "conditions": [{"field": "properties.stars", "op": "gte", "value": 4}],
        },
        reward={"points": 25},
    )

    def activity(i: int, name: str = "review", stars: int = 5):
        body = {"user_id": USER, "name": name, "activity_id": f"a{i}", "properties": {"stars": stars}}
        response = shop.post("/rewards-api/activities/", body, format="json")
        assert response.status_code in (200, 201), response.json()

    activity(1)
    activity(2, stars=2)  # does not meet the condition
    activity(3, name="survey")  # another activity
    activity(1)  # a replay counts nothing
    assert progress("reviews") == 1
    activity(4)
    activity(5)
    assert progress("reviews") == 3
    [done] = completions("reviews")
    assert (done.source, done.value, done.period_start) == ("activity", 2, EVER)
    assert account_balance(user_id=USER).total_points == 25
    assert ledger_drift() == []


def test_a_rolling_window_counts_the_events_of_the_last_n_days(shop, program):
    challenge_post(
        program, code="month", goal={"metric": "orders", "target": 3}, window={"days": 30}, reward={"points": 40}
    )
    now = timezone.now()
    order(shop, 41, at=now - timedelta(days=40))  # counted, but out of the window
    order(shop, 42, at=now - timedelta(days=10))
    order(shop, 43, at=now - timedelta(days=1))
    assert progress("month") == 3  # every contribution, whatever its age
    assert completions("month") == []  # two in the last 30 days

    read = shop.get(f"/rewards-api/challenges/?user_id={USER}").json()["challenges"]
    assert [(c["code"], c["progress"], c["target"], c["left"], c["completed"]) for c in read] == [
        ("month", 2, 3, 1, False)
    ]

    order(shop, 44, at=now)
    [done] = completions("month")
    assert done.value == 3
    assert account_balance(user_id=USER).total_points == 4 * 50 + 40
    assert ledger_drift() == []


# ---- streaks -----------------------------------------------------------------------------------------


def test_a_streak_broken_starts_again_and_an_old_order_counts_on_its_own_day(shop, program, star, settings):
    settings.PROGRAM_TIME_ZONE = "Europe/Paris"
    challenge_post(program, code="three", goal={"metric": "streak_days", "target": 3}, reward={"badge": "star"})
    challenge_post(program, code="six", goal={"metric": "streak_days", "target": 6}, reward={"points": 70})
    may = {d: datetime(2026, 5, d, 12, tzinfo=UTC) for d in range(1, 32)}
    order(shop, 51, at=may[4])
    order(shop, 52, at=may[4] + timedelta(hours=5))  # the same day: still 1
    assert progress("three") == 1
    order(shop, 53, at=may[5])
    assert progress("three") == 2
    order(shop, 54, at=may[7])  # the 6th missed: a new run of 1, the longest still 2
    order(shop, 55, at=may[8])
    assert progress("three") == 2 and completions("three") == []
    order(shop, 56, at=may[9])  # the new run reaches 3

    [done] = completions("three")
    assert (done.value, done.points, done.reward_id, done.source_id) == (3, 0, None, 56)
    assert BadgeAward.objects.get(pk=done.badge_award_id).badge.code == "star"
    assert progress("six") == 3 and completions("six") == []

    # Posted now, completed at 23:30 UTC on the 5th, which is 01:30 on the 6th in Paris: the gap
    # is filled, the 4th to the 9th are 6 days in a row.
    order(shop, 57, at=datetime(2026, 5, 5, 23, 30, tzinfo=UTC))

    assert sorted(ChallengeContribution.objects.filter(challenge__code="six").values_list("day", flat=True)) == [
        datetime(2026, 5, d).date() for d in (4, 4, 5, 6, 7, 8, 9)
    ]
    assert (progress("three"), progress("six")) == (6, 6)
    [six] = completions("six")
    assert (six.value, six.points, six.source_id) == (6, 70, 57)
    assert len(completions("three")) == 1
    assert types().count("challenge.completed") == 2
    assert ledger_drift() == []


# ---- reading, check_ledger ------------------------------------------------------------------------


def test_a_customer_reads_their_challenges_with_progress_and_what_is_left(shop, program, star, settings):
    settings.PROGRAM_TIME_ZONE = "Europe/Paris"
    segment = program.post(
        "/loyalty-api/segments",
        {"code": "nobody", "name": "Nobody", "conditions": [{"field": "orders_placed", "op": "gt", "value": 99}]},
        format="json",
    )
    assert segment.status_code == 201, segment.json()
    challenge_post(
        program,
        code="month",
        goal={"metric": "spend", "target": 5000},
        window={"period": "month"},
        reward={"points": 10, "badge": "star"},
    )
    challenge_post(program, code="once", goal={"metric": "orders", "target": 1}, reward={"points": 5})
    challenge_post(
        program, code="vip", goal={"metric": "orders", "target": 1}, reward={"points": 5}, segment_codes=["nobody"]
    )  # not for this customer
    challenge_post(program, code="draft", status="draft", goal={"metric": "orders", "target": 1}, reward={"points": 5})
    now = timezone.now()
    order(shop, 61, 1200, at=now)

    session = shop.post("/rewards-api/customer-session/", {"user_id": USER}, format="json").json()
    customer = APIClient()
    customer.credentials(HTTP_AUTHORIZATION=f"Bearer {session['token']}")
    body = customer.get(f"/rewards-api/challenges/?user_id={USER}").json()

    month, once = body["challenges"]
    assert {k: month[k] for k in ("code", "metric", "progress", "target", "left", "completed", "completed_at")} == {
        "code": "month",
        "metric": "spend",
        "progress": 1200,
        "target": 5000,
        "left": 3800,
        "completed": False,
        "completed_at": None,
    }
    paris = program_time(now)
    first = paris.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + timedelta(days=32)).replace(day=1)
    assert month["period_start"] == first.date().isoformat()
    assert datetime.fromisoformat(month["period_ends_at"]) == following
    assert (once["code"], once["progress"], once["left"], once["completed"]) == ("once", 1, 0, True)
    assert datetime.fromisoformat(once["completed_at"]) == ChallengeCompletion.objects.get().completed_at
    assert (once["period_start"], once["period_ends_at"]) == (None, None)
    assert body["badges"] == []

    other = customer.get(f"/rewards-api/challenges/?user_id={USER + 1}")
    assert other.status_code == 403
    assert shop.get("/rewards-api/challenges/").status_code == 400


def test_check_ledger_finds_a_progress_or_a_completion_that_disagrees(shop, program):
    challenge_post(program, code="two", goal={"metric": "orders", "target": 2}, reward={"points": 30})
    challenge_post(program, code="streak", goal={"metric": "streak_days", "target": 9}, reward={"points": 1})
    now = timezone.now()
    order(shop, 71, at=now)
    order(shop, 72, at=now)
    call_command("check_ledger")  # clean
    ChallengeProgress.objects.filter(challenge__code="two").update(value=3)
    ChallengeProgress.objects.filter(challenge__code="streak").update(value=2)
    ChallengeCompletion.objects.update(points=31)
    ChallengeContribution.objects.create(  # no foreign key constraint: check_ledger finds an orphan
        challenge_id=999_999,
        user_id=USER,
        period_start=EVER,
        source="order",
        source_id=1,
        occurred_at=now,
        day=now.date(),
        amount=1,
    )

    checks = {(p.check, p.found, p.expected) for p in ledger_drift()}

    assert checks == {
        (f"challenge {Challenge.objects.get(code='two').pk} progress of 0001-01-01 = its events", 3, 2),
        (f"challenge {Challenge.objects.get(code='streak').pk} progress of 0001-01-01 = its events", 2, 1),
        (f"challenge completion {ChallengeCompletion.objects.get().pk} = its award", 30, 31),
        ("challenge 999999 of a progress or contribution exists", 0, 1),
    }
