"""The rewards page in French, in a real headless Chromium: chosen by the customer's contact
language over the browser's, else by the browser's Accept-Language; nothing the page itself
writes stays in English (the shop's own words, its catalog's and ledger's descriptions, are
shown as written). `make screenshots` writes docs/rewards-page-fr-desktop.png."""

import re
from pathlib import Path

import polib
import pytest
from playwright.sync_api import Browser, Page, expect

from loyalty.customers import customer_session_issue
from rewards import services
from tests.test_rewards_page import SCREENSHOT_DIR, USER, page_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CATALOGUE = SCREENSHOT_DIR.parent / "rewards" / "locale" / "fr" / "LC_MESSAGES" / "django.po"


@pytest.fixture
def shop_app(committed_shop_app):
    return committed_shop_app


def english_only_texts() -> list[str]:
    """The page's English texts whose French differs, without their placeholders' parts."""
    texts = []
    for entry in polib.pofile(str(CATALOGUE)):
        if entry.msgid_plural or entry.msgstr == entry.msgid:
            continue
        for part in re.split(r"\{\w+\}|%\(\w+\)s", entry.msgid):
            # A word both languages use ("points") is no English left behind.
            if len(part.strip(" .:!?,()+\u2212")) >= 6 and part.strip() not in entry.msgstr:
                texts.append(part.strip())
    return texts


def shown_text(page: Page) -> str:
    """What the page shows, less what the shop wrote (catalog and ledger descriptions)."""
    return page.evaluate(
        """() => {
            const clone = document.body.cloneNode(true);
            clone.querySelectorAll('script, .title, .what, .why').forEach((node) => node.remove());
            return clone.innerText;
        }"""
    )


def french_customer(shop_app, *, contact: bool) -> str:
    services.points_earn(user_id=USER, points=130, description="Welcome bonus", app=shop_app)
    if contact:
        services.contact_set(user_id=USER, email="ada@example.com", language="fr")
    return customer_session_issue(user_id=USER, app=shop_app).token


def test_the_contacts_french_wins_over_an_english_browser(live_server, browser: Browser, shop_app, tmp_path):
    french_page(live_server, browser, shop_app, tmp_path / "fr.png")


@pytest.mark.screenshots
def test_save_the_french_screenshot_for_the_docs(live_server, browser: Browser, shop_app):
    french_page(live_server, browser, shop_app, SCREENSHOT_DIR / "rewards-page-fr-desktop.png")


def french_page(live_server, browser: Browser, shop_app, screenshot: Path) -> None:
    token = french_customer(shop_app, contact=True)
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()

    page.goto(page_url(live_server, token))

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Vos points", exact=True)).to_be_visible()
    expect(page.get_by_test_id("total-points")).to_have_text("130")
    expect(page.get_by_text("points à dépenser")).to_be_visible()
    page.get_by_role("button", name="Obtenir $5 coupon pour 50 points").click()
    expect(page.get_by_test_id("confirm-text")).to_have_text("Dépenser 50 points pour un bon de 5,00 $ ?")
    page.get_by_role("button", name="Oui, les dépenser").click()
    expect(page.get_by_test_id("status")).to_have_text("C\u2019est fait ! Bon de 5,00 $ obtenu.")
    expect(page.get_by_test_id("coupon-panel")).to_be_visible()
    expect(page.get_by_test_id("history-row")).to_contain_text("Prêt à l\u2019emploi")
    expect(page.get_by_test_id("referral-code")).to_be_visible()
    expect(page.locator("#app")).to_have_attribute("aria-busy", "false")

    shown = shown_text(page)
    left_in_english = [text for text in english_only_texts() if re.search(rf"\b{re.escape(text)}\b", shown)]
    assert left_in_english == [], shown
    page.screenshot(path=screenshot, full_page=True)
    context.close()


def test_without_contact_the_browsers_language_is_spoken(live_server, browser: Browser, shop_app):
    token = french_customer(shop_app, contact=False)

    for locale, heading in (("fr-FR", "Vos points"), ("en-GB", "Your points"), ("de-DE", "Your points")):
        context = browser.new_context(locale=locale)
        page = context.new_page()
        page.goto(page_url(live_server, token))
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.get_by_test_id("total-points")).to_have_text("130")
        context.close()
