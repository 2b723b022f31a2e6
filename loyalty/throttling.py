"""Per-application rate limits (DRF throttles), with rates from settings.

An application's calls share one bucket whatever the endpoint; a customer session
has its own, smaller bucket per customer. Over the limit: 429 with Retry-After.
The counters live in Django's cache: set CACHE_URL to a shared cache (Redis) when
several processes serve the API, or each process counts on its own.
"""

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from loyalty.customers import CustomerPrincipal

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views loads.
    from rest_framework.views import APIView


class ApplicationRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Read on every request (not at import, as DRF does) so tests and operators
        # can change rates through settings.
        return settings.API_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: "APIView") -> bool:
        principal = request.user
        if isinstance(principal, CustomerPrincipal):
            self.scope, ident = "customer", f"{principal.app.pk}:{principal.customer_user_id}"
        elif principal is not None and getattr(principal, "is_authenticated", False):
            self.scope, ident = "application", str(principal.pk)
        else:
            return True  # unauthenticated requests are refused (401) before any work
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.cache_format % {"scope": self.scope, "ident": ident}
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:  # pragma: no cover - unused
        return None
