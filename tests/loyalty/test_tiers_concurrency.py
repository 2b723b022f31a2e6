"""Tiers under real concurrency: parallel PostgreSQL connections, each a request of its own.
A customer's credits and returns are serialised by their account row lock, so the qualifying
points are exact and an upgrade happens once, at the credit that reaches the entry."""

import pytest

from rewards import services
from rewards.models import Event, QualifyingDay, Reward, RewardKind, TierChange, TierStanding
from rewards.selectors import account_balance, ledger_drift
from tests.concurrency import run_concurrently
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

T0 = 1_780_000_000
LADDER = {
    "tiers": [
        {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0},
        {"code": "silver", "name": "Silver", "entry_points": 500, "retain_points": 400, "multiplier": "1.5"},
    ]
}


@pytest.fixture
def ladder(transactional_db):
    services.ladder_set(definition=LADDER, by="test")


def _order(app, order_id: int, user_id: int, points: int):
    body = {"user_id": user_id, "order_id": order_id, "total_cost": points * 20, "completed_at": T0}
    return client_for(app).post("/loyalty-api/orders", body, format="json")


def _qualifying(user_id: int) -> int:
    return sum(QualifyingDay.objects.filter(user_id=user_id).values_list("points", flat=True))


def test_an_upgrade_racing_a_return_counts_both_exactly(committed_shop_app, ladder):
    customers = [8100 + i for i in range(8)]
    for user_id in customers:
        assert _order(committed_shop_app, user_id * 10 + 1, user_id, 300).status_code == 201
        assert _order(committed_shop_app, user_id * 10 + 2, user_id, 100).status_code == 201  # 400: bronze

    def race(i: int):
        user_id = customers[i // 2]
        if i % 2 == 0:  # the order that reaches 500, unless the return came first
            return _order(committed_shop_app, user_id * 10 + 3, user_id, 100)
        return client_for(committed_shop_app).delete(
            "/loyalty-api/orders", {"order_id": user_id * 10 + 2}, format="json"
        )

    responses = run_concurrently(race, 2 * len(customers))

    assert sorted(r.status_code for r in responses) == [200] * len(customers) + [201] * len(customers)
    orders_first = 0
    for index, user_id in enumerate(customers):
        upgrades = list(TierChange.objects.filter(user_id=user_id))
        standing = TierStanding.objects.filter(user_id=user_id).first()
        awarded = responses[2 * index].json()["points_awarded"]
        if upgrades:  # the order came first: 100 took them to 500, and a return never moves them down at once
            orders_first += 1
            assert awarded == 100
            assert [(u.to_code, u.qualifying_points) for u in upgrades] == [("silver", 500)]
            assert standing.tier_code == "silver"
        else:  # the return came first: the order earned 1 returned of 2 placed's coefficient, 26/30
            assert awarded == 86
            assert standing is None
        assert _qualifying(user_id) == 300 + awarded  # the returned order's 100 taken back either way
        # The order was multiplied at bronze: no tier award either way.
        assert not Reward.objects.filter(user_id=user_id, kind=RewardKind.TIER).exists()
        assert account_balance(user_id=user_id).total_points == 300 + awarded
    assert Event.objects.filter(type="tier.upgraded").count() == orders_first
    assert ledger_drift() == []


def test_parallel_orders_of_one_customer_upgrade_once_and_multiply_only_the_orders_after(committed_shop_app, ladder):
    user_id = 8200
    _order(committed_shop_app, 1, user_id, 450)

    responses = run_concurrently(lambda i: _order(committed_shop_app, 100 + i, user_id, 10), 16)

    assert [r.status_code for r in responses] == [201] * 16
    # 450 + 10 x 16: the fifth order to commit reached 500; the 11 after it got floor(10 x 0.5) = 5 each.
    awarded = sorted(r.json()["points_awarded"] for r in responses)
    assert awarded == [10] * 5 + [15] * 11
    assert _qualifying(user_id) == 450 + 160
    assert Event.objects.filter(type="tier.upgraded", user_id=user_id).count() == 1
    assert TierChange.objects.get(user_id=user_id).qualifying_points == 500
    assert account_balance(user_id=user_id).total_points == 450 + 160 + 11 * 5
    assert ledger_drift() == []


def test_the_requalification_job_beside_itself_moves_each_customer_once(committed_shop_app, ladder):
    from datetime import timedelta

    for i in range(40):
        _order(committed_shop_app, 300 + i, 8300 + i, 500)  # silver, each
    due = TierStanding.objects.order_by("requalify_at").last().requalify_at + timedelta(days=400)

    reports = run_concurrently(lambda i: services.tiers_requalify(now=due, batch_size=7), 4)

    assert sum(report.downgraded for report in reports) == 40
    assert Event.objects.filter(type="tier.downgraded").count() == 40
    assert set(TierStanding.objects.values_list("tier_code", flat=True)) == {"bronze"}
