"""Rule caps under real concurrency: parallel PostgreSQL connections never award past a cap."""

import pytest
from django.db.models import Sum

from rewards import services
from rewards.models import Reward, RuleCapCount
from rewards.selectors import ledger_drift
from tests.concurrency import run_concurrently
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

T0 = 1_700_000_000


def test_32_parallel_orders_against_a_budget_of_100_award_exactly_100(committed_shop_app):
    bonus = services.rule_create(
        definition={
            "name": "First come",
            "trigger": "order",
            "status": "active",
            "effect": {"type": "fixed", "points": 50},
            "caps": {"budget": 100},
        },
        by="test",
    )

    def post(i: int):
        body = {"user_id": 9000 + i, "order_id": 5000 + i, "total_cost": 1000, "completed_at": T0}
        return client_for(committed_shop_app).post("/loyalty-api/orders", body, format="json")

    responses = run_concurrently(post, 32)

    assert [r.status_code for r in responses] == [201] * 32
    bonuses = sorted(r.json()["breakdown"][1]["points"] for r in responses)
    assert bonuses == [0] * 30 + [50, 50]
    assert sum(r.json()["points_awarded"] for r in responses) == 32 * 50 + 100
    assert Reward.objects.filter(rule=bonus).aggregate(total=Sum("points_earned"))["total"] == 100
    assert RuleCapCount.objects.get(rule=bonus).points == 100
    assert ledger_drift() == []


def test_32_parallel_purchases_of_one_customer_never_pass_the_per_customer_cap(committed_shop_app):
    bonus = services.rule_create(
        definition={
            "name": "Purchase bonus",
            "trigger": "purchase",
            "status": "active",
            "effect": {"type": "fixed", "points": 30},
            "caps": {"per_customer": 100, "period": "day"},
        },
        by="test",
    )

    def post(i: int):
        body = {"user_id": 4242, "amount": "1.00", "reward_description": f"purchase {i}"}
        return client_for(committed_shop_app).post("/rewards-api/purchase/", body, format="json")

    responses = run_concurrently(post, 32)

    assert [r.status_code for r in responses] == [201] * 32
    bonuses = sorted(r.json()["breakdown"][1]["points"] for r in responses)
    assert bonuses == [0] * 28 + [10, 30, 30, 30]  # the fourth gets what is left
    assert Reward.objects.filter(rule=bonus).aggregate(total=Sum("points_earned"))["total"] == 100
    assert ledger_drift() == []
