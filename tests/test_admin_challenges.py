"""Challenges in admin: staff create and edit one with the API's grammar (a bad goal is told and
writes nothing), and read each customer's progress and completions."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from loyalty.services import order_record
from rewards.models import Challenge, ChallengeCompletion, ChallengeProgress

pytestmark = pytest.mark.django_db

USER = 5160


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("maria", "maria@example.com", "pw"))
    return client


def form(**changes) -> dict:
    return {
        "code": "two",
        "name": "Two orders",
        "description": "",
        "status": "active",
        "segment_codes": "[]",
        "goal": json.dumps({"metric": "orders", "target": 2}),
        "window": json.dumps({"period": "week"}),
        "reward": json.dumps({"points": 20}),
        **changes,
    }


def test_staff_create_edit_and_read_a_challenge_with_the_apis_checks(staff_client):
    bad = staff_client.post(
        reverse("admin:rewards_challenge_add"),
        form(
            goal=json.dumps(
                {"metric": "orders", "target": 2, "conditions": [{"field": "amount", "op": "eq", "value": 1}]}
            )
        ),
    )
    assert bad.status_code == 200
    assert "goal" in bad.context["adminform"].form.errors
    assert not Challenge.objects.exists()

    saved = staff_client.post(reverse("admin:rewards_challenge_add"), form())
    assert saved.status_code == 302
    challenge = Challenge.objects.get()
    assert (challenge.code, challenge.trigger, challenge.goal, challenge.updated_by) == (
        "two",
        "order",
        {"metric": "orders", "target": 2, "conditions": []},
        "staff maria",
    )
    edited = staff_client.post(
        reverse("admin:rewards_challenge_change", args=[challenge.pk]), form(code="other", name="Two, this week")
    )
    assert edited.status_code == 302
    assert list(Challenge.objects.values_list("code", "name")) == [("two", "Two, this week")]  # code stays

    now = int(timezone.now().timestamp())
    for order_id in (1, 2):
        order_record(order_id=order_id, user_id=USER, total_cost=1000, completed_at=now, app=None)
    assert ChallengeProgress.objects.get().value == 2 and ChallengeCompletion.objects.count() == 1
    for name in ("challenge", "challengeprogress", "challengecompletion"):
        page = staff_client.get(reverse(f"admin:rewards_{name}_changelist"))
        assert page.status_code == 200, name
    assert (
        "Two, this week" in staff_client.get(reverse("admin:rewards_challengecompletion_changelist")).content.decode()
    )
