"""Throttle counters in a shared Redis, as docker-compose runs them (Redis runs on this machine)."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from loyalty.throttling import application_bucket
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": settings.TEST_REDIS_URL}}


def test_throttle_counts_in_redis(shop_app, settings):
    settings.API_THROTTLE_RATES = {"application": "2/min", "customer": None}
    with override_settings(CACHES=REDIS):
        caches["default"].clear()
        client = client_for(shop_app)
        statuses = [client.get("/rewards-api/catalog/").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert any(key for key in caches["default"]._cache.get_client().keys("*throttle:application:*"))
        caches["default"].clear()


def test_throttle_in_redis_weighs_the_previous_window_and_expires_its_counter(shop_app, settings):
    """The Redis path (one round trip: create, increment, read the previous window): a full
    previous window refuses at once; the counter lives two windows; a refusal gives its number back."""
    import time

    settings.API_THROTTLE_RATES = {"application": "5/hour", "customer": None}
    with override_settings(CACHES=REDIS):
        backend = caches["default"]
        backend.clear()
        window = int(time.time() // 3600)
        prefix = f"throttle:application:{application_bucket(shop_app.token_hash).ident}:3600:"
        client = client_for(shop_app)
        assert client.get("/rewards-api/catalog/").status_code == 200
        redis_client = backend._cache.get_client()
        current = backend.make_and_validate_key(f"{prefix}{window}")
        assert int(redis_client.get(current)) == 1
        assert 3600 < redis_client.ttl(current) <= 2 * 3600 + 1
        # The previous hour far over the limit: however little of it still overlaps, it refuses.
        backend.set(f"{prefix}{window - 1}", 1_000_000)
        refused = client.get("/rewards-api/catalog/")
        assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
        assert int(redis_client.get(current)) == 1  # the refused request's number went back
        backend.clear()
