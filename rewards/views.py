"""The rewards page (docs/API.md): one HTML page; its data comes from rewards-api/ with a customer
token. And the reports dashboard staff see in admin."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from core.apis import money_text
from core.renderers import csv_download, csv_filename
from rewards import charts as charts_svg
from rewards import reports
from rewards.page_texts import page_texts
from rewards.services.messages import topic_name, topic_unsubscribe, unsubscribe_read


def page_language(request: HttpRequest) -> str:
    """The rewards page's language: ``?lang=`` (what the page asks for once it has read the
    customer's contact language), else the browser's Accept-Language, else English."""
    asked = request.GET.get("lang", "")
    if asked in dict(settings.LANGUAGES):
        return asked
    return translation.get_language_from_request(request)


@require_GET
def rewards_page(request: HttpRequest) -> HttpResponse:
    # The token travels in the URL fragment, which browsers never send to a server,
    # so it stays out of access logs and Referer headers.
    language = page_language(request)
    with translation.override(language):
        context = {
            "api_base": settings.REWARDS_PAGE_API_BASE,
            "program_name": settings.PROGRAM_NAME,
            "accent_color": settings.PROGRAM_ACCENT_COLOR,
            "currency_symbol": settings.CURRENCY_SYMBOL,
            "page_texts": page_texts(),
        }
        response = render(request, "rewards/page.html", context)
    response["Content-Language"] = language
    response["Vary"] = "Accept-Language"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


# A mail client's one-click POST (RFC 8058) carries no CSRF token: the signed link is the proof.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """An unsubscribe link: GET asks (a small page in the customer's language), POST turns the
    topic off. A forged or altered link: a 404 page, nothing changed."""
    link = unsubscribe_read(token)
    language = link.language if link else translation.get_language_from_request(request)
    with translation.override(language):
        context = {
            "program_name": settings.PROGRAM_NAME,
            "accent_color": settings.PROGRAM_ACCENT_COLOR,
            "valid": link is not None,
            "done": False,
        }
        if link is None:
            response = render(request, "messages/unsubscribe.html", context, status=404)
        else:
            if request.method == "POST":
                topic_unsubscribe(link)
                context["done"] = True
            context["topic_name"] = topic_name(link.topic)
            response = render(request, "messages/unsubscribe.html", context)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


# ---- the reports dashboard in admin ------------------------------------------------------------


REPORT_PERMISSION = "rewards.view_reward"  # who may read the ledger may read what it adds up to


def _report_reader(request: HttpRequest) -> None:
    if not request.user.has_perm(REPORT_PERMISSION):
        raise PermissionDenied("Reading the reports needs the permission to view ledger entries.")


@require_GET
def reports_dashboard(request: HttpRequest) -> HttpResponse:
    """Staff's view of what the program costs: headline figures, four charts drawn on the
    server, and the reports as CSV. Served through ``admin.site.admin_view`` (login first)."""
    _report_reader(request)
    today = datetime.now(UTC).date()
    now = reports.liability(as_of=today)
    series = reports.daily(days=DASHBOARD_DAYS)
    resolved = [month for month in reports.breakage() if month.breakage_rate is not None]
    charts = [
        (
            "Points issued, redeemed and expired per day",
            charts_svg.line_chart(
                "Points issued, redeemed and expired per day, last 90 days",
                series.days,
                {"Issued": series.issued, "Redeemed": series.redeemed, "Expired": series.expired},
            ),
            ["Issued", "Redeemed", "Expired"],
        ),
        (
            "Liability (points to spend, net of what is owed)",
            charts_svg.line_chart(
                "Liability at the end of each day, last 90 days", series.days, {"Liability": series.liability}
            ),
            ["Liability"],
        ),
        ("Customers by tier", charts_svg.bar_chart("Customers by tier", reports.customers_by_tier()), []),
        (
            "Points by earning rule, last 90 days",
            charts_svg.bar_chart("Points by earning rule, last 90 days", reports.points_by_rule(days=DASHBOARD_DAYS)),
            [],
        ),
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Reports: what the program costs",
        "liability": now,
        # Money as the rest of the service shows it: in CURRENCY_SYMBOL; a point's value exactly.
        "value_text": money_text(now.value),
        "point_value_text": f"{settings.CURRENCY_SYMBOL}{now.point_value}",
        "latest_breakage": resolved[-1] if resolved else None,
        "charts": [
            {
                "title": title,
                "svg": mark_safe(svg),
                "legend": [(name, charts_svg.COLOURS[i]) for i, name in enumerate(legend)],
            }
            for title, svg, legend in charts
        ],
        "csv_links": [(name, reverse("admin-report-csv", args=[name])) for name in REPORT_TABLES],
    }
    return render(request, "admin/reports.html", context)


ROLLFORWARD_START = date(2000, 1, 1)  # the dashboard's rollforward: everything, from before any ledger


def _liability_table(today: date) -> tuple[list[list[Any]], str]:
    return reports.liability(as_of=today).table(), csv_filename("liability", today)


def _rollforward_table(today: date) -> tuple[list[list[Any]], str]:
    return (
        reports.rollforward(start=ROLLFORWARD_START, end=today).table(),
        csv_filename("rollforward", ROLLFORWARD_START, today),
    )


def _breakage_table(today: date) -> tuple[list[list[Any]], str]:
    return reports.breakage_table(reports.breakage()), csv_filename("breakage", today)


# Each report's table as of today (UTC) and its file name.
REPORT_TABLES: dict[str, Callable[[date], tuple[list[list[Any]], str]]] = {
    "liability": _liability_table,
    "rollforward": _rollforward_table,
    "breakage": _breakage_table,
}
DASHBOARD_DAYS = 90


@require_GET
def report_csv(request: HttpRequest, name: str) -> HttpResponse:
    """A report's table as a CSV download, for staff (the API's ``?format=csv`` is for applications)."""
    _report_reader(request)
    if name not in REPORT_TABLES:
        raise Http404("No such report.")
    table, filename = REPORT_TABLES[name](datetime.now(UTC).date())
    return csv_download(table, filename)
