"""The rewards page (docs/API.md): one HTML page; its data comes from rewards-api/ with a customer token."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def rewards_page(request: HttpRequest) -> HttpResponse:
    # The token travels in the URL fragment, which browsers never send to a server,
    # so it stays out of access logs and Referer headers.
    context = {
        "api_base": settings.REWARDS_PAGE_API_BASE,
        "program_name": settings.PROGRAM_NAME,
        "accent_color": settings.PROGRAM_ACCENT_COLOR,
        "currency_symbol": settings.CURRENCY_SYMBOL,
    }
    response = render(request, "rewards/page.html", context)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
