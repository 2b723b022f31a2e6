"""Tiers: the ladder (set and read, validated), qualifying points that only qualifying credits
move (returns take them back; redemptions, expiry, staff debits and tier awards never do),
upgrades at once in the credit's transaction, tier awards on their own rows taken back by
returns, requalification by the job on the date (in the program's time zone), staff floors."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings

from loyalty.models import AccessLevel
from rewards import services
from rewards.models import Event, QualifyingCredit, QualifyingDay, Reward, RewardKind, TierChange, TierStanding
from rewards.selectors import account_balance, ledger_drift
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

CUSTOMER = 7101
T0 = int(datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp())
LADDER = {
    "tiers": [
        {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0},
        {"code": "silver", "name": "Silver", "entry_points": 500, "retain_points": 400, "multiplier": "1.5"},
        {
            "code": "gold",
            "name": "Gold",
            "entry_points": 1000,
            "retain_points": 800,
            "multiplier": 2,
            "benefits": ["Free shipping"],
        },
    ]
}


@pytest.fixture
def program(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def ladder(program):
    response = program.put("/loyalty-api/tiers", LADDER, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def order(client, order_id: int, points: int, user_id: int = CUSTOMER, completed_at: int = T0):
    """An order worth ``points`` at the base rate (1 point per 20)."""
    body = {"user_id": user_id, "order_id": order_id, "total_cost": points * 20, "completed_at": completed_at}
    response = client.post("/loyalty-api/orders", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def points(client, user_id: int = CUSTOMER) -> dict:
    return client.get("/rewards-api/get-points/", {"user_id": user_id}).json()


def qualifying(user_id: int = CUSTOMER) -> int:
    return sum(QualifyingDay.objects.filter(user_id=user_id).values_list("points", flat=True))


# ---- the ladder ----------------------------------------------------------------------------------


def test_the_ladder_is_set_whole_and_read_by_anyone_who_reads(program, ladder, reader):
    read = reader.get("/rewards-api/tiers/").json()

    assert [tier["code"] for tier in read["tiers"]] == ["bronze", "silver", "gold"]
    assert read["tiers"][1] == {
        "code": "silver",
        "name": "Silver",
        "entry_points": 500,
        "retain_points": 400,
        "multiplier": "1.5",
        "benefits": [],
    }
    assert read["tiers"][2]["multiplier"] == "2" and read["tiers"][2]["benefits"] == ["Free shipping"]
    assert (read["window_days"], read["qualifying_kinds"]) == (365, ["order", "purchase"])
    assert read["updated_by"] == "application program"
    assert program.get("/loyalty-api/tiers").json() == read


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tiers": [{**LADDER["tiers"][0], "entry_points": 10}, *LADDER["tiers"][1:]]}, "tiers"),
        ({"tiers": [LADDER["tiers"][0], {**LADDER["tiers"][1], "code": "bronze"}]}, "tiers"),
        ({"tiers": [LADDER["tiers"][0], {**LADDER["tiers"][1], "retain_points": 600}]}, "tiers"),
        ({"tiers": [LADDER["tiers"][0], {**LADDER["tiers"][1], "multiplier": "0.5"}]}, "tiers"),
        ({"tiers": [LADDER["tiers"][0], {**LADDER["tiers"][1], "entry_points": 0}]}, "tiers"),
        ({"tiers": [LADDER["tiers"][0], {**LADDER["tiers"][1], "colour": "grey"}]}, "tiers"),
        ({"tiers": LADDER["tiers"], "window_days": 0}, "window_days"),
        ({"tiers": LADDER["tiers"], "qualifying_kinds": ["earn"]}, "qualifying_kinds"),
        ({"tiers": LADDER["tiers"], "qualifying_kinds": "order"}, "qualifying_kinds"),
        ({"tiers": LADDER["tiers"], "windows_days": 30}, "windows_days"),
        ({"tiers": "gold"}, "tiers"),
    ],
)
def test_a_bad_ladder_is_a_400_naming_it_and_changes_nothing(program, ladder, change, field):
    before = program.get("/loyalty-api/tiers").json()

    response = program.put("/loyalty-api/tiers", change, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert program.get("/loyalty-api/tiers").json() == before


def test_only_the_program_level_sets_the_ladder(shop, master):
    for client in (shop, master):
        assert client.put("/loyalty-api/tiers", LADDER, format="json").status_code == 403
    assert shop.get("/rewards-api/tiers/").json()["tiers"] == []


def test_with_no_ladder_the_tier_is_null_and_an_empty_ladder_removes_it(shop, program, ladder):
    order(shop, 1, 100)
    assert points(shop)["tier"]["code"] == "bronze"

    program.put("/loyalty-api/tiers", {"tiers": []}, format="json")

    answer = points(shop)
    assert (answer["tier"], answer["tier_progress"]) == (None, None)
    assert shop.get("/rewards-api/tiers/").json()["tiers"] == []


# ---- the scenario ----------------------------------------------------------------------------------


def test_upgrade_multiplier_redemption_and_return_as_a_person_would_count_them(shop, ladder):
    first = order(shop, 1, 300)
    start = points(shop)
    assert first["points_awarded"] == 300
    assert start["tier"]["code"] == "bronze"
    assert type(start["tier_progress"]["qualifying_points"]) is int  # a whole number, never 300.0
    assert start["tier_progress"] == {
        "qualifying_points": 300,
        "next_tier": {"code": "silver", "name": "Silver", "entry_points": 500},
        "points_to_next": 200,
        "points_to_retain": 0,
    }

    lift = order(shop, 2, 200)  # reaches silver: multiplied at bronze
    assert lift["points_awarded"] == 200
    after_lift = points(shop)
    assert after_lift["tier"]["code"] == "silver" and after_lift["tier"]["requalify_at"] is not None
    upgraded = Event.objects.get(type="tier.upgraded")
    assert upgraded.user_id == CUSTOMER
    assert (upgraded.data["previous_tier"]["code"], upgraded.data["tier"]["code"]) == ("bronze", "silver")
    assert upgraded.data["qualifying_points"] == 500

    multiplied = order(shop, 3, 100)
    assert multiplied["points_awarded"] == 150
    assert [(entry["rule_name"], entry["points"]) for entry in multiplied["breakdown"]] == [
        ("Points for orders", 100),
        ("Silver tier", 50),
    ]
    assert qualifying() == 600
    tier_row = Reward.objects.get(kind=RewardKind.TIER)
    assert (tier_row.points_earned + tier_row.pending_change, tier_row.rule_id) == (50, None)

    redeemed = shop.post(
        "/rewards-api/redeem-coupon/",
        {"user_id": CUSTOMER, "points_redeemed": 100, "coupon_amount": 10, "reward_description": "Coupon"},
        format="json",
    )
    assert redeemed.status_code == 201
    assert points(shop)["tier_progress"]["qualifying_points"] == 600
    assert account_balance(user_id=CUSTOMER).total_points == 300 + 200 + 150 - 100

    returned = shop.delete("/loyalty-api/orders", {"order_id": 3}, format="json").json()
    assert returned["points_taken_back"] == 150
    final = points(shop)
    assert final["total_points"] == 300 + 200 - 100
    assert final["tier"]["code"] == "silver"
    assert final["tier_progress"] == {
        "qualifying_points": 500,
        "next_tier": {"code": "gold", "name": "Gold", "entry_points": 1000},
        "points_to_next": 500,
        "points_to_retain": 0,
    }
    assert ledger_drift() == []


def test_earn_points_staff_debits_and_redemptions_do_not_qualify(shop, ladder):
    shop.post("/rewards-api/earn-points/", {"user_id": CUSTOMER, "points": 900, "description": "Bonus"}, format="json")
    services.points_adjust(user_id=CUSTOMER, points=-50, reason="Correction", staff="ops")
    order(shop, 1, 100)

    assert points(shop)["tier_progress"]["qualifying_points"] == 100
    assert points(shop)["tier"]["code"] == "bronze"
    assert list(QualifyingCredit.objects.values_list("points", flat=True)) == [100]


def test_a_purchase_qualifies_and_feedback_does_not_by_default(shop, ladder):
    purchase = {"user_id": CUSTOMER, "amount": 300, "reward_description": "Shoes"}  # 600 points
    assert shop.post("/rewards-api/purchase/", purchase, format="json").status_code == 201
    feedback = {"user_id": CUSTOMER, "reward_description": "Review"}
    assert shop.post("/rewards-api/submit-feedback/", feedback, format="json").status_code == 201

    answer = points(shop)
    assert answer["tier"]["code"] == "silver"
    assert answer["tier_progress"]["qualifying_points"] == 600


def test_a_partial_return_takes_back_its_share_of_the_tier_award_and_of_the_qualifying_points(shop, ladder):
    order(shop, 1, 500)
    order(shop, 2, 101)  # 101 + floor(101 x 0.5) = 50

    returned = shop.delete("/loyalty-api/orders", {"order_id": 2, "returned_cost": 1010}, format="json").json()

    # floor(101 x 1010 / 2020) = 50 of the base, floor(50 x 1010 / 2020) = 25 of the tier award
    assert returned["points_taken_back"] == 75
    assert qualifying() == 500 + 101 - 50
    assert QualifyingCredit.objects.get(points=101).taken_back == 50
    assert ledger_drift() == []


def test_a_credit_that_lifts_two_tiers_lands_on_the_highest(shop, ladder):
    answer = order(shop, 1, 1200)

    assert answer["points_awarded"] == 1200
    assert points(shop)["tier"]["code"] == "gold"
    assert TierChange.objects.get().to_code == "gold"


def test_an_old_order_outside_the_window_does_not_qualify(shop, ladder):
    order(shop, 1, 600, completed_at=T0 - 400 * 86400)

    answer = points(shop)
    assert answer["tier"]["code"] == "bronze"
    assert answer["tier_progress"]["qualifying_points"] == 0


def test_rules_see_the_customers_tier(shop, ladder):
    services.rule_create(
        definition={
            "name": "Silver weekend",
            "trigger": "order",
            "status": "active",
            "conditions": [{"field": "customer.tier", "op": "eq", "value": "silver"}],
            "effect": {"type": "fixed", "points": 7},
        },
        by="test",
    )
    assert order(shop, 1, 500)["points_awarded"] == 500  # bronze when it was recorded
    assert order(shop, 2, 10)["points_awarded"] == 10 + 7 + 8  # floor(17 x 0.5) = 8


# ---- requalification ------------------------------------------------------------------------


def _standing(user_id: int = CUSTOMER) -> TierStanding:
    return TierStanding.objects.get(user_id=user_id)


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2026, 1, 10, 12, tzinfo=UTC)


def test_requalification_keeps_the_highest_tier_whose_retain_points_are_met(shop, ladder, clock):
    order(shop, 1, 1000, completed_at=clock.at(datetime(2026, 1, 10, 12, tzinfo=UTC)))  # gold
    requalify_at = _standing().requalify_at
    assert requalify_at == datetime(2027, 1, 10, 12, tzinfo=UTC)
    # 450 more in August: at the date, the window (11 January 2026 on) holds only those.
    order(shop, 2, 450, completed_at=clock.at(datetime(2026, 8, 1, tzinfo=UTC)))

    early = services.tiers_requalify(now=clock.to(requalify_at - timedelta(seconds=1)))
    assert (early.checked, _standing().tier_code) == (0, "gold")

    report = services.tiers_requalify(now=clock.to(requalify_at))

    assert (report.checked, report.downgraded) == (1, 1)
    standing = _standing()
    assert (standing.tier_code, standing.since) == ("silver", requalify_at)  # 450 >= silver's 400
    assert standing.requalify_at == requalify_at + timedelta(days=365)
    downgraded = Event.objects.get(type="tier.downgraded")
    assert (downgraded.data["previous_tier"]["code"], downgraded.data["tier"]["code"]) == ("gold", "silver")
    assert downgraded.data["qualifying_points"] == 450
    assert services.tiers_requalify(now=requalify_at).checked == 0  # idempotent: nothing due until 2028
    assert ledger_drift() == []


def test_a_customer_who_keeps_nothing_falls_to_the_lowest_with_no_date(shop, ladder, clock):
    order(shop, 1, 600, completed_at=clock.at(datetime(2026, 1, 10, 12, tzinfo=UTC)))

    services.tiers_requalify(now=clock.to(datetime(2028, 6, 1, tzinfo=UTC)))  # the job was down a long time

    standing = _standing()
    assert (standing.tier_code, standing.requalify_at) == ("bronze", None)
    assert points(shop)["tier"] == {
        "code": "bronze",
        "name": "Bronze",
        "multiplier": "1",
        "benefits": [],
        "since": standing.since.isoformat().replace("+00:00", "Z"),
        "requalify_at": None,
        "floor_until": None,
    }


@override_settings(PROGRAM_TIME_ZONE="America/New_York")
def test_requalification_counts_days_in_the_programs_time_zone(shop, program, ladder, clock):
    program.put("/loyalty-api/tiers", {**LADDER, "window_days": 30}, format="json")
    # 2 March 02:00 UTC is 1 March, 21:00 in New York: the order counts on 1 March. Silver,
    # to be requalified on 1 April 02:00 UTC, which is 31 March in New York.
    order(shop, 1, 500, completed_at=clock.at(datetime(2026, 3, 2, 2, tzinfo=UTC)))
    # 2 March 06:00 UTC is 2 March, 01:00 in New York: the window's first day there (in UTC
    # days, the window would start on 3 March and leave it out).
    order(shop, 2, 400, completed_at=clock.at(datetime(2026, 3, 2, 6, tzinfo=UTC)))
    assert sorted(QualifyingDay.objects.values_list("day", "points")) == [
        (date(2026, 3, 1), 500),
        (date(2026, 3, 2), 400),
    ]
    requalify_at = _standing().requalify_at
    assert requalify_at == datetime(2026, 4, 1, 2, tzinfo=UTC)

    services.tiers_requalify(now=clock.to(requalify_at))

    standing = _standing()
    assert (standing.tier_code, standing.requalify_at) == ("silver", datetime(2026, 5, 1, 2, tzinfo=UTC))
    assert not Event.objects.filter(type="tier.downgraded").exists()
    # A month later nothing new came in: down to bronze.
    services.tiers_requalify(now=clock.to(standing.requalify_at))
    assert _standing().tier_code == "bronze"


def test_an_order_dated_in_the_future_counts_toward_the_tiers_only_from_its_day(shop, ladder, clock):
    now = clock.to(datetime(2026, 1, 10, 12, tzinfo=UTC))
    ahead = datetime(2031, 1, 10, 12, tzinfo=UTC)  # five years ahead
    order(shop, 1, 600, completed_at=int(ahead.timestamp()))

    today = points(shop)
    assert today["tier"]["code"] == "bronze"
    assert today["tier_progress"]["qualifying_points"] == 0
    assert list(QualifyingDay.objects.values_list("day", "points")) == [(date(2031, 1, 10), 600)]
    assert not TierStanding.objects.exists() and not TierChange.objects.exists()
    assert not Event.objects.filter(type="tier.upgraded").exists()
    # Nor does it lift the customer at a later credit before its day, nor by a recompute.
    order(shop, 2, 10, completed_at=int(now.timestamp()))
    assert services.tiers_recompute(dry_run=True) == []
    assert points(shop)["tier_progress"]["qualifying_points"] == 10
    assert not TierStanding.objects.exists()

    # On its day (and for the window after it) it counts: the next credit lifts the customer.
    clock.to(ahead - timedelta(hours=12))
    assert points(shop)["tier_progress"]["qualifying_points"] == 600
    order(shop, 3, 10, completed_at=clock.at(ahead))
    standing = _standing()
    assert (standing.tier_code, standing.since) == ("silver", ahead)
    assert TierChange.objects.get().qualifying_points == 610
    clock.to(datetime(2032, 1, 11, tzinfo=UTC))  # the window after it has passed
    assert points(shop)["tier_progress"]["qualifying_points"] == 0
    assert ledger_drift() == []


def test_requalification_leaves_out_credits_dated_after_its_date(shop, ladder, clock):
    order(shop, 1, 1000, completed_at=clock.at(datetime(2026, 1, 10, 12, tzinfo=UTC)))  # gold
    requalify_at = _standing().requalify_at
    # 450 dated after the requalification date: they do not keep silver on that date.
    order(shop, 2, 450, completed_at=int(datetime(2027, 6, 1, tzinfo=UTC).timestamp()))

    services.tiers_requalify(now=clock.to(requalify_at))

    standing = _standing()
    assert (standing.tier_code, standing.requalify_at) == ("bronze", None)
    downgraded = Event.objects.get(type="tier.downgraded")
    assert (downgraded.data["tier"]["code"], downgraded.data["qualifying_points"]) == ("bronze", 0)


# ---- staff floors ---------------------------------------------------------------------------------


def test_a_staff_floor_lifts_the_tier_until_its_end_and_is_recorded(shop, ladder):
    until = datetime.now(UTC) + timedelta(days=10)
    services.tier_floor_set(user_id=CUSTOMER, code="gold", until=until, reason="Complaint goodwill", by="alice")

    answer = points(shop)
    assert answer["tier"]["code"] == "gold" and answer["tier"]["floor_until"] is not None
    assert order(shop, 1, 100)["points_awarded"] == 200  # multiplied at gold
    change = TierChange.objects.get(cause="floor")
    assert (change.to_code, change.reason, change.changed_by) == ("gold", "Complaint goodwill", "alice")
    assert Event.objects.filter(type="tier.upgraded").count() == 1

    report = services.tiers_requalify(now=until)

    assert report.floors_ended == 1
    assert points(shop)["tier"]["code"] == "bronze"
    assert Event.objects.filter(type="tier.downgraded").count() == 1


def test_a_floor_needs_a_known_tier_a_reason_and_a_future_end(ladder):
    future = datetime.now(UTC) + timedelta(days=1)
    for kwargs in (
        {"code": "platinum", "until": future, "reason": "x"},
        {"code": "gold", "until": datetime.now(UTC) - timedelta(days=1), "reason": "x"},
        {"code": "gold", "until": future, "reason": "  "},
    ):
        with pytest.raises(services.UnknownTier.__mro__[1]):
            services.tier_floor_set(user_id=CUSTOMER, by="alice", **kwargs)
    assert not TierStanding.objects.exists() and not TierChange.objects.exists()


# ---- a ladder change ---------------------------------------------------------------------------


def test_recompute_tiers_shows_who_would_move_and_moves_them(shop, program, ladder, capsys):
    order(shop, 1, 700)  # silver
    order(shop, 2, 300, user_id=CUSTOMER + 1)  # bronze
    cheaper = {"tiers": [LADDER["tiers"][0], {**LADDER["tiers"][1], "entry_points": 250, "retain_points": 200}]}
    program.put("/loyalty-api/tiers", cheaper, format="json")

    call_command("recompute_tiers", "--dry-run")
    shown = capsys.readouterr().out
    assert f"{CUSTOMER + 1}: bronze -> silver (300 qualifying points)" in shown
    assert not TierStanding.objects.filter(user_id=CUSTOMER + 1).exists()

    call_command("recompute_tiers")
    assert _standing(CUSTOMER + 1).tier_code == "silver"
    assert _standing(CUSTOMER).tier_code == "silver"


def test_check_ledger_finds_qualifying_points_that_disagree_with_their_credits(shop, ladder):
    order(shop, 1, 300)
    assert ledger_drift() == []
    QualifyingDay.objects.filter(user_id=CUSTOMER).update(points=310)
    QualifyingCredit.objects.update(points=299, taken_back=0)

    problems = [(problem.check.split(" ")[:2], problem.found, problem.expected) for problem in ledger_drift()]

    assert (["qualifying", "points"], 310, 299) in problems
    assert (["qualifying", "credit"], 299, 300) in problems


def test_a_simulation_shows_the_tier_award_and_writes_nothing(shop, program, ladder):
    order(shop, 1, 500)  # silver
    before = (Reward.objects.count(), qualifying())
    event = {"user_id": CUSTOMER, "order_id": 99, "total_cost": 2000, "completed_at": T0}

    simulated = program.post("/loyalty-api/rules/simulate", {"trigger": "order", "event": event}, format="json").json()

    assert simulated["points_awarded"] == 150
    assert simulated["breakdown"][-1] == {
        "rule_id": None,
        "rule_name": "Silver tier",
        "version": None,
        "tier": "silver",
        "points": 50,
    }
    assert (Reward.objects.count(), qualifying()) == before
