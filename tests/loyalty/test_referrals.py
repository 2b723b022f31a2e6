"""Referrals: a stable code per customer, who referred whom (with its three refusals), and the
referral rules awarding both sides on the referred customer's first order."""

import pytest
from django.utils import timezone

from loyalty.customers import customer_session_issue
from loyalty.models import Referral, ReferralCode
from rewards import services
from rewards.models import PointLot, Reward
from rewards.selectors import account_balance, ledger_drift
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FRIEND, NEWCOMER = 6101, 6102
T0 = 1_700_000_000


def code_of(client, user_id: int) -> str:
    return client.post("/rewards-api/referral-code/", {"user_id": user_id}, format="json").json()["code"]


def refer(client, user_id: int, code: str):
    return client.post("/rewards-api/referrals/", {"user_id": user_id, "code": code}, format="json")


def order(client, order_id: int, user_id: int = NEWCOMER, total_cost: int = 2000, completed_at: int = T0):
    body = {"user_id": user_id, "order_id": order_id, "total_cost": total_cost, "completed_at": completed_at}
    return client.post("/loyalty-api/orders", body, format="json")


def referral_rule(role: str, points: int, **extra) -> None:
    services.rule_create(
        definition={
            "name": f"Referral, {role}",
            "trigger": "referral",
            "status": "active",
            "effect": {"type": "fixed", "points": points, "role": role},
            **extra,
        },
        by="test",
    )


def test_a_customer_has_one_stable_code(shop):
    first, again = code_of(shop, FRIEND), code_of(shop, FRIEND)

    assert first == again and len(first) == 10
    assert not set(first) & set("01OIL")
    assert ReferralCode.objects.count() == 1


def test_a_referral_is_recorded_once_with_its_three_refusals(shop):
    code = code_of(shop, FRIEND)
    order(shop, 1, user_id=NEWCOMER + 1)

    recorded = refer(shop, NEWCOMER, code.lower())
    again = refer(shop, NEWCOMER, code)
    self_referral = refer(shop, FRIEND, code)
    customer_with_an_order = refer(shop, NEWCOMER + 1, code)
    unknown = refer(shop, NEWCOMER + 2, "ZZZZZZZZZZ")

    assert recorded.status_code == 201
    assert [(r.status_code, r.json()["error"]["code"]) for r in (again, self_referral, customer_with_an_order)] == [
        (409, "already_referred"),
        (409, "self_referral"),
        (409, "not_a_new_customer"),
    ]
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "referral_code_not_found")
    assert list(Referral.objects.values_list("referee_user_id", "referrer_user_id")) == [(NEWCOMER, FRIEND)]


def test_the_first_order_rewards_both_sides_and_the_second_neither(shop):
    referral_rule("referee", 100)
    referral_rule("referrer", 200)
    refer(shop, NEWCOMER, code_of(shop, FRIEND))

    first = order(shop, 1).json()
    second = order(shop, 2).json()

    assert first["points_awarded"] == 200 and first["total_points"] == 200
    assert [(award["rule_name"], award["points"]) for award in first["breakdown"]] == [
        ("Points for orders", 100),
        ("Referral, referee", 100),
    ]
    assert second["points_awarded"] == 100
    assert account_balance(user_id=FRIEND).total_points == 200
    assert Reward.objects.get(user_id=FRIEND).kind == "referral"
    assert Referral.objects.get().rewarded_order_id == 1
    assert ledger_drift() == []


def test_referral_awards_wait_as_the_order_does_and_its_return_cancels_both(shop, settings):
    settings.ORDER_POINTS_PENDING_DAYS = 14
    referral_rule("referee", 100)
    referral_rule("referrer", 200)
    refer(shop, NEWCOMER, code_of(shop, FRIEND))
    order(shop, 1, completed_at=int(timezone.now().timestamp()))
    assert account_balance(user_id=FRIEND).pending_points == 200

    returned = shop.delete("/loyalty-api/orders/1").json()

    assert returned["points_taken_back"] == 200  # the order's 100 and the referee's 100
    assert (account_balance(user_id=FRIEND).pending_points, account_balance(user_id=FRIEND).total_points) == (0, 0)
    assert account_balance(user_id=NEWCOMER).pending_points == 0
    assert PointLot.objects.get(user_id=FRIEND).cancelled_points == 200
    assert ledger_drift() == []


def test_the_rules_caps_limit_what_one_referrer_earns(shop):
    referral_rule("referrer", 200, caps={"per_customer": 300})
    code = code_of(shop, FRIEND)
    for n in range(3):
        refer(shop, NEWCOMER + n, code)
        order(shop, 10 + n, user_id=NEWCOMER + n)

    rows = Reward.objects.filter(user_id=FRIEND).order_by("id").values_list("points_earned", flat=True)
    assert list(rows) == [200, 100]
    assert ledger_drift() == []


def test_a_customer_session_asks_for_its_own_code_and_names_its_own_referrer(shop_app, shop):
    code = code_of(shop, FRIEND)
    session = client_for(None)
    session.credentials(HTTP_AUTHORIZATION=f"Bearer {customer_session_issue(user_id=NEWCOMER, app=shop_app).token}")

    assert code_of(session, NEWCOMER)
    assert session.post("/rewards-api/referral-code/", {"user_id": FRIEND}, format="json").status_code == 403
    assert refer(session, NEWCOMER + 1, code).status_code == 403
    assert refer(session, NEWCOMER, code).status_code == 201


def test_a_customer_who_referred_someone_cannot_be_referred_by_them_nor_round_a_circle(shop):
    first, second, third = FRIEND, NEWCOMER, NEWCOMER + 1
    assert refer(shop, second, code_of(shop, first)).status_code == 201  # first referred second
    assert refer(shop, third, code_of(shop, second)).status_code == 201  # second referred third
    before = sorted(Referral.objects.values_list("referee_user_id", "referrer_user_id"))

    back = refer(shop, first, code_of(shop, second))  # second referring first: a pair
    around = refer(shop, first, code_of(shop, third))  # third referring first: a circle of three

    for response in (back, around):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "referral_loop"
        assert response.json()["error"]["fields"] == {
            "code": ["This code's owner was referred, directly or through others, by this customer."]
        }
    assert sorted(Referral.objects.values_list("referee_user_id", "referrer_user_id")) == before
    # Someone from outside the chain may still refer the first customer.
    assert refer(shop, first, code_of(shop, NEWCOMER + 9)).status_code == 201
    assert Referral.objects.get(referee_user_id=first).referrer_user_id == NEWCOMER + 9
