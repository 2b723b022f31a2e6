"""Earning rules through the API: what orders, purchases, feedback and activities earn by them,
their caps, versions, returns across awards, simulation, and what a bad rule is told."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.models import AccessLevel, Order, OrderAward
from rewards.models import Activity, Event, PointLot, Reward, Rule, RuleCapCount, RuleVersion
from rewards.selectors import account_balance, ledger_drift
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

USER = 8101
T0 = 1_700_000_000  # 2023-11-14, a Tuesday


@pytest.fixture
def program(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


def rule_post(program, **definition) -> dict:
    response = program.post("/loyalty-api/rules", {"status": "active", **definition}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def order(shop, order_id: int, total_cost: int = 2000, user_id: int = USER, **extra):
    body = {"user_id": user_id, "order_id": order_id, "total_cost": total_cost, "completed_at": T0, **extra}
    return shop.post("/loyalty-api/orders", body, format="json")


def order_return(shop, order_id: int, **extra):
    return shop.delete("/loyalty-api/orders", {"order_id": order_id, **extra}, format="json")


def base(trigger: str) -> Rule:
    return Rule.objects.get(trigger=trigger, name__startswith="Points for")


BONUS_50 = {"name": "50 on big orders", "trigger": "order", "effect": {"type": "fixed", "points": 50}}


# ---- the base policy is rules -------------------------------------------------------------------


def test_a_fresh_database_holds_the_three_base_rules_that_give_the_old_figures(shop):
    rules = {rule.trigger: (rule.status, rule.effect, rule.version) for rule in Rule.objects.all()}
    assert rules == {
        "order": ("active", {"type": "rate", "value": "0.05"}, 1),
        "purchase": ("active", {"type": "rate", "value": "2"}, 1),
        "feedback": ("active", {"type": "fixed", "points": 10}, 1),
    }
    assert order(shop, 1).json()["points_awarded"] == 100
    purchase = shop.post(
        "/rewards-api/purchase/", {"user_id": USER, "amount": "10.00", "reward_description": "x"}, format="json"
    ).json()
    feedback = shop.post(
        "/rewards-api/submit-feedback/", {"user_id": USER, "reward_description": "x"}, format="json"
    ).json()
    assert (purchase["points_awarded"], purchase["points_earned"]) == (20, 20)
    assert (feedback["points_awarded"], feedback["points_earned"]) == (10, 10)
    assert feedback["breakdown"] == [
        {"rule_id": base("feedback").pk, "rule_name": "Points for feedback", "version": 1, "points": 10}
    ]
    assert account_balance(user_id=USER).total_points == 130


# ---- effects -------------------------------------------------------------------------------------


def test_a_fixed_bonus_is_its_own_row_and_a_full_return_takes_back_both_awards(shop, program):
    bonus = rule_post(program, **BONUS_50, conditions=[{"field": "total_cost", "op": "gte", "value": 1000}])

    body = order(shop, 1).json()

    assert body["points_awarded"] == 150 and body["total_points"] == 150
    assert body["breakdown"] == [
        {"rule_id": base("order").pk, "rule_name": "Points for orders", "version": 1, "points": 100},
        {"rule_id": bonus["id"], "rule_name": "50 on big orders", "version": 1, "points": 50},
    ]
    rows = list(Reward.objects.filter(user_id=USER).order_by("id").values_list("kind", "points_earned", "rule_id"))
    assert rows == [("order", 100, base("order").pk), ("order", 50, bonus["id"])]
    assert sorted(PointLot.objects.filter(user_id=USER).values_list("points", flat=True)) == [50, 100]

    returned = order_return(shop, 1).json()

    assert returned["points_taken_back"] == 150 and returned["total_points"] == 0
    takes = Reward.objects.filter(kind="order_return").order_by("id").values_list("points_redeemed", flat=True)
    assert list(takes) == [100, 50]
    assert list(OrderAward.objects.order_by("id").values_list("points", flat=True)) == [100, 50]
    assert ledger_drift() == []


def test_a_half_return_takes_back_half_of_every_award(shop, program):
    rule_post(program, **BONUS_50)
    order(shop, 1)

    first = order_return(shop, 1, returned_cost=1000).json()
    second = order_return(shop, 1, returned_cost=1000).json()

    assert (first["points_taken_back"], first["total_points"]) == (75, 75)
    assert (second["points_taken_back"], second["total_points"]) == (75, 0)
    assert ledger_drift() == []


def test_a_return_while_pending_cancels_each_awards_share_in_its_own_lot(shop, program, settings):
    settings.ORDER_POINTS_PENDING_DAYS = 14
    rule_post(program, **BONUS_50)
    order(shop, 1, completed_at=int(timezone.now().timestamp()))

    returned = order_return(shop, 1, returned_cost=1000).json()

    lots = PointLot.objects.order_by("id").values_list("points", "cancelled_points", "remaining")
    assert list(lots) == [(100, 50, 50), (50, 25, 25)]
    assert (returned["points_taken_back"], returned["pending_points"], returned["total_points"]) == (75, 75, 0)
    assert ledger_drift() == []


def test_a_small_order_gets_no_bonus_when_the_condition_fails(shop, program):
    rule_post(program, **BONUS_50, conditions=[{"field": "total_cost", "op": "gt", "value": 1000}])

    assert order(shop, 1, total_cost=1000).json()["points_awarded"] == 50
    assert order(shop, 2, total_cost=1001).json()["points_awarded"] == 100  # 50 + 50


def test_a_multiplier_on_a_category_doubles_only_orders_holding_it(shop, program):
    rule_post(
        program,
        name="Double on shoes",
        trigger="order",
        conditions=[{"field": "item.category", "op": "eq", "value": "shoes"}],
        effect={"type": "multiplier", "value": "2"},
    )
    shoes = [{"sku": "S1", "category": "shoes", "quantity": 1, "price": 500}]
    socks = [{"sku": "K1", "category": "socks", "quantity": 2, "price": 250}]

    with_shoes = order(shop, 1, items=shoes + socks).json()
    without = order(shop, 2, items=socks).json()

    assert [award["points"] for award in with_shoes["breakdown"]] == [100, 100]
    assert (with_shoes["points_awarded"], without["points_awarded"]) == (200, 100)


def test_a_rate_on_matching_items_counts_only_their_price_times_quantity(shop, program):
    rule_post(
        program,
        name="Books bonus",
        trigger="order",
        conditions=[{"field": "item.category", "op": "in", "value": ["books", "comics"]}],
        effect={"type": "rate", "value": "0.1", "scope": "matching_items"},
    )
    items = [
        {"sku": "B1", "category": "books", "quantity": 2, "price": 300},
        {"sku": "C1", "category": "comics", "quantity": 1, "price": 400},
        {"sku": "T1", "category": "toys", "quantity": 1, "price": 1000},
    ]

    body = order(shop, 1, items=items).json()

    assert [award["points"] for award in body["breakdown"]] == [100, 100]  # 2000 x 0.05; 1000 x 0.1


def test_the_penalty_coefficient_multiplies_rate_awards_and_not_fixed_ones(shop, program):
    # Four orders, three returned: the fifth order's coefficient is 1.2 - 3/5 = 0.6.
    for order_id in (1, 2, 3, 4):
        order(shop, order_id, total_cost=0)
    for order_id in (1, 2, 3):
        order_return(shop, order_id)
    rule_post(program, **BONUS_50)

    body = order(shop, 5).json()

    assert body["coefficient"] == 0.6
    assert [award["points"] for award in body["breakdown"]] == [60, 50]


def test_priority_and_an_exclusive_rule_stop_the_rules_after_it(shop, program):
    rule_post(
        program, name="Only this", trigger="order", priority=10, exclusive=True, effect={"type": "fixed", "points": 7}
    )
    rule_post(program, name="Never", trigger="order", priority=20, effect={"type": "fixed", "points": 1000})

    body = order(shop, 1).json()

    assert [(award["rule_name"], award["points"]) for award in body["breakdown"]] == [
        ("Points for orders", 100),
        ("Only this", 7),
    ]


def test_channel_weekday_and_orders_placed_conditions(shop, program):
    rule_post(
        program,
        name="App on Tuesdays, from the second order",
        trigger="order",
        conditions=[
            {"field": "channel", "op": "eq", "value": "app"},
            {"field": "weekday", "op": "eq", "value": 2},
            {"field": "customer.orders_placed", "op": "gte", "value": 1},
        ],
        effect={"type": "fixed", "points": 5},
    )

    first_in_app = order(shop, 1, channel="app").json()
    on_the_web = order(shop, 2, channel="web").json()
    second_in_app = order(shop, 3, channel="app").json()
    on_a_wednesday = order(shop, 4, channel="app", completed_at=T0 + 86_400).json()

    assert [body["points_awarded"] for body in (first_in_app, on_the_web, second_in_app, on_a_wednesday)] == [
        100,
        100,
        105,
        100,
    ]


# ---- caps -----------------------------------------------------------------------------------------


def test_a_per_customer_monthly_cap_awards_50_50_then_0(shop, program):
    bonus = rule_post(program, **BONUS_50, caps={"per_customer": 100, "period": "month"})

    awarded = [order(shop, order_id).json()["breakdown"][1]["points"] for order_id in (1, 2, 3)]
    other_customer = order(shop, 4, user_id=USER + 1).json()["breakdown"][1]["points"]

    assert awarded == [50, 50, 0]
    assert other_customer == 50
    assert account_balance(user_id=USER).total_points == 3 * 100 + 100
    counts = RuleCapCount.objects.filter(rule_id=bonus["id"]).values_list("user_id", "period", "points")
    assert sorted(counts) == [(USER, "month", 100), (USER + 1, "month", 50)]
    # The third order wrote only its base award: a zero award is no row.
    assert Reward.objects.filter(user_id=USER, rule_id=bonus["id"]).count() == 2
    assert ledger_drift() == []


def test_a_cap_partly_left_awards_what_is_left_and_per_event_caps_each_award(shop, program):
    rule_post(program, **BONUS_50, caps={"per_customer": 70})
    rule_post(
        program, name="Rate capped", trigger="order", effect={"type": "rate", "value": "1"}, caps={"per_event": 30}
    )

    first = order(shop, 1).json()["breakdown"]
    second = order(shop, 2).json()["breakdown"]

    assert [award["points"] for award in first] == [100, 50, 30]
    assert [award["points"] for award in second] == [100, 20, 30]


def test_check_ledger_finds_a_cap_count_that_disagrees_with_the_awards(shop, program):
    bonus = rule_post(program, **BONUS_50, caps={"budget": 1000})
    order(shop, 1)
    assert ledger_drift() == []

    RuleCapCount.objects.filter(rule_id=bonus["id"]).update(points=10)

    [problem] = ledger_drift()
    assert (problem.check, problem.found, problem.expected) == (f"rule {bonus['id']} budget count = its awards", 10, 50)


# ---- which rules apply -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "window",
    [
        {"status": "paused"},
        {"status": "draft"},
        {"ends_at": "2023-11-01T00:00:00Z"},  # ended before the order
        {"starts_at": "2023-12-01T00:00:00Z"},  # starts after it
    ],
)
def test_paused_draft_ended_and_future_rules_award_nothing(shop, program, window):
    rule_post(program, **BONUS_50, **window)

    body = order(shop, 1).json()

    assert body["points_awarded"] == 100 and len(body["breakdown"]) == 1


def test_a_campaign_is_judged_at_the_orders_time_not_at_posting(shop, program):
    completed = datetime.fromtimestamp(T0, tz=UTC)
    rule_post(
        program,
        **BONUS_50,
        starts_at=(completed - timedelta(days=1)).isoformat(),
        ends_at=(completed + timedelta(days=1)).isoformat(),
    )

    assert order(shop, 1).json()["points_awarded"] == 150  # completed inside, posted long after


def test_an_archived_rule_awards_nothing_and_keeps_its_awards(shop, program):
    bonus = rule_post(program, **BONUS_50)
    order(shop, 1)

    archived = program.delete(f"/loyalty-api/rules/{bonus['id']}")

    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    assert order(shop, 2).json()["points_awarded"] == 100
    assert Reward.objects.filter(rule_id=bonus["id"]).count() == 1
    listed = [rule["id"] for rule in program.get("/loyalty-api/rules").json()["rules"]]
    assert bonus["id"] not in listed
    assert [r["id"] for r in program.get("/loyalty-api/rules?status=archived").json()["rules"]] == [bonus["id"]]


# ---- versions and replays ----------------------------------------------------------------------


def test_an_edit_makes_a_new_version_and_a_replayed_order_answers_the_original_award(shop, program):
    bonus = rule_post(program, **BONUS_50)
    first = order(shop, 1).json()

    edited = program.patch(
        f"/loyalty-api/rules/{bonus['id']}", {"effect": {"type": "fixed", "points": 80}}, format="json"
    ).json()
    replay = order(shop, 1)
    second = order(shop, 2).json()

    assert (edited["version"], edited["effect"], edited["name"]) == (
        2,
        {"type": "fixed", "points": 80},
        BONUS_50["name"],
    )
    assert replay.status_code == 200 and replay.json()["breakdown"] == first["breakdown"]
    assert first["breakdown"][1]["version"] == 1 and second["breakdown"][1] == {
        "rule_id": bonus["id"],
        "rule_name": BONUS_50["name"],
        "version": 2,
        "points": 80,
    }
    assert list(
        Reward.objects.filter(rule_id=bonus["id"]).order_by("id").values_list("rule_version", "points_earned")
    ) == [
        (1, 50),
        (2, 80),
    ]
    versions = RuleVersion.objects.filter(rule_id=bonus["id"]).order_by("version")
    assert [(v.version, v.definition["effect"]["points"]) for v in versions] == [(1, 50), (2, 80)]


def test_an_edit_that_changes_nothing_makes_no_version(program):
    bonus = rule_post(program, **BONUS_50)

    same = program.patch(f"/loyalty-api/rules/{bonus['id']}", {"priority": 100}, format="json").json()

    assert same["version"] == 1 and RuleVersion.objects.filter(rule_id=bonus["id"]).count() == 1


def test_a_rule_may_set_its_own_pending_and_validity_days(shop, program):
    rule_post(program, **BONUS_50, pending_days=14, validity_days=30)
    completed = timezone.now().replace(microsecond=0)

    body = order(shop, 1, completed_at=int(completed.timestamp())).json()

    bonus_lot = PointLot.objects.get(credit__rule__name=BONUS_50["name"])
    base_lot = PointLot.objects.get(credit__rule__name="Points for orders")
    assert (bonus_lot.pending, bonus_lot.available_at, bonus_lot.expires_at) == (
        True,
        completed + timedelta(days=14),
        completed + timedelta(days=44),
    )
    assert (base_lot.pending, base_lot.expires_at) == (False, None)
    assert (body["total_points"], body["pending_points"]) == (100, 50)


def test_the_order_event_and_the_bonus_event_name_their_rules(shop, program):
    bonus = rule_post(program, **BONUS_50)
    order(shop, 1)

    recorded, earned = Event.objects.filter(user_id=USER).order_by("id")

    assert (recorded.type, recorded.data["rule"]["id"], recorded.data["order"]["points_awarded"]) == (
        "order.recorded",
        base("order").pk,
        150,
    )
    assert (earned.type, earned.data["rule"], earned.data["reward"]["points_earned"]) == (
        "points.earned",
        {"id": bonus["id"], "name": BONUS_50["name"], "version": 1},
        50,
    )


# ---- items ----------------------------------------------------------------------------------------


def test_items_worth_more_than_total_cost_are_400_and_write_nothing(shop):
    response = order(shop, 1, total_cost=100, items=[{"sku": "A", "category": "x", "quantity": 3, "price": 40}])

    assert response.status_code == 400
    assert (response.json()["error"]["code"], list(response.json()["error"]["fields"])) == (
        "items_exceed_total_cost",
        ["items"],
    )
    assert not Order.objects.exists() and not Reward.objects.exists()


@pytest.mark.parametrize(
    "items",
    [
        [{"sku": "A", "quantity": 0, "price": 1}],
        [{"sku": "A", "quantity": 1, "price": -1}],
        [{"sku": "A", "quantity": 1, "price": 1, "colour": "red"}],
        [{"quantity": 1, "price": 1}],
        [{"sku": "A", "quantity": "1", "price": 1}],
        {"sku": "A"},
    ],
)
def test_bad_items_are_400_and_write_nothing(shop, items):
    response = order(shop, 1, items=items)

    assert response.status_code == 400 and "items" in response.json()["error"]["fields"]
    assert not Order.objects.exists()


def test_a_retry_with_other_items_or_channel_is_a_conflict(shop):
    items = [{"sku": "A", "category": "x", "quantity": 1, "price": 100}]
    order(shop, 1, items=items, channel="web")

    assert order(shop, 1, items=items, channel="web").status_code == 200
    assert order(shop, 1, items=items, channel="app").status_code == 409
    assert order(shop, 1, channel="web").status_code == 409


# ---- activities -----------------------------------------------------------------------------------


def activity(shop, activity_id: str = "a-1", **extra):
    body = {"user_id": USER, "name": "photo_review", "activity_id": activity_id, **extra}
    return shop.post("/rewards-api/activities/", body, format="json")


def test_an_activity_earns_its_rule_and_a_replay_answers_the_original(shop, program):
    photo = rule_post(
        program,
        name="Photo review",
        trigger="activity",
        activity_name="photo_review",
        effect={"type": "fixed", "points": 25},
    )

    first = activity(shop, properties={"photos": 2})
    replay = activity(shop, properties={"photos": 2})

    assert first.status_code == 201
    assert (first.json()["points_awarded"], first.json()["total_points"]) == (25, 25)
    assert first.json()["breakdown"] == [
        {"rule_id": photo["id"], "rule_name": "Photo review", "version": 1, "points": 25}
    ]
    assert replay.status_code == 200
    assert {k: v for k, v in replay.json().items() if k != "message"} == {
        k: v for k, v in first.json().items() if k != "message"
    }
    assert Reward.objects.filter(user_id=USER, kind="activity").count() == 1
    assert account_balance(user_id=USER).total_points == 25


def test_an_activity_with_another_body_is_409_and_writes_nothing(shop, program):
    rule_post(
        program, name="Photo", trigger="activity", activity_name="photo_review", effect={"type": "fixed", "points": 25}
    )
    activity(shop, properties={"photos": 2})

    conflict = activity(shop, properties={"photos": 3})

    assert (conflict.status_code, conflict.json()["error"]["code"]) == (409, "activity_conflict")
    assert Reward.objects.filter(user_id=USER).count() == 1 and Activity.objects.count() == 1


def test_an_activity_no_rule_rewards_is_recorded_with_0_points(shop, program):
    rule_post(
        program,
        name="Photo reviews with photos",
        trigger="activity",
        activity_name="photo_review",
        conditions=[{"field": "properties.photos", "op": "gte", "value": 1}],
        effect={"type": "fixed", "points": 25},
    )

    response = activity(shop, properties={"photos": 0})

    assert response.status_code == 201
    assert (response.json()["points_awarded"], response.json()["breakdown"]) == (0, [])
    assert Activity.objects.get().points_awarded == 0
    assert not Reward.objects.exists()


@pytest.mark.parametrize(
    "properties",
    [{"nested": {"a": 1}}, {"list": [1]}, {"bad name": 1}, {f"p{n}": n for n in range(51)}, {"n": None}],
)
def test_activity_properties_must_be_flat_and_small(shop, properties):
    response = activity(shop, properties=properties)

    assert response.status_code == 400 and "properties" in response.json()["error"]["fields"]
    assert not Activity.objects.exists()


# ---- simulation -------------------------------------------------------------------------------------


def test_simulate_answers_what_an_order_would_earn_now_and_writes_nothing(shop, program):
    rule_post(program, **BONUS_50, caps={"per_customer": 50})
    order(shop, 1)  # uses the customer's whole cap
    before = (
        Reward.objects.count(),
        Order.objects.count(),
        list(RuleCapCount.objects.values_list("points", flat=True)),
    )

    event = {"user_id": USER, "order_id": 99, "total_cost": 3000, "completed_at": T0}
    simulated = program.post("/loyalty-api/rules/simulate", {"trigger": "order", "event": event}, format="json")
    for_a_new_customer = program.post(
        "/loyalty-api/rules/simulate", {"trigger": "order", "event": {**event, "user_id": USER + 5}}, format="json"
    )

    assert simulated.status_code == 200
    assert [award["points"] for award in simulated.json()["breakdown"]] == [150, 0]
    assert for_a_new_customer.json()["points_awarded"] == 200
    after = (Reward.objects.count(), Order.objects.count(), list(RuleCapCount.objects.values_list("points", flat=True)))
    assert after == before


def test_simulate_takes_each_triggers_own_body(program):
    purchase = program.post(
        "/loyalty-api/rules/simulate",
        {"trigger": "purchase", "event": {"user_id": USER, "amount": "12.34", "reward_description": "x"}},
        format="json",
    )
    bad = program.post(
        "/loyalty-api/rules/simulate", {"trigger": "purchase", "event": {"user_id": USER}}, format="json"
    )

    assert purchase.json()["points_awarded"] == 24
    assert bad.status_code == 400 and "event" in bad.json()["error"]["fields"]
    assert not Reward.objects.exists()


@pytest.mark.parametrize(
    ("trigger", "event", "post"),
    [
        ("order", {"order_id": 99, "total_cost": 2**63 - 1, "completed_at": T0}, "/loyalty-api/orders"),
        ("purchase", {"amount": "9999999.99", "reward_description": "x"}, "/rewards-api/purchase/"),
    ],
)
def test_simulate_answers_the_per_entry_limit_as_the_event_would(shop, program, trigger, event, post):
    body = {"user_id": USER, **event}
    # 1,000 points per unit: a purchase of 9,999,999.99 would earn 9,999,999,990 in one entry.
    rule_post(program, name="Big spenders", trigger="purchase", effect={"type": "rate", "value": "1000"})

    simulated = program.post("/loyalty-api/rules/simulate", {"trigger": trigger, "event": body}, format="json")
    real = shop.post(post, body, format="json")

    assert real.status_code == 400 and real.json()["error"]["code"] == "points_limit_exceeded"
    assert (simulated.status_code, simulated.json()) == (400, real.json())
    assert not Reward.objects.exists() and not Order.objects.exists() and not Event.objects.exists()


# ---- a bad rule is told what is wrong ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "says"),
    [
        ({"trigger": "tweet"}, ["trigger"], "tweet"),
        ({"conditions": [{"field": "colour", "op": "eq", "value": "red"}]}, ["conditions", "0", "field"], "colour"),
        ({"conditions": [{"field": "total_cost", "op": "like", "value": 1}]}, ["conditions", "0", "op"], "like"),
        ({"conditions": [{"field": "amount", "op": "eq", "value": 1}]}, ["conditions", "0", "field"], "purchase"),
        ({"conditions": [{"field": "channel", "op": "gt", "value": "a"}]}, ["conditions", "0", "op"], "text"),
        ({"conditions": [{"field": "total_cost", "op": "in", "value": 5}]}, ["conditions", "0", "value"], "list"),
        ({"conditions": [{"field": "weekday", "op": "eq", "value": 8}]}, ["conditions", "0", "value"], "Monday"),
        ({"conditions": [{"field": "total_cost", "op": "eq", "value": 1, "x": 1}]}, ["conditions", "0", "x"], "x"),
        ({"effect": {"type": "bonus", "points": 5}}, ["effect", "type"], "bonus"),
        ({"effect": {"type": "multiplier", "value": "0.5"}}, ["effect", "value"], "at least 1"),
        ({"effect": {"type": "rate", "value": "0.0000001"}}, ["effect", "value"], "decimal places"),
        ({"effect": {"type": "fixed", "value": "5"}}, ["effect", "value"], "fixed"),
        ({"effect": {"type": "fixed", "points": True}}, ["effect", "points"], "whole number"),
        ({"caps": {"period": "month"}}, ["caps", "period"], "per_customer"),
        ({"caps": {"per_customer": 10, "period": "fortnight"}}, ["caps", "period"], "fortnight"),
        ({"prority": 1}, ["prority"], "prority"),
        ({"exclusive": "yes"}, ["exclusive"], "true or false"),
        ({"starts_at": "2024-02-01T00:00:00Z", "ends_at": "2024-01-01T00:00:00Z"}, ["ends_at"], "after"),
        ({"trigger": "feedback", "effect": {"type": "rate", "value": "1"}}, ["effect", "type"], "fixed"),
    ],
)
def test_a_bad_rule_is_a_400_that_names_what_is_wrong_and_writes_nothing(program, change, path, says):
    response = program.post("/loyalty-api/rules", {**BONUS_50, **change}, format="json")

    assert response.status_code == 400, response.json()
    # Nested errors come as "0: field: Unknown field ..." under the top-level key.
    said = " ".join(response.json()["error"]["fields"][path[0]])
    assert said.startswith(": ".join(path[1:])) and says in said, said
    assert Rule.objects.count() == 3 and RuleVersion.objects.count() == 3


PHOTO_RULE = {
    "name": "Photo",
    "trigger": "activity",
    "activity_name": "photo_review",
    "effect": {"type": "fixed", "points": 5},
}


@pytest.mark.parametrize(
    "name", ["properties.\U0001f4a5", "properties.", "properties.a b", "properties." + "p" * 51, "properties.\u0665"]
)
def test_a_rule_on_a_property_no_activity_can_carry_is_a_400(shop, program, name):
    """Activities' property names are 1 to 50 of A-Z a-z 0-9 _ . -: a condition on any other
    name could never match, so it is refused, on a new rule and on an edit alike."""
    photo = rule_post(program, **PHOTO_RULE)
    before = list(Rule.objects.order_by("pk").values()), RuleVersion.objects.count()
    condition = [{"field": name, "op": "eq", "value": 1}]

    created = program.post("/loyalty-api/rules", {**PHOTO_RULE, "conditions": condition}, format="json")
    edited = program.patch(f"/loyalty-api/rules/{photo['id']}", {"conditions": condition}, format="json")
    refused = activity(shop, properties={name.removeprefix("properties."): 1})

    for response in (created, edited):
        assert response.status_code == 400, response.json()
        said = response.json()["error"]["fields"]["conditions"]
        assert said == [
            f"0: field: {name!r}: a property's name is 1 to 50 ASCII letters, digits, _, . or -; "
            "no activity carries it."
        ]
    assert (list(Rule.objects.order_by("pk").values()), RuleVersion.objects.count()) == before
    assert refused.status_code == 400 and "properties" in refused.json()["error"]["fields"]
    assert not Activity.objects.exists()


def test_a_rule_on_a_property_name_an_activity_can_carry_matches_it(shop, program):
    rule_post(program, **PHOTO_RULE, conditions=[{"field": "properties.Photo-count_v1.2", "op": "gte", "value": 2}])

    assert activity(shop, "a-1", properties={"Photo-count_v1.2": 1}).json()["points_awarded"] == 0
    assert activity(shop, "a-2", properties={"Photo-count_v1.2": 2}).json()["points_awarded"] == 5
    assert account_balance(user_id=USER).total_points == 5


def test_a_bad_edit_is_a_400_and_leaves_the_rule_as_it_was(program):
    bonus = rule_post(program, **BONUS_50)

    response = program.patch(
        f"/loyalty-api/rules/{bonus['id']}", {"effect": {"type": "multiplier", "value": "0"}}, format="json"
    )

    assert response.status_code == 400
    assert program.get(f"/loyalty-api/rules/{bonus['id']}").json() == {"success": True, **bonus}


@pytest.mark.parametrize("rule_id", ["0", "abc", "99999999", "1e3", str(2**64)])
def test_an_unknown_rule_is_404(program, rule_id):
    for method in ("get", "patch", "delete"):
        response = getattr(program, method)(f"/loyalty-api/rules/{rule_id}", {}, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (404, "rule_not_found")


def test_the_shop_application_cannot_manage_rules(shop):
    response = shop.post("/loyalty-api/rules", BONUS_50, format="json")
    assert response.status_code == 403 and Rule.objects.count() == 3


def test_a_rule_made_by_an_application_names_it(program):
    bonus = rule_post(program, **BONUS_50)
    assert bonus["updated_by"] == "application program"
    assert RuleVersion.objects.get(rule_id=bonus["id"]).created_by == "application program"
    assert timezone.now() - datetime.fromisoformat(bonus["updated_at"]) < timedelta(minutes=1)


def test_a_decimal_condition_compares_money_exactly(shop, program):
    rule_post(
        program,
        name="Over 12.50",
        trigger="purchase",
        conditions=[{"field": "amount", "op": "gte", "value": 12.5}],
        effect={"type": "fixed", "points": 3},
    )

    def purchase(amount: str) -> int:
        body = {"user_id": USER, "amount": amount, "reward_description": "x"}
        return shop.post("/rewards-api/purchase/", body, format="json").json()["points_awarded"]

    assert (purchase("12.49"), purchase("12.50")) == (24, 28)


def test_the_history_names_the_rule_of_each_award(shop, program):
    rule_post(program, **BONUS_50)
    order(shop, 1)
    shop.post(
        "/rewards-api/earn-points/", {"user_id": USER, "points_earned": 5, "reward_description": "x"}, format="json"
    )

    history = shop.get(f"/rewards-api/get-user-info/?user_id={USER}").json()["reward_history"]

    assert [(row["kind"], row["points_earned"], row["rule_name"]) for row in history] == [
        ("earn", 5, None),
        ("order", 50, BONUS_50["name"]),
        ("order", 100, "Points for orders"),
    ]


def test_the_master_app_creates_a_program_application_whose_token_manages_rules(master):
    created = master.post(
        "/loyalty-api/application",
        {"application_name": "Marketing", "access_level": "Can_Manage_Program"},
        format="json",
    ).json()
    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Bearer {created['token']}")

    assert created["access_level"] == "Can_Manage_Program"
    assert program.get("/loyalty-api/rules").status_code == 200
    assert program.get(f"/rewards-api/get-points/?user_id={USER}").status_code == 403  # the program, nothing else
    assert master.get("/loyalty-api/rules").status_code == 403  # applications, nothing else


def test_a_rule_read_changed_and_sent_back_whole_is_an_edit_and_a_stale_one_is_refused(program):
    bonus = rule_post(program, **BONUS_50)
    read = program.get(f"/loyalty-api/rules/{bonus['id']}").json()

    edited = program.patch(
        f"/loyalty-api/rules/{bonus['id']}", {**read, "effect": {"type": "fixed", "points": 60}}, format="json"
    )
    stale = program.patch(f"/loyalty-api/rules/{bonus['id']}", {**read, "priority": 7}, format="json")
    elsewhere = program.patch(f"/loyalty-api/rules/{bonus['id']}", {"id": bonus["id"] + 1}, format="json")

    assert edited.status_code == 200 and edited.json()["version"] == 2
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "rule_changed")
    assert (elsewhere.status_code, list(elsewhere.json()["error"]["fields"])) == (400, ["id"])
    rule = Rule.objects.get(pk=bonus["id"])
    assert (rule.version, rule.priority, rule.effect["points"]) == (2, 100, 60)
