"""The rewards page in a real headless Chromium, against a live server on PostgreSQL."""

import os
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect

from loyalty.customers import customer_session_issue
from loyalty.management.commands.seed_demo import DEMO_LADDER
from loyalty.tokens import customer_token_sign
from rewards import services
from rewards.models import Reward

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Playwright's sync API keeps an event loop on the main thread; the test's own
# database calls there are ordinary synchronous code, so Django's guard is lifted.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

MINUS = "\u2212"  # the page writes a real minus sign
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "docs"
USER = 2024


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def shop_app(committed_shop_app):
    return committed_shop_app


def page_url(live_server, token: str, user_id: int = USER) -> str:
    return f"{live_server.url}/rewards-page/#{urlencode({'token': token, 'user_id': user_id})}"


def spend(page: Page, tile: str) -> None:
    """Tap a catalog tile and say yes when the page asks."""
    page.get_by_role("button", name=tile).click()
    expect(page.get_by_test_id("confirm")).to_be_visible()
    page.get_by_role("button", name="Yes, spend them").click()


def customer_with_points(app, points: int) -> str:
    services.points_earn(user_id=USER, points=points, description="Welcome bonus", app=app)
    return customer_session_issue(user_id=USER, app=app).token


def test_page_shows_points_catalog_and_empty_history(live_server, page, shop_app):
    token = customer_with_points(shop_app, 130)

    page.goto(page_url(live_server, token))

    expect(page.get_by_test_id("total-points")).to_have_text("130")
    expect(page.get_by_test_id("catalog").get_by_role("button")).to_have_count(4)
    expect(page.get_by_text("No redemptions yet.")).to_be_visible()
    expect(page.get_by_test_id("status")).to_be_empty()


def test_redeem_coupon_shows_code_balance_and_history(live_server, page, shop_app):
    token = customer_with_points(shop_app, 130)
    page.goto(page_url(live_server, token))
    expect(page.get_by_test_id("total-points")).to_have_text("130")

    spend(page, "Redeem $10 coupon for 100 points")

    expect(page.get_by_test_id("coupon-code")).to_have_text(_re_code())
    code = page.get_by_test_id("coupon-code").inner_text()
    stored = Reward.objects.get(kind="coupon")
    assert stored.redeemed_item.item_code == code
    expect(page.get_by_test_id("total-points")).to_have_text("30")
    rows = page.get_by_test_id("history-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("$10 coupon")
    expect(rows.first).to_contain_text("Ready to use")
    expect(rows.first.get_by_test_id("history-code")).to_have_text(code)
    expect(page.get_by_test_id("status")).to_contain_text("coupon redeemed")


def test_unused_coupon_codes_stay_in_the_history_after_a_reload(live_server, browser, shop_app):
    services.points_earn(user_id=USER, points=200, description="Welcome bonus", app=shop_app)
    unused = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=shop_app)
    used = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=shop_app)
    services.coupon_use(item_code=used.redeemed_item.item_code)
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()

    page.goto(page_url(live_server, customer_session_issue(user_id=USER, app=shop_app).token))

    codes = page.get_by_test_id("history-code")
    expect(codes).to_have_count(1)
    expect(codes.first).to_have_text(unused.redeemed_item.item_code)
    # The badge alone: a row's text runs on into its code ("Ready to use" + "D..." reads "used").
    expect(page.get_by_test_id("history-row").locator(".badge").get_by_text("Used", exact=True)).to_have_count(1)
    page.get_by_role("button", name="Copy the code of $5 coupon").click()
    expect(page.get_by_test_id("status")).to_have_text("Coupon code copied.")
    assert page.evaluate("navigator.clipboard.readText()") == unused.redeemed_item.item_code
    context.close()


def test_options_out_of_reach_say_how_many_points_are_missing(live_server, page, shop_app):
    token = customer_with_points(shop_app, 59)

    page.goto(page_url(live_server, token))

    expect(page.get_by_role("button", name="Redeem $5 coupon for 50 points")).to_be_enabled()
    locked = page.get_by_role("button", name="$10 coupon: 41 more points needed")
    expect(locked).to_be_disabled()
    expect(locked).to_contain_text("41 more points needed")


def test_a_failed_redemption_clears_the_previous_coupon_code(live_server, page, shop_app):
    token = customer_with_points(shop_app, 100)
    page.goto(page_url(live_server, token))
    spend(page, "Redeem $5 coupon for 50 points")
    expect(page.get_by_test_id("coupon-panel")).to_be_visible()
    expect(page.get_by_test_id("total-points")).to_have_text("50")
    expect(page.locator("#app")).to_have_attribute("aria-busy", "false")
    # Spent elsewhere meanwhile: the page still offers the $5 coupon.
    services.donation_redeem(user_id=USER, points=50, amount=Decimal("5"), description="elsewhere", app=shop_app)

    spend(page, "Redeem $5 coupon for 50 points")

    expect(page.get_by_test_id("status")).to_have_text("You don't have enough points for this yet.")
    expect(page.get_by_test_id("coupon-panel")).to_be_hidden()
    expect(page.get_by_test_id("total-points")).to_have_text("0")


def test_pasting_a_fresh_link_loads_it(live_server, page, shop_app):
    expired = customer_token_sign(user_id=USER, app_id=str(shop_app.pk), expires_at=int(time.time()) - 60)
    page.goto(page_url(live_server, expired))
    expect(page.get_by_test_id("status")).to_contain_text("session has expired")

    page.evaluate(
        f"window.location.hash = {urlencode({'token': customer_with_points(shop_app, 70), 'user_id': USER})!r}"
    )

    expect(page.get_by_test_id("total-points")).to_have_text("70")
    expect(page.get_by_test_id("status")).to_be_empty()


def test_a_healthy_page_has_the_program_name_and_no_console_errors(live_server, page, shop_app, settings):
    settings.PROGRAM_NAME = "Acme Stars"
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("requestfailed", lambda request: errors.append(request.url))

    page.goto(page_url(live_server, customer_with_points(shop_app, 10)))

    expect(page.get_by_test_id("total-points")).to_have_text("10")
    expect(page.get_by_test_id("program-name")).to_have_text("Acme Stars")
    assert page.title() == "Acme Stars"
    assert errors == []


def test_not_enough_points_is_said_in_a_customers_words(live_server, page, shop_app):
    token = customer_with_points(shop_app, 100)
    page.goto(page_url(live_server, token))
    expect(page.get_by_test_id("total-points")).to_have_text("100")
    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="elsewhere", app=shop_app)

    spend(page, "Redeem $10 charity donation for 100 points")

    expect(page.get_by_test_id("status")).to_have_text("You don't have enough points for this yet.")
    expect(page.get_by_test_id("total-points")).to_have_text("50")
    assert not Reward.objects.filter(kind="donation").exists()


def test_expired_token_shows_a_clear_message(live_server, page, shop_app):
    expired = customer_token_sign(user_id=USER, app_id=str(shop_app.pk), expires_at=int(time.time()) - 60)

    page.goto(page_url(live_server, expired))

    expect(page.get_by_test_id("status")).to_contain_text("session has expired")
    # The message alone: no empty points, catalog or history around it.
    expect(page.get_by_test_id("total-points")).to_be_hidden()
    expect(page.get_by_test_id("catalog")).to_be_hidden()
    expect(page.get_by_role("heading")).to_have_count(0)


def test_keyboard_only_redemption_and_phone_width(live_server, browser, shop_app):
    token = customer_with_points(shop_app, 75)
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(page_url(live_server, token))
    expect(page.get_by_test_id("total-points")).to_have_text("75")
    expect(page.locator("#app")).to_have_attribute("aria-busy", "false")

    page.keyboard.press("Tab")  # the first catalog button: "$5 coupon"
    expect(page.get_by_role("button", name="Redeem $5 coupon for 50 points")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("confirm-text")).to_have_text("Spend 50 points on a $5.00 coupon?")
    expect(page.get_by_role("button", name="Yes, spend them")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_test_id("total-points")).to_have_text("25")
    expect(page.get_by_test_id("coupon-code")).to_have_text(_re_code())
    # Focus is on the new code's heading, not on the tile: a second Enter spends nothing.
    expect(page.get_by_role("heading", name="Your new coupon code")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("confirm")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()


def test_page_from_another_origin_calls_the_api_through_cors(live_server, page, shop_app, settings):
    token = customer_with_points(shop_app, 90)
    with other_origin_page(api=live_server.url, token=token) as origin:
        settings.CORS_ALLOWED_ORIGINS = [origin]

        page.goto(f"{origin}/")

        expect(page.locator("#result")).to_have_text("90")

    with other_origin_page(api=live_server.url, token=token) as not_allowed:
        page.goto(f"{not_allowed}/")
        expect(page.locator("#result")).to_have_text("blocked")


@pytest.mark.screenshots
def test_save_screenshots_for_the_readme(live_server, browser, shop_app, settings):
    services.ladder_set(definition=LADDER, by="test")
    _explained_history(shop_app, settings)
    services.points_earn(user_id=USER, points=160, description="Welcome back bonus", app=shop_app)
    token = customer_session_issue(user_id=USER, app=shop_app).token
    for name, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        page.goto(page_url(live_server, token))
        expect(page.get_by_test_id("activity-row").first).to_be_visible()
        spend(page, "Redeem $5 coupon for 50 points")
        expect(page.get_by_test_id("coupon-code")).to_have_text(_re_code())
        expect(page.locator("#app")).to_have_attribute("aria-busy", "false")
        expect(page.get_by_test_id("referral-code")).to_be_visible()
        page.screenshot(path=SCREENSHOT_DIR / f"rewards-page-{name}.png", full_page=True)
        if name == "phone":
            page.get_by_role("button", name="Redeem $5 coupon for 50 points").click()
            page.screenshot(path=SCREENSHOT_DIR / "rewards-page-confirm-phone.png")
        context.close()


def _re_code():
    import re

    return re.compile(r"^[A-Z0-9]{16}$")


class other_origin_page:
    """A page on another origin (127.0.0.1 vs the live server's localhost) that calls get-points/."""

    def __init__(self, *, api: str, token: str) -> None:
        html = f"""<!doctype html><p id="result">waiting</p><script>
        fetch("{api}/rewards-api/get-points/?user_id={USER}", {{headers: {{Authorization: "Bearer {token}"}}}})
          .then(r => r.json()).then(b => document.getElementById("result").textContent = b.total_points)
          .catch(() => document.getElementById("result").textContent = "blocked");
        </script>""".encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_pending_points_and_the_next_expiry_are_shown(live_server, page, shop_app, settings):
    from datetime import timedelta

    from django.utils import timezone

    from loyalty.services import order_record

    settings.ORDER_POINTS_PENDING_DAYS = 14
    settings.POINTS_VALIDITY_DAYS = 20
    services.points_earn(user_id=USER, points=120, description="Welcome bonus", app=shop_app)
    completed = timezone.now() - timedelta(days=2)
    order_record(order_id=1, user_id=USER, total_cost=1000, completed_at=int(completed.timestamp()), app=shop_app)

    page.goto(page_url(live_server, customer_session_issue(user_id=USER, app=shop_app).token))

    expect(page.get_by_test_id("total-points")).to_have_text("120")
    expect(page.get_by_test_id("pending-note")).to_contain_text("50 points on their way, available on")
    expect(page.get_by_test_id("expiry-note")).to_contain_text("120 points expire soon, the first on")


LADDER = DEMO_LADDER  # bronze, silver from 500 (x1.5), gold from 1000 (x2)


def _explained_history(app, settings) -> None:
    """An expiry, a release, a redemption, an order on its way and a returned one."""
    from django.utils import timezone

    from loyalty.services import order_record, order_return

    now = timezone.now()
    settings.POINTS_VALIDITY_DAYS = 30
    services.points_earn(user_id=USER, points=60, description="Welcome bonus", app=app)
    settings.POINTS_VALIDITY_DAYS = 0
    settings.ORDER_POINTS_PENDING_DAYS = 14
    order_record(order_id=1, user_id=USER, total_cost=4000, completed_at=int(now.timestamp()) - 86400, app=app)
    services.points_lifecycle_run(now=now + timezone.timedelta(days=40))  # the order's 200 arrive, the 60 expire
    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="$5 coupon", app=app)
    order_record(order_id=2, user_id=USER, total_cost=2000, completed_at=int(now.timestamp()), app=app)
    order_record(order_id=3, user_id=USER, total_cost=1000, completed_at=int(now.timestamp()), app=app)
    order_return(order_id=3, app=app)


def test_the_activity_explains_every_change_of_the_balance(live_server, page, shop_app, settings):
    services.ladder_set(definition=LADDER, by="test")
    _explained_history(shop_app, settings)
    page.goto(page_url(live_server, customer_session_issue(user_id=USER, app=shop_app).token))

    expect(page.get_by_test_id("total-points")).to_have_text("150")
    rows = page.get_by_test_id("activity-row")
    expect(rows).to_have_count(8)
    texts = [" | ".join(rows.nth(i).inner_text().split("\n")) for i in range(8)]
    returned, on_way_cancelled, on_way, coupon, expired, arrived, order, welcome = texts
    assert returned.startswith("Order 3 returned") and "Points on the way for these goods were cancelled" in returned
    assert f"{MINUS}50 on the way" in returned
    assert on_way_cancelled.startswith("Order 3") and "+50 on the way" in on_way_cancelled
    assert "cancelled by a return before it arrived" in on_way_cancelled
    assert on_way.startswith("Order 2") and "From: Points for orders" in on_way and "arrives on" in on_way
    assert coupon.startswith("$5 coupon") and "Spent on a coupon" in coupon and f"{MINUS}50" in coupon
    assert expired.startswith("Points expired") and f"{MINUS}60" in expired
    assert arrived.startswith("Points now available") and "+200" in arrived and "From: Order 1" in arrived
    assert order.startswith("Order 1") and "since arrived" in order
    assert welcome.startswith("Welcome bonus") and "+60" in welcome
    expect(page.get_by_test_id("pending-note")).to_contain_text("100 points on their way")


def test_a_negative_balance_is_explained(live_server, page, shop_app):
    from loyalty.services import order_record, order_return

    order_record(order_id=7, user_id=USER, total_cost=2000, completed_at=int(time.time()), app=shop_app)
    services.coupon_redeem(user_id=USER, points=100, amount=Decimal("10"), description="$10 coupon", app=shop_app)
    order_return(order_id=7, app=shop_app)

    page.goto(page_url(live_server, customer_session_issue(user_id=USER, app=shop_app).token))

    expect(page.get_by_test_id("total-points")).to_have_text("-100")
    expect(page.get_by_test_id("owed-note")).to_have_text(
        "You owe 100 points: a return took back points you had already spent. The points you earn next pay this first."
    )


def test_spending_asks_first_and_cancelling_spends_nothing(live_server, page, shop_app):
    page.goto(page_url(live_server, customer_with_points(shop_app, 100)))
    tile = page.get_by_role("button", name="Redeem $10 charity donation for 100 points")

    tile.click()
    expect(page.get_by_test_id("confirm-text")).to_have_text("Spend 100 points to donate $10.00?")
    page.get_by_role("button", name="Cancel").click()

    expect(page.get_by_test_id("confirm")).to_be_hidden()
    expect(tile).to_be_focused()
    expect(page.get_by_test_id("total-points")).to_have_text("100")
    assert not Reward.objects.filter(kind="donation").exists()


def test_the_tier_its_progress_and_the_referral_code_are_shown(live_server, page, shop_app):
    from loyalty.services import order_record

    services.ladder_set(definition=LADDER, by="test")
    order_record(order_id=9, user_id=USER, total_cost=6000, completed_at=int(time.time()), app=shop_app)  # 300

    page.goto(page_url(live_server, customer_session_issue(user_id=USER, app=shop_app).token))

    expect(page.get_by_test_id("tier-name")).to_have_text("Bronze member")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "300")
    expect(bar).to_have_attribute("aria-valuemax", "500")
    expect(page.get_by_test_id("tier-next")).to_have_text("200 more points to Silver (300 of 500)")
    code = page.get_by_test_id("referral-code")
    expect(code).to_have_text(_re_referral())
    expect(page.get_by_role("button", name="Copy your referral code")).to_be_visible()


def test_a_link_for_another_customer_is_explained_in_plain_words(live_server, page, shop_app):
    token = customer_with_points(shop_app, 10)

    page.goto(page_url(live_server, token, user_id=USER + 1))

    expect(page.get_by_test_id("status")).to_have_text(
        "This rewards link belongs to another account. Please open the rewards page again from your own account."
    )


def _re_referral():
    import re

    return re.compile(r"^[A-Z2-9]{10}$")


def test_stock_validity_and_a_voided_coupon_are_shown(live_server, page, shop_app):
    from rewards.models import CatalogItem

    CatalogItem.objects.filter(points_cost=50, kind="coupon").update(stock=1, coupon_valid_days=30)
    services.points_earn(user_id=USER, points=300, description="Welcome bonus", app=shop_app)
    voided = services.coupon_redeem(user_id=USER, points=100, amount=Decimal("10"), description="$10", app=shop_app)
    services.coupon_void(item_code=voided.redeemed_item.item_code, reason="Changed my mind", app=shop_app)
    token = customer_session_issue(user_id=USER, app=shop_app).token
    page.goto(page_url(live_server, token))
    expect(page.get_by_role("button", name="Redeem $5 coupon for 50 points")).to_contain_text("1 left")

    spend(page, "Redeem $5 coupon for 50 points")

    expect(page.get_by_test_id("total-points")).to_have_text("250")
    expect(page.get_by_role("button", name="$5 coupon: out of stock")).to_be_disabled()
    rows = page.get_by_test_id("history-row")
    expect(rows.first).to_contain_text("Use by")
    expect(rows.nth(1)).to_contain_text("Cancelled, points back")
    expect(page.get_by_test_id("activity-row").nth(1)).to_contain_text("Points given back")
