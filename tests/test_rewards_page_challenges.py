"""The rewards page's challenges and badges in a real headless Chromium, against a live server on
PostgreSQL: each active challenge with its progress bar and what is left, the completed ones with
their day, and the badges earned; on a desktop and on a phone."""

import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from loyalty.customers import customer_session_issue
from loyalty.services import order_record
from rewards.services.badges import badge_award, badge_create
from rewards.services.challenges import challenge_create
from tests.test_rewards_page import page_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

USER = 2024
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "docs"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def shop_app(committed_shop_app):
    return committed_shop_app


def _challenges(app) -> str:
    """Three challenges, one of them completed, and a badge given by staff."""
    badge_create(definition={"code": "streak", "name": "Three days in a row"})
    badge_create(definition={"code": "helper", "name": "Helpful reviewer", "description": "Wrote helpful reviews"})
    for code, name, goal, window, reward in (
        ("five", "Five orders this month", {"metric": "orders", "target": 5}, {"period": "month"}, {"points": 100}),
        ("spend", "Spend 5,000", {"metric": "spend", "target": 5000}, {}, {"points": 250, "badge": "streak"}),
        ("first", "Your first order", {"metric": "orders", "target": 1}, {}, {"badge": "streak"}),
    ):
        definition = {"code": code, "name": name, "status": "active", "goal": goal, "window": window}
        challenge_create(definition={**definition, "reward": reward}, by="test")
    now = int(timezone.now().timestamp())
    for order_id, total_cost in ((1, 1200), (2, 800)):
        order_record(order_id=order_id, user_id=USER, total_cost=total_cost, completed_at=now, app=app)
    badge_award(user_id=USER, code="helper", reason="Five helpful reviews", by="staff maria")
    return customer_session_issue(user_id=USER, app=app).token


def _open(browser: Browser, live_server, token: str, viewport: dict) -> tuple[Page, object]:
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(page_url(live_server, token))
    expect(page.locator("#app")).to_have_attribute("aria-busy", "false")
    return page, context


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_page_shows_challenges_with_progress_and_what_is_left_and_the_badges(
    live_server, browser, shop_app, viewport, tmp_path
):
    token = _challenges(shop_app)
    page, context = _open(browser, live_server, token, VIEWPORTS[viewport])

    cards = page.get_by_test_id("challenge")
    expect(cards).to_have_count(3)
    five, spend, first = cards.nth(0), cards.nth(1), cards.nth(2)
    expect(five).to_contain_text("Five orders this month")
    expect(five).to_contain_text("2 of 5")
    expect(five.get_by_test_id("challenge-left")).to_have_text("3 more orders to go")
    expect(five.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "2")
    expect(five).to_contain_text("Reward: 100 points")
    expect(five).to_contain_text("Ends on")
    expect(spend).to_contain_text("$2,000 of $5,000")
    expect(spend.get_by_test_id("challenge-left")).to_have_text("$3,000 more to spend")
    expect(spend).to_contain_text("Reward: 250 points and a badge")
    expect(first.get_by_test_id("challenge-left")).to_contain_text("Completed on")
    expect(first.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "1")
    fill = first.locator(".progress-fill").evaluate("e => e.style.width")
    assert fill == "100%"
    assert five.locator(".progress-fill").evaluate("e => e.style.width") == "40%"

    badges = page.get_by_test_id("badge")
    expect(badges).to_have_count(2)
    expect(badges.nth(0)).to_contain_text("Three days in a row")
    expect(badges.nth(1)).to_contain_text("Helpful reviewer")
    expect(badges.nth(1)).to_contain_text("Earned on")

    # Nothing runs off a phone's screen: the page is no wider than its viewport.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"]
    page.get_by_test_id("challenges-section").screenshot(path=tmp_path / f"challenges-{viewport}.png")
    context.close()


def test_a_customer_with_no_challenge_and_no_badge_sees_neither_section(live_server, browser, shop_app):
    token = customer_session_issue(user_id=USER, app=shop_app).token
    page, context = _open(browser, live_server, token, VIEWPORTS["desktop"])
    expect(page.get_by_test_id("challenges-section")).to_be_hidden()
    expect(page.get_by_test_id("badges-section")).to_be_hidden()
    context.close()


@pytest.mark.screenshots
def test_save_the_challenges_screenshots_for_the_docs(live_server, browser, shop_app):
    token = _challenges(shop_app)
    for name, viewport in VIEWPORTS.items():
        page, context = _open(browser, live_server, token, viewport)
        expect(page.get_by_test_id("challenge")).to_have_count(3)
        page.get_by_test_id("challenges-section").scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOT_DIR / f"rewards-page-challenges-{name}.png", full_page=True)
        context.close()


# One unbroken word, as staff or a shop may set it: a name, a description, a tier, a reward.
def long_word(length: int) -> str:
    return ("Supercalifragilistic" * 30)[:length]


def _long_words(app, live_server) -> str:
    """Every text staff or a shop sets, as one word as long as it may be, and a badge whose
    picture is gone (its URL answers 404)."""
    from decimal import Decimal

    from rewards import services
    from tests.factories import CatalogItemFactory

    services.ladder_set(
        definition={
            "tiers": [
                {"code": "base", "name": long_word(100), "entry_points": 0, "retain_points": 0},
                {
                    "code": "top",
                    "name": long_word(100),
                    "entry_points": 5000,
                    "retain_points": 0,
                    "benefits": [long_word(200)],
                },
            ]
        },
        by="test",
    )
    badge_create(definition={"code": "gone", "name": long_word(100), "image_url": "/static/rewards/no-such-badge.png"})
    badge_create(definition={"code": "emoji", "name": "\U0001f31f Star"})
    challenge_create(
        definition={
            "code": "long",
            "name": long_word(100),
            "description": long_word(500),
            "status": "active",
            "goal": {"metric": "orders", "target": 5},
            "reward": {"points": 100, "badge": "gone"},
        },
        by="test",
    )
    CatalogItemFactory(points_cost=60, amount=Decimal("6.00"), description=long_word(255))
    services.points_earn(user_id=USER, points=500, description=long_word(255), app=app)
    services.coupon_redeem(user_id=USER, points=60, amount=Decimal("6.00"), description=long_word(255), app=app)
    badge_award(user_id=USER, code="gone", reason=long_word(200), by="staff")
    badge_award(user_id=USER, code="emoji", reason="Shines", by="staff")
    return customer_session_issue(user_id=USER, app=app).token


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_long_words_stay_on_the_screen_and_a_missing_badge_picture_falls_back_to_its_initial(
    live_server, browser, shop_app, viewport, tmp_path
):
    token = _long_words(shop_app, live_server)
    page, context = _open(browser, live_server, token, VIEWPORTS[viewport])
    expect(page.get_by_test_id("challenge")).to_have_count(1)
    expect(page.get_by_test_id("history-row")).to_have_count(1)
    page.screenshot(path=tmp_path / f"long-words-{viewport}.png", full_page=True)
    page.get_by_test_id("challenges-section").screenshot(path=tmp_path / f"long-words-challenges-{viewport}.png")

    badges = page.get_by_test_id("badge")
    expect(badges).to_have_count(2)
    gone = badges.filter(has_text=long_word(100))
    expect(gone.locator("img")).to_have_count(0)  # the broken picture is replaced, not shown
    expect(gone.locator(".badge-mark")).to_have_text("S")
    expect(badges.filter(has_text="Star").locator(".badge-mark")).to_have_text("\U0001f31f")

    width = VIEWPORTS[viewport]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # No box runs past the screen's edge, and no text runs out of its box (clipped or not).
    overflowing = page.evaluate(
        """(width) => [...document.querySelectorAll("main *")]
            .filter((e) => e.offsetParent !== null)
            .filter((e) => e.getBoundingClientRect().right > width + 0.5 || e.scrollWidth > e.clientWidth + 1)
            .map((e) => e.className || e.tagName)""",
        width,
    )
    assert overflowing == []
    context.close()
