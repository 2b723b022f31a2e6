"""Per-application throttling: 429 with Retry-After, the API's error body (docs/API.md, Errors), nothing written."""

import pytest
from django.core.cache import cache

from loyalty.customers import customer_session_issue
from rewards.models import Reward
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.flow]

EARN = {"user_id": 1, "points_earned": 5, "reward_description": "x"}


@pytest.fixture(autouse=True)
def low_rates(settings):
    cache.clear()
    settings.API_THROTTLE_RATES = {"application": "3/min", "customer": "2/min"}
    yield
    cache.clear()


def test_fourth_call_in_a_minute_is_429_with_retry_after(shop):
    statuses = [shop.post("/rewards-api/earn-points/", EARN, format="json").status_code for _ in range(3)]
    refused = shop.post("/rewards-api/earn-points/", EARN, format="json")

    assert statuses == [201, 201, 201]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Reward.objects.count() == 3


def test_buckets_are_per_application(shop, reader):
    for _ in range(3):
        shop.get("/rewards-api/get-points/?user_id=1")
    assert shop.get("/rewards-api/get-points/?user_id=1").status_code == 429
    assert reader.get("/rewards-api/get-points/?user_id=1").status_code == 200


def test_customer_sessions_have_their_own_bucket(shop_app):
    from rest_framework.test import APIClient

    token = customer_session_issue(user_id=1, app=shop_app).token
    customer = APIClient()
    customer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert [customer.get("/rewards-api/get-points/?user_id=1").status_code for _ in range(3)] == [200, 200, 429]
    assert client_for(shop_app).get("/rewards-api/get-points/?user_id=1").status_code == 200


def test_rate_can_be_turned_off(settings, shop):
    settings.API_THROTTLE_RATES = {"application": None, "customer": None}
    assert {shop.get("/rewards-api/catalog/").status_code for _ in range(6)} == {200}
