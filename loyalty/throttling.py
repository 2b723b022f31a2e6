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
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
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


def _counter_take(key: str, window: int) -> int:
    """Add one to the counter at ``key``; its new value. The window's first request creates it
    (``add`` is atomic too: of two first requests, one creates it and both increment it), with
    a lifetime of two windows; every other request pays the increment alone."""
    try:
        return cache.incr(key)
    except ValueError:  # not there yet (or it just expired)
        cache.add(key, 0, timeout=2 * window + 1)
        return cache.incr(key)


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
        taken = _counter_take(f"{key}{current}", window)
        overlap = 1 - (now % window) / window
        previous = cache.get(f"{key}{current - 1}", 0)
        if previous * overlap + taken <= limit:
            return True
        # Refused requests do not count: the number goes back.
        cache.decr(f"{key}{current}")
        self.retry_after = max(1, int(window - now % window))
        return False

    def wait(self) -> float:
        return self.retry_after
