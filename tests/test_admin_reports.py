"""The reports dashboard in admin, in a real headless Chromium: its four charts draw, nothing
is fetched from another site, and only staff who may read the ledger get in."""

import os
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from rewards import services
from tests.test_admin_browser import signed_in_page
from tests.test_rewards_page import SCREENSHOT_DIR

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def activity(django_user_model):
    django_user_model.objects.create_superuser("maria", "maria@example.com", "a-long-password")
    services.ladder_set(
        definition={
            "tiers": [
                {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0},
                {"code": "silver", "name": "Silver", "entry_points": 100, "retain_points": 80, "multiplier": "1.5"},
            ]
        },
        by="test",
    )
    for user_id in range(5300, 5306):
        services.purchase_record(user_id=user_id, amount=Decimal(20 * (user_id - 5299)), description="p", app=None)
    services.points_earn(user_id=5300, points=500, description="Welcome", app=None)
    services.coupon_redeem(user_id=5300, points=100, amount=Decimal("10"), description="c", app=None)


def test_the_dashboard_draws_four_charts_from_this_site_only(browser, live_server, activity):
    context, page = signed_in_page(browser, live_server)
    foreign: list[str] = []
    page.on(
        "request", lambda request: foreign.append(request.url) if not request.url.startswith(live_server.url) else None
    )

    page.goto(f"{live_server.url}/admin/reports/")

    expect(page.get_by_role("heading", name="Reports: what the program costs")).to_be_visible()
    charts = page.get_by_test_id("chart")
    expect(charts).to_have_count(4)
    for index in range(4):
        expect(charts.nth(index).locator("svg path, svg rect").first).to_be_attached()
    expect(page.get_by_test_id("figures")).to_contain_text("Points to spend")
    expect(page.get_by_test_id("figures")).to_contain_text("1,240")  # 2 x (20 + 40 + ... + 120) + 500 - 100
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.querySelector('.report-charts').scrollWidth") <= 390
    with page.expect_download() as download:
        page.get_by_role("link", name="liability").click()
    assert "available_points,1240" in download.value.path().read_text()
    assert foreign == []
    context.close()


def test_anonymous_users_are_sent_to_login_and_staff_without_the_permission_are_refused(
    browser, live_server, django_user_model
):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/reports/")
    assert "/admin/login/" in page.url
    context.close()

    clerk = django_user_model.objects.create_user("clerk", "c@example.com", "a-long-password", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/reports/")
    page.get_by_label("Username").fill("clerk")
    page.get_by_label("Password").fill("a-long-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="403 Forbidden")).to_be_visible()
    context.close()


@pytest.mark.screenshots
def test_save_dashboard_screenshots(browser, live_server, activity):
    for name, width in (("desktop", 1280), ("phone", 390)):
        context, page = signed_in_page(browser, live_server, width=width)
        page.goto(f"{live_server.url}/admin/reports/")
        expect(page.get_by_test_id("chart")).to_have_count(4)
        page.screenshot(path=SCREENSHOT_DIR / f"admin-reports-{name}.png", full_page=True)
        context.close()
