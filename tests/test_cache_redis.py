"""Throttle counters in a shared Redis, as docker-compose runs them (Redis runs on this machine)."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

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
