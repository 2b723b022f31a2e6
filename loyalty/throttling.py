"""Per-application rate limits, with rates from settings, counted atomically.

An application's calls share one bucket whatever the endpoint, keyed by its token's hash so
that it is known before the token is looked up (``application_bucket``: a hot read takes its
number first, loyalty/lean.py); a customer session has its own, smaller bucket per customer.
Over the limit: 429 with Retry-After. The counters live in Django's cache: set CACHE_URL to
a shared cache (Redis) when several processes serve the API, or each process counts on its own.

DRF's own throttle reads a list of timestamps, decides, and writes the list back: parallel
requests all read the same list and all pass (300 requests from 32 threads let 235 through
a limit of 120). Here each request takes a number from an atomic counter (Redis INCR, or
the local cache's lock), so exactly the limit passes, however many arrive at once. The
window slides: the previous window's count weighs in as much of it as still overlaps.
"""

import contextlib
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Bucket:
    """Whose calls count together: ``scope`` names the rate (``API_THROTTLE_RATES``)."""

    scope: str
    ident: str


# An application token's first hex digits of its hash: 64 bits, so no other token falls in its bucket.
_BUCKET_DIGITS = 16


def application_bucket(token_digest: str) -> Bucket:
    """An application token's bucket, by its hash (``token_hash``): known before any lookup, so
    a read can take its number while the token is still being checked. An application holds
    one token, so this is the application's bucket (a rotated token starts a fresh one)."""
    return Bucket("application", token_digest[:_BUCKET_DIGITS])


def customer_bucket(app_id: object, customer_user_id: int) -> Bucket:
    """A customer session's bucket: its application and customer, both in the signed token."""
    return Bucket("customer", f"{app_id}:{customer_user_id}")


def principal_bucket(principal: object) -> Bucket | None:
    """The bucket of an authenticated caller (None: not authenticated)."""
    if isinstance(principal, CustomerPrincipal):
        return customer_bucket(principal.app.pk, principal.customer_user_id)
    if principal is not None and getattr(principal, "is_authenticated", False):
        return application_bucket(principal.token_hash)
    return None


@dataclass(frozen=True)
class Take:
    """A request's number from its bucket: whether it passes, and when to retry if not."""

    bucket: Bucket
    key: str  # the counter of the window the number was taken in
    allowed: bool
    retry_after: int = 0


def throttle_take(bucket: Bucket) -> Take | None:
    """Take a number from the bucket's counter (one Redis call); None when its scope has no rate.
    A refused number goes back at once."""
    # Read on every request (not at import, as DRF does) so tests and operators can change
    # rates through settings.
    rate = settings.API_THROTTLE_RATES.get(bucket.scope)
    if rate is None:
        return None
    limit, window = rate_parse(rate)
    now = time.time()
    current = int(now // window)
    prefix = f"throttle:{bucket.scope}:{bucket.ident}:{window}:"
    key = f"{prefix}{current}"
    taken, previous = _counter_take(key, f"{prefix}{current - 1}", window)
    overlap = 1 - (now % window) / window
    if previous * overlap + taken <= limit:
        return Take(bucket, key, allowed=True)
    # Refused requests do not count: the number goes back.
    cache.decr(key)
    return Take(bucket, key, allowed=False, retry_after=max(1, int(window - now % window)))


def throttle_give_back(take: Take) -> None:
    """A request that took a number and was then refused before the throttle's turn (its
    access level) does not count: the number goes back, as a throttled one's does."""
    if take.allowed:
        with contextlib.suppress(ValueError):  # the counter expired meanwhile
            cache.decr(take.key)


def throttle_forget(take: Take) -> None:
    """A number taken for a token that turned out invalid: its counter goes, so guessed or
    revoked tokens leave nothing in the cache (no valid token shares its bucket)."""
    cache.delete(take.key)


# The Django request attribute by which a read that took its number before DRF (loyalty/lean.py)
# hands it on: DRF's throttle uses it instead of taking a second one, and removes it.
TAKE_ATTRIBUTE = "throttle_take"


class ApplicationRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: "APIView") -> bool:
        bucket = principal_bucket(request.user)
        if bucket is None:
            return True  # unauthenticated requests are refused (401) before any work
        take = request._request.__dict__.pop(TAKE_ATTRIBUTE, None)
        if take is None or take.bucket != bucket:
            take = throttle_take(bucket)
        if take is None or take.allowed:
            return True
        self.retry_after = take.retry_after
        return False

    def wait(self) -> float:
        return self.retry_after
