"""Every access level against every endpoint of both APIs, exactly as docs/API.md (Access) says."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from loyalty.customers import customer_session_issue
from loyalty.models import AccessLevel
from loyalty.services import application_create, order_record, referral_code_for
from rewards import services
from rewards.services import segments as segment_services
from rewards.services.badges import badge_create
from rewards.services.challenges import challenge_create
from rewards.services.messages import contact_set
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

USER = 77
READ, MODIFY, MASTER = AccessLevel.CAN_READ, AccessLevel.CAN_MODIFY_ORDERS, AccessLevel.MASTER_APP
PROGRAM = AccessLevel.CAN_MANAGE_PROGRAM
AWARD = {"award_id": "a-1", "points": 5, "description": "A gift"}
BONUS = {"name": "Bonus", "trigger": "feedback", "effect": {"type": "fixed", "points": 5}}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict | None
    success: int
    needs: str
    customer: bool = False  # also open to a customer session for this customer


def calls(state: dict) -> list[Call]:
    user = {"user_id": USER}
    return [
        Call("post", "/rewards-api/earn-points/", {**user, "points_earned": 5, "reward_description": "x"}, 201, MODIFY),
        Call("post", "/rewards-api/purchase/", {**user, "amount": 5, "reward_description": "x"}, 201, MODIFY),
        Call("post", "/rewards-api/submit-feedback/", {**user, "reward_description": "x"}, 201, MODIFY),
        Call(
            "post",
            "/rewards-api/redeem-coupon/",
            {**user, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "x"},
            201,
            MODIFY,
            True,
        ),
        Call(
            "post",
            "/rewards-api/redeem-donation/",
            {**user, "points_redeemed": 50, "donation_amount": 5, "reward_description": "x"},
            201,
            MODIFY,
            True,
        ),
        Call("post", "/rewards-api/use-coupon/", {"item_code": state["coupon"]}, 200, MODIFY),
        Call("get", "/rewards-api/catalog/", None, 200, READ, True),
        Call("get", f"/rewards-api/get-points/?user_id={USER}", None, 200, READ, True),
        Call("post", "/rewards-api/get-points/", user, 200, READ, True),
        Call("get", f"/rewards-api/get-points/?user_id={USER}&as_of=2026-01-01T00:00:00Z", None, 200, READ, True),
        Call("get", f"/rewards-api/get-redemptions/?user_id={USER}", None, 200, READ, True),
        Call("post", "/rewards-api/get-redemptions/", user, 200, READ, True),
        Call("get", f"/rewards-api/get-user-info/?user_id={USER}", None, 200, READ, True),
        Call("post", "/rewards-api/get-user-info/", user, 200, READ, True),
        Call("get", f"/rewards-api/get-all-history/?user_id={USER}", None, 200, READ, True),
        Call("post", "/rewards-api/get-all-history/", user, 200, READ, True),
        Call("get", f"/loyalty-api/user?user_id={USER}", None, 200, READ),
        Call("get", "/rewards-api/events/", None, 200, READ),
        Call("get", "/loyalty-api/webhooks", None, 200, READ),
        Call(
            "post",
            "/loyalty-api/webhooks",
            {"url": "https://93.184.216.34/hooks", "event_types": ["points.earned"]},
            201,
            READ,
        ),
        # Another application's (or no) webhook: 404 for any level that may have webhooks.
        Call("patch", "/loyalty-api/webhooks/999999", {"is_active": False}, 404, READ),
        Call("delete", "/loyalty-api/webhooks/999999", None, 404, READ),
        Call("post", "/rewards-api/customer-session/", user, 201, MODIFY),
        Call(
            "post",
            "/loyalty-api/orders",
            {**user, "order_id": 900, "total_cost": 100, "completed_at": 1_700_000_000},
            201,
            MODIFY,
        ),
        Call("delete", "/loyalty-api/orders", {"order_id": state["order_id"]}, 200, MODIFY),
        Call("delete", f"/loyalty-api/orders/{state['order_id']}", None, 200, MODIFY),
        Call("post", "/loyalty-api/application", {"application_name": "n", "access_level": "Can_Read"}, 201, MASTER),
        Call(
            "put", "/loyalty-api/application", {"app_id": state["target"], "new_access_level": "Can_Read"}, 200, MASTER
        ),
        Call("delete", "/loyalty-api/application", {"app_id": state["target"]}, 200, MASTER),
        Call(
            "post",
            "/rewards-api/activities/",
            {**user, "name": "photo_review", "activity_id": "a-1"},
            201,
            MODIFY,
        ),
        Call("put", "/rewards-api/birthday/", {**user, "month": 5, "day": 17}, 200, MODIFY, True),
        Call("post", "/rewards-api/referral-code/", user, 200, MODIFY, True),
        # The code's owner referring themselves: a 409 that only a level allowed to ask can reach.
        Call("post", "/rewards-api/referrals/", {**user, "code": state["code"]}, 409, MODIFY, True),
        Call("get", "/loyalty-api/rules", None, 200, PROGRAM),
        Call("post", "/loyalty-api/rules", BONUS, 201, PROGRAM),
        Call("get", f"/loyalty-api/rules/{state['rule']}", None, 200, PROGRAM),
        Call("patch", f"/loyalty-api/rules/{state['rule']}", {"priority": 5}, 200, PROGRAM),
        Call("delete", f"/loyalty-api/rules/{state['rule']}", None, 200, PROGRAM),
        Call(
            "post",
            "/loyalty-api/rules/simulate",
            {"trigger": "feedback", "event": {**user, "reward_description": "x"}},
            200,
            PROGRAM,
        ),
        Call("get", "/rewards-api/tiers/", None, 200, READ, True),
        Call("get", f"/rewards-api/challenges/?user_id={USER}", None, 200, READ, True),
        Call("get", "/rewards-api/ledger/digests/", None, 200, READ),
        Call("get", "/rewards-api/ledger/public-key/", None, 200, READ),
        Call("get", "/loyalty-api/tiers", None, 200, PROGRAM),
        Call(
            "put",
            "/loyalty-api/tiers",
            {"tiers": [{"code": "member", "name": "Member", "entry_points": 0, "retain_points": 0}]},
            200,
            PROGRAM,
        ),
        Call("post", "/rewards-api/void-coupon/", {"item_code": state["coupon"], "reason": "asked"}, 200, MODIFY),
        Call("get", "/loyalty-api/catalog", None, 200, PROGRAM),
        Call(
            "post",
            "/loyalty-api/catalog",
            {"kind": "coupon", "points_cost": 70, "amount": "7", "description": "$7 coupon", "stock": 5},
            201,
            PROGRAM,
        ),
        Call("get", f"/loyalty-api/catalog/{state['item']}", None, 200, PROGRAM),
        Call("patch", f"/loyalty-api/catalog/{state['item']}", {"stock": 9}, 200, PROGRAM),
        Call("get", "/loyalty-api/reports/liability", None, 200, PROGRAM),
        Call("get", "/loyalty-api/reports/rollforward?from=2026-01-01", None, 200, PROGRAM),
        Call("get", "/loyalty-api/reports/breakage", None, 200, PROGRAM),
        Call("get", "/loyalty-api/audit?from=2026-01-01&subject=rule", None, 200, PROGRAM),
        Call("get", "/loyalty-api/badges", None, 200, PROGRAM),
        Call("post", "/loyalty-api/badges", {"code": f"b{state['item']}", "name": "New"}, 201, PROGRAM),
        Call("get", "/loyalty-api/badges/regular", None, 200, PROGRAM),
        Call("patch", "/loyalty-api/badges/regular", {"name": "Regular customer"}, 200, PROGRAM),
        Call("get", "/loyalty-api/challenges", None, 200, PROGRAM),
        Call("post", "/loyalty-api/challenges", {**CHALLENGE, "code": f"c{state['item']}"}, 201, PROGRAM),
        Call("get", "/loyalty-api/challenges/regular", None, 200, PROGRAM),
        Call("patch", "/loyalty-api/challenges/regular", {"name": "Regular customer"}, 200, PROGRAM),
        Call("delete", "/loyalty-api/challenges/regular", None, 200, PROGRAM),
        Call("get", f"/loyalty-api/customers/{USER}/export", None, 200, PROGRAM),
        Call("get", f"/loyalty-api/customers/{USER}/balance?as_of=2026-01-01", None, 200, PROGRAM),
        Call("delete", f"/loyalty-api/customers/{USER}/personal-data", None, 200, PROGRAM),
        Call("get", f"/rewards-api/customers/{USER}/contact/", None, 200, READ, True),
        Call("put", f"/rewards-api/customers/{USER}/contact/", {"email": "c@example.com"}, 200, MODIFY, True),
        Call("get", f"/rewards-api/customers/{USER}/attributes/", None, 200, READ),
        Call("patch", f"/rewards-api/customers/{USER}/attributes/", {"city": "Lyon"}, 200, MODIFY),
        Call("get", "/loyalty-api/segments", None, 200, PROGRAM),
        Call("post", "/loyalty-api/segments", {"code": "new", "name": "New"}, 201, PROGRAM),
        Call("get", "/loyalty-api/segments/all", None, 200, PROGRAM),
        Call("patch", "/loyalty-api/segments/all", {"name": "All of them"}, 200, PROGRAM),
        Call("delete", "/loyalty-api/segments/all", None, 200, PROGRAM),
        Call("get", "/loyalty-api/segments/all/members", None, 200, PROGRAM),
        Call("post", "/loyalty-api/segments/all/awards", {**AWARD, "award_id": "a-2"}, 202, PROGRAM),
        Call("get", "/loyalty-api/segments/all/awards/a-1", None, 200, PROGRAM),
        Call("get", f"/loyalty-api/customers/{USER}/segments", None, 200, PROGRAM),
    ]


CALL_COUNT = 79
CHALLENGE = {"name": "Regular", "goal": {"metric": "orders", "target": 3}, "reward": {"points": 10}}
CUSTOMER = "customer"
LEVELS = [None, "bad-token", READ, MODIFY, MASTER, PROGRAM, CUSTOMER]


def expected_status(level: str | None, call: Call) -> int:
    if level in (None, "bad-token"):
        return 401
    if level == CUSTOMER:
        return call.success if call.customer else 403
    granted = {READ: {READ}, MODIFY: {READ, MODIFY}, MASTER: {MASTER}, PROGRAM: {PROGRAM}}[level]
    return call.success if call.needs in granted else 403


@pytest.fixture
def state(db) -> dict:
    app = ApplicationFactory(access_level=MODIFY)
    services.points_earn(user_id=USER, points=500, description="seed", app=app)
    coupon = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=app)
    order_record(order_id=800, user_id=USER, total_cost=100, completed_at=1_700_000_000, app=app)
    target = application_create(name="target", access_level=READ).app
    rule = services.rule_create(definition=BONUS, by="test")
    code = referral_code_for(user_id=USER).code
    contact_set(user_id=USER, email="c@example.com")
    segment_services.segment_create(definition={"code": "all", "name": "All"}, by="test")
    segment_services.award_ask(code="all", **AWARD, app=None, by="test")
    badge_create(definition={"code": "regular", "name": "Regular"})
    challenge_create(definition={**CHALLENGE, "code": "regular"}, by="test")
    return {
        "code": code,
        "coupon": coupon.redeemed_item.item_code,
        "order_id": 800,
        "target": str(target.pk),
        "rule": rule.pk,
        "item": coupon.redeemed_item.catalog_item.pk,
    }


@pytest.mark.parametrize("index", range(CALL_COUNT))
@pytest.mark.parametrize("level", LEVELS, ids=lambda level: str(level))
def test_access_matrix(state, level, index):
    call = calls(state)[index]
    if level is None:
        client = APIClient()
    elif level == "bad-token":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    elif level == CUSTOMER:
        client = APIClient()
        session = customer_session_issue(user_id=USER, app=ApplicationFactory(access_level=MODIFY, name="issuer"))
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {session.token}")
    else:
        client = client_for(ApplicationFactory(access_level=level, name="caller"))

    response = getattr(client, call.method)(call.path, call.body, format="json")

    assert response.status_code == expected_status(level, call), (call, response.json())
    assert response.json()["success"] is (response.status_code < 400)


def test_matrix_covers_every_api_route_and_method():
    from django.urls import resolve

    from loyalty.urls import urlpatterns as loyalty_routes
    from rewards.urls import urlpatterns as rewards_routes
    from rewards_project.urls import urlpatterns as project_routes

    # Routes loyalty serves under the rewards-api/ prefix.
    served_by_loyalty = {"customer-session", "referral-code", "referrals"}
    loyalty_under_rewards = [p for p in project_routes if getattr(p, "name", None) in served_by_loyalty]
    routes = [*rewards_routes, *loyalty_routes, *loyalty_under_rewards]
    every = {(p.name, m) for p in routes for m in _methods(p.callback.view_class)}
    covered = {(resolve(c.path.split("?")[0]).url_name, c.method) for c in calls(_PLACEHOLDERS)}
    assert len(calls(_PLACEHOLDERS)) == CALL_COUNT
    assert covered == every


_PLACEHOLDERS = {"coupon": "X", "order_id": 1, "target": "t", "rule": 1, "code": "C", "item": 1}


def _methods(view_class) -> set[str]:
    return {m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)}
