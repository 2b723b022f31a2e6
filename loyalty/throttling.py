"""Per-application rate limits, with rates from settings, counted atomically.

An application's calls share one bucket whatever the endpoint; a customer session has its
own, smaller bucket per customer. Over the limit: 429 with Retry-After. The counters live in
Django's cache: set CACHE_URL to a shared cache (Redis) when several processes serve the
API, or each process counts on its own.

DRF's own throttle reads a list of timestamps, decides, and writes the list back: parallel
requests all read the same list and all pass (300 requests from 32 threads let 235 through
a limit of 120). Here each request takes a number from an atomic counter (Redis INCR, or
the local cache's lock), so exactly the limit passes, however many arrive at once. The
window slides: the previous window's count weighs in as much of it as still overlaps.
"""

import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from loyalty.customers import CustomerPrincipal

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views loads.
    from rest_framework.views import APIView


def rate_parse(rate: str) -> tuple[int, int]:
    """ "120/min" -> (120, 60): a number of requests per second, minute, hour or day (by the
    unit's first letter, as DRF reads rates)."""
    number, unit = rate.split("/")
    return int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit[0]]


# The Redis path's three steps as one script: one command, one round trip, atomic.
_TAKE_SCRIPT = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
return {redis.call('INCR', KEYS[1]), tonumber(redis.call('GET', KEYS[2]) or '0')}
"""
# One Redis client and script per connection pool (Django makes a new client per call).
_take_scripts: dict[int, Any] = {}


def _counter_take(key: str, previous_key: str, window: int) -> tuple[int, int]:
    """Add one to the counter at ``key``: its new value, and the previous window's count. The
    window's first request creates the counter (creating is atomic too: of two first requests,
    one creates it and both increment it), with a lifetime of two windows.

    In Redis (several processes) the steps are one script, so one round trip instead of three
    (Django's ``incr`` asks whether the key exists first)."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        current, previous = backend.make_and_validate_key(key), backend.make_and_validate_key(previous_key)
        pool = backend._cache._get_connection_pool(write=True)
        script = _take_scripts.get(id(pool))
        if script is None or script.registered_client.connection_pool is not pool:
            script = _take_scripts[id(pool)] = backend._cache.get_client(write=True).register_script(_TAKE_SCRIPT)
        taken, before = script(keys=[current, previous], args=[2 * window + 1])
        return taken, before
    try:
        taken = cache.incr(key)
    except ValueError:  # not there yet (or it just expired)
        cache.add(key, 0, timeout=2 * window + 1)
        taken = cache.incr(key)
    return taken, cache.get(previous_key, 0)


class ApplicationRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: "APIView") -> bool:
        principal = request.user
        if isinstance(principal, CustomerPrincipal):
            scope, ident = "customer", f"{principal.app.pk}:{principal.customer_user_id}"
        elif principal is not None and getattr(principal, "is_authenticated", False):
            scope, ident = "application", str(principal.pk)
        else:
            return True  # unauthenticated requests are refused (401) before any work
        # Read on every request (not at import, as DRF does) so tests and operators can
        # change rates through settings.
        rate = settings.API_THROTTLE_RATES.get(scope)
        if rate is None:
            return True
        limit, window = rate_parse(rate)
        now = time.time()
        current = int(now // window)
        key = f"throttle:{scope}:{ident}:{window}:"
        taken, previous = _counter_take(f"{key}{current}", f"{key}{current - 1}", window)
        overlap = 1 - (now % window) / window
        if previous * overlap + taken <= limit:
            return True
        # Refused requests do not count: the number goes back.
        cache.decr(f"{key}{current}")
        self.retry_after = max(1, int(window - now % window))
        return False

    def wait(self) -> float:
        return self.retry_after
