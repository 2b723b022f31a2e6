"""Challenges under real concurrency: 32 orders of one customer on 32 connections that cross a
target together complete it once, with one award row and one badge."""

import pytest
from django.utils import timezone

from rewards.models import BadgeAward, ChallengeCompletion, ChallengeContribution, ChallengeProgress, Event, Reward
from rewards.selectors import account_balance, ledger_drift
from rewards.services.badges import badge_create
from rewards.services.challenges import challenge_create
from tests.concurrency import run_concurrently
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

USER = 7400


def test_32_parallel_orders_that_cross_the_target_together_complete_it_once(committed_shop_app):
    badge_create(definition={"code": "regular", "name": "Regular"})
    challenge_create(
        definition={
            "code": "ten",
            "name": "Ten orders",
            "status": "active",
            "goal": {"metric": "orders", "target": 10},
            "reward": {"points": 500, "badge": "regular"},
        },
        by="test",
    )
    completed_at = int(timezone.now().timestamp())

    def post(i: int):
        body = {"user_id": USER, "order_id": 9100 + i, "total_cost": 1000, "completed_at": completed_at}
        return client_for(committed_shop_app).post("/loyalty-api/orders", body, format="json")

    responses = run_concurrently(post, 32)

    assert [r.status_code for r in responses] == [201] * 32
    assert ChallengeContribution.objects.count() == 32
    assert ChallengeProgress.objects.get().value == 32
    [completion] = ChallengeCompletion.objects.all()
    assert (completion.value, completion.points, completion.cancelled_at) == (10, 500, None)
    assert Reward.objects.filter(kind="challenge").count() == 1
    assert BadgeAward.objects.filter(user_id=USER).count() == 1
    assert Event.objects.filter(type="challenge.completed").count() == 1
    assert Event.objects.filter(type="badge.awarded").count() == 1
    assert account_balance(user_id=USER).total_points == 32 * 50 + 500
    assert ledger_drift() == []
