"""Tokens, levels, revocation (docs/API.md, Access)."""

import pytest
from rest_framework.test import APIClient

from loyalty.models import AccessLevel, Application
from loyalty.services import application_revoke, application_set_access_level
from loyalty.tokens import token_hash
from rewards.models import Reward
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

EARN_BODY = {"user_id": 5, "points_earned": 10, "reward_description": "x"}
WRITES = [
    ("/rewards-api/earn-points/", EARN_BODY),
    ("/rewards-api/purchase/", {"user_id": 5, "amount": 1, "reward_description": "x"}),
    ("/rewards-api/submit-feedback/", {"user_id": 5, "reward_description": "x"}),
    (
        "/rewards-api/redeem-coupon/",
        {"user_id": 5, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "x"},
    ),
    (
        "/rewards-api/redeem-donation/",
        {"user_id": 5, "points_redeemed": 50, "donation_amount": 5, "reward_description": "x"},
    ),
    ("/rewards-api/use-coupon/", {"item_code": "AAAAAAAAAAAAAAAA"}),
]
READS = [
    "/rewards-api/get-points/?user_id=5",
    "/rewards-api/get-redemptions/?user_id=5",
    "/rewards-api/get-user-info/?user_id=5",
    "/rewards-api/catalog/",
]


@pytest.mark.parametrize(("path", "body"), WRITES)
def test_no_token_is_401(path, body):
    response = APIClient().post(path, body, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Reward.objects.count() == 0


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_AUTHORIZATION": "Bearer not-a-real-token"},
        {"HTTP_AUTHORIZATION": "Bearer "},
        {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
        {"HTTP_AUTHORIZATION": "Bearer " + "x" * 5000},
        {"HTTP_TOKEN": "wrong"},
    ],
)
def test_wrong_token_is_401(shop_app, header):
    response = APIClient().post("/rewards-api/earn-points/", EARN_BODY, format="json", **header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert Reward.objects.count() == 0


def test_token_header_is_accepted_like_bearer(shop_app):
    response = APIClient().post("/rewards-api/earn-points/", EARN_BODY, format="json", HTTP_TOKEN=shop_app.token)
    assert response.status_code == 201


def test_only_the_token_hash_is_stored(shop_app):
    stored = Application.objects.get(pk=shop_app.pk)
    assert stored.token_hash == token_hash(shop_app.token)
    assert shop_app.token not in stored.token_hash
    assert len(shop_app.token) >= 43  # 32 random bytes, base64url


@pytest.mark.parametrize(("path", "body"), WRITES)
def test_can_read_app_gets_403_on_every_write(reader, path, body):
    response = reader.post(path, body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert Reward.objects.count() == 0


@pytest.mark.parametrize("path", READS)
def test_can_read_and_can_modify_may_read(reader, shop, path):
    assert reader.get(path).status_code == 200
    assert shop.get(path).status_code == 200


@pytest.mark.parametrize("path", READS)
def test_master_app_cannot_read_points(master, path):
    assert master.get(path).status_code == 403


@pytest.mark.parametrize(("path", "body"), WRITES)
def test_master_app_cannot_write_points(master, path, body):
    assert master.post(path, body, format="json").status_code == 403


def test_revoked_application_token_is_refused_at_once(shop_app):
    client = client_for(shop_app)
    assert client.post("/rewards-api/earn-points/", EARN_BODY, format="json").status_code == 201

    application_revoke(app_id=shop_app.pk)

    response = client.post("/rewards-api/earn-points/", EARN_BODY, format="json")
    assert response.status_code == 401
    assert Reward.objects.count() == 1


def test_level_change_applies_on_next_request_with_same_token(shop_app):
    client = client_for(shop_app)
    assert client.post("/rewards-api/earn-points/", EARN_BODY, format="json").status_code == 201

    application_set_access_level(app_id=shop_app.pk, access_level=AccessLevel.CAN_READ)

    assert client.post("/rewards-api/earn-points/", EARN_BODY, format="json").status_code == 403
    assert client.get("/rewards-api/get-points/?user_id=5").status_code == 200


def test_last_used_is_recorded(shop_app):
    assert Application.objects.get(pk=shop_app.pk).last_used_at is None
    client_for(shop_app).get("/rewards-api/get-points/?user_id=5")
    assert Application.objects.get(pk=shop_app.pk).last_used_at is not None
