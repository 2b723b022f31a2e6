"""Per-application throttling: 429 with Retry-After, the API's error body (docs/API.md, Errors), nothing written."""

import time

import pytest
from django.core.cache import cache

from loyalty.customers import customer_session_issue
from rewards.models import Reward
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

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


@pytest.mark.django_db(transaction=True)
def test_parallel_clients_through_several_workers_get_exactly_the_limit(collected_static, committed_shop_app):
    """300 requests from 32 threads, against 3 gunicorn workers counting in one Redis, with a
    limit of 120 a minute: exactly 120 pass (DRF's read-then-write throttle let 235 through)."""
    from concurrent.futures import ThreadPoolExecutor

    import redis
    from django.conf import settings as django_settings

    from tests.live import gunicorn_serving
    from tests.test_live_http import auth, call

    redis.Redis.from_url(django_settings.TEST_REDIS_URL).flushdb()
    env = {"CACHE_URL": django_settings.TEST_REDIS_URL, "THROTTLE_APPLICATION_RATE": "120/min"}
    # All within one minute's window: across a boundary the sliding estimate rightly lets a
    # few more through (the previous minute's count weighs a little less each second).
    while time.time() % 60 > 40:
        time.sleep(0.5)
    with gunicorn_serving(collected_static, workers=3, env=env) as base:
        headers = auth(committed_shop_app)
        with ThreadPoolExecutor(32) as pool:
            statuses = list(
                pool.map(
                    lambda _: call(base, "GET", "/rewards-api/get-points/?user_id=1", headers=headers)[0], range(300)
                )
            )
    redis.Redis.from_url(django_settings.TEST_REDIS_URL).flushdb()

    assert statuses.count(200) == 120, sorted(set(statuses))
    assert statuses.count(429) == 180
