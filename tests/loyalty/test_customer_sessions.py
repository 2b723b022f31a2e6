"""rewards-api/customer-session/ and what a customer token may do (docs/API.md, Access)."""

import time
from datetime import datetime

import pytest
from rest_framework.test import APIClient

from loyalty.services import application_revoke
from loyalty.tokens import customer_token_sign
from rewards import services
from rewards.models import Reward

pytestmark = pytest.mark.django_db

USER = 4040
SESSION = "/rewards-api/customer-session/"


def customer_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def session(shop, shop_app) -> dict:
    services.points_earn(user_id=USER, points=120, description="seed", app=shop_app)
    response = shop.post(SESSION, {"user_id": USER}, format="json")
    assert response.status_code == 201
    return response.json()


def test_session_has_token_expiry_and_page_url(session):
    assert session["token"].startswith("cs_")
    assert session["user_id"] == USER
    expires = datetime.fromisoformat(session["expires_at"]).timestamp()
    assert 1795 <= expires - time.time() <= 1800
    # No PUBLIC_BASE_URL and DEBUG off: the path alone, never the request's Host.
    assert session["rewards_page_url"].startswith("/rewards-page/#token=cs_")
    assert f"user_id={USER}" in session["rewards_page_url"]


def test_page_url_comes_from_the_configured_public_address_not_the_host(settings, shop):
    settings.PUBLIC_BASE_URL = "https://rewards.shop.example"
    settings.ALLOWED_HOSTS = ["*"]

    body = shop.post(SESSION, {"user_id": USER}, format="json", HTTP_HOST="evil.example").json()

    assert body["rewards_page_url"].startswith("https://rewards.shop.example/rewards-page/#token=cs_")


def test_page_url_follows_the_request_in_debug_only(settings, shop):
    settings.DEBUG = True
    body = shop.post(SESSION, {"user_id": USER}, format="json").json()
    assert body["rewards_page_url"].startswith("http://testserver/rewards-page/#token=cs_")


def test_customer_reads_own_points_history_and_catalog(session):
    client = customer_client(session["token"])
    assert client.get(f"/rewards-api/get-points/?user_id={USER}").json()["total_points"] == 120
    assert client.get(f"/rewards-api/get-redemptions/?user_id={USER}").status_code == 200
    assert client.post("/rewards-api/get-user-info/", {"user_id": USER}, format="json").status_code == 200
    assert client.get("/rewards-api/catalog/").status_code == 200


def test_customer_redeems_for_self_in_the_issuing_apps_name(session, shop_app):
    client = customer_client(session["token"])
    body = {"user_id": USER, "points_redeemed": 100, "coupon_amount": 10, "reward_description": "page"}

    response = client.post("/rewards-api/redeem-coupon/", body, format="json")

    assert response.status_code == 201 and response.json()["total_points"] == 20
    assert Reward.objects.get(kind="coupon").application_id == shop_app.pk


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", f"/rewards-api/get-points/?user_id={USER + 1}", None),
        ("post", "/rewards-api/get-user-info/", {"user_id": USER + 1}),
        (
            "post",
            "/rewards-api/redeem-donation/",
            {"user_id": USER + 1, "points_redeemed": 50, "donation_amount": 5, "reward_description": "x"},
        ),
        ("post", "/rewards-api/earn-points/", {"user_id": USER, "points_earned": 5, "reward_description": "x"}),
        ("post", "/rewards-api/purchase/", {"user_id": USER, "amount": 5, "reward_description": "x"}),
        ("post", "/rewards-api/submit-feedback/", {"user_id": USER, "reward_description": "x"}),
        ("post", "/rewards-api/use-coupon/", {"item_code": "AAAAAAAAAAAAAAAA"}),
        ("post", SESSION, {"user_id": USER}),
        ("get", f"/loyalty-api/user?user_id={USER}", None),
        ("post", "/loyalty-api/orders", {"user_id": USER, "order_id": 1, "total_cost": 5, "completed_at": 1}),
        ("delete", "/loyalty-api/orders/1", None),
        ("post", "/loyalty-api/application", {"application_name": "x", "access_level": "Can_Read"}),
    ],
)
def test_customer_token_is_403_elsewhere(session, method, path, body):
    rows = Reward.objects.count()
    response = getattr(customer_client(session["token"]), method)(path, body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert Reward.objects.count() == rows


def test_expired_token_is_401_with_a_clear_message(shop_app):
    token = customer_token_sign(user_id=USER, app_id=str(shop_app.pk), expires_at=int(time.time()) - 1)
    response = customer_client(token).get(f"/rewards-api/get-points/?user_id={USER}")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


@pytest.mark.parametrize("mutate", [lambda t: t[:-2] + "xx", lambda t: t.replace("cs_", "cs_x", 1), lambda t: "cs_"])
def test_tampered_token_is_401(session, mutate):
    response = customer_client(mutate(session["token"])).get(f"/rewards-api/get-points/?user_id={USER}")
    assert response.status_code == 401


def test_forged_payload_for_another_customer_is_401(session):
    import base64
    import json

    payload, *rest = session["token"].removeprefix("cs_").split(":")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["u"] = USER + 1
    new = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    response = customer_client("cs_" + ":".join([new, *rest])).get(f"/rewards-api/get-points/?user_id={USER + 1}")
    assert response.status_code == 401


def test_session_dies_with_its_application(session, shop_app):
    application_revoke(app_id=shop_app.pk)
    assert customer_client(session["token"]).get(f"/rewards-api/get-points/?user_id={USER}").status_code == 401


def test_session_stops_writing_when_its_application_is_lowered_to_can_read(session, shop_app):
    from loyalty.services import application_set_access_level

    client = customer_client(session["token"])
    body = {"user_id": USER, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "page"}
    application_set_access_level(app_id=shop_app.pk, access_level="Can_Read")

    redeem = client.post("/rewards-api/redeem-coupon/", body, format="json")
    read = client.get(f"/rewards-api/get-points/?user_id={USER}")

    assert redeem.status_code == 403
    assert redeem.json()["error"]["code"] == "permission_denied"
    assert not Reward.objects.filter(kind="coupon").exists()
    # Reading is what Can_Read still allows.
    assert read.status_code == 200 and read.json()["total_points"] == 120

    application_set_access_level(app_id=shop_app.pk, access_level="Can_Modify_Orders")
    assert client.post("/rewards-api/redeem-coupon/", body, format="json").status_code == 201


def test_only_can_modify_orders_issues_sessions(reader, master):
    assert reader.post(SESSION, {"user_id": USER}, format="json").status_code == 403
    assert master.post(SESSION, {"user_id": USER}, format="json").status_code == 403
    assert APIClient().post(SESSION, {"user_id": USER}, format="json").status_code == 401


@pytest.mark.parametrize(
    "body", [{"user_id": USER, "ttl_seconds": 1801}, {"user_id": USER, "ttl_seconds": 10}, {"user_id": "1"}, {}]
)
def test_bad_session_request_is_400(shop, body):
    assert shop.post(SESSION, body, format="json").status_code == 400


def test_shorter_ttl_is_honoured(shop):
    body = shop.post(SESSION, {"user_id": USER, "ttl_seconds": 120}, format="json").json()
    assert 115 <= datetime.fromisoformat(body["expires_at"]).timestamp() - time.time() <= 120


def test_cors_allows_configured_origin_only(settings, session):
    settings.CORS_ALLOWED_ORIGINS = ["http://shop.example"]
    client = customer_client(session["token"])

    allowed = client.get(f"/rewards-api/get-points/?user_id={USER}", HTTP_ORIGIN="http://shop.example")
    other = client.get(f"/rewards-api/get-points/?user_id={USER}", HTTP_ORIGIN="http://evil.example")
    preflight = APIClient().options(
        "/rewards-api/redeem-coupon/",
        HTTP_ORIGIN="http://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )

    assert allowed["Access-Control-Allow-Origin"] == "http://shop.example"
    assert "Access-Control-Allow-Origin" not in other
    assert preflight.status_code == 200
    assert "authorization" in preflight["Access-Control-Allow-Headers"]


def test_rewards_page_is_served_without_referrer_or_cache(client):
    response = client.get("/rewards-page/")
    assert response.status_code == 200
    assert b"rewards/page.js" in response.content
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
