"""A message's unsubscribe link followed in a real headless Chromium: the French customer's
email from a real SMTP server (aiosmtpd), its link opened, the page in French, one click, the
topic off; and a forged link refused."""

import os
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, expect

from loyalty.models import AccessLevel
from rewards import services
from rewards.models import Message
from tests.factories import ApplicationFactory
from tests.rewards.test_messages import SmtpServer, text_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

USER = 7070


@pytest.fixture
def smtp(settings, live_server):
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.MESSAGES_BASE_URL = live_server.url
    yield server
    server.stop()


def test_the_unsubscribe_link_of_a_french_message_followed_in_chromium(browser: Browser, smtp, live_server):
    app = ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS)
    services.contact_set(user_id=USER, email="ada@example.com", language="fr")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="coupon", app=app)
    assert services.messages_send().sent == 1
    [received] = smtp.inbox.received
    link = re.search(r"https?://\S+/messages/unsubscribe/\S+/", text_of(received))[0]
    assert received["List-Unsubscribe"].strip() == f"<{link}>"

    context = browser.new_context(locale="en-US")  # the customer's language wins over the browser's
    page = context.new_page()
    page.goto(link)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading")).to_have_text("Se désinscrire")
    expect(page.get_by_text("Ne plus recevoir de messages sur les bons de réduction ?")).to_be_visible()
    assert services.contact_get(USER).topics["coupons"] is True

    page.get_by_role("button", name="Se désinscrire").click()

    expect(page.get_by_role("heading")).to_have_text("Votre désinscription est faite")
    assert services.contact_get(USER).topics["coupons"] is False
    # The topic is off: the next coupon writes no message.
    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="coupon", app=app)
    assert Message.objects.count() == 1

    # An altered link: refused, in the browser's language, nothing changed.
    services.contact_set(user_id=USER, topics={"coupons": True})
    response = page.goto(link[:-6] + "AAAAA/")
    assert response.status == 404
    expect(page.get_by_role("heading")).to_have_text("This link is not valid")
    assert services.contact_get(USER).topics["coupons"] is True
    context.close()


def test_a_messages_html_reads_in_a_browser_without_fetching_anything(browser: Browser, smtp, tmp_path):
    """The HTML as the SMTP server received it, shown in Chromium: no request leaves the page (no
    remote image, font, style sheet or script), the text is there."""
    message_in_a_browser(browser, smtp, tmp_path / "message.png")


@pytest.mark.screenshots
def test_save_the_messages_screenshot_for_the_docs(browser: Browser, smtp):
    from tests.test_rewards_page import SCREENSHOT_DIR

    message_in_a_browser(browser, smtp, SCREENSHOT_DIR / "message-coupon-fr.png")


def message_in_a_browser(browser: Browser, smtp, screenshot) -> None:
    app = ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS)
    services.contact_set(user_id=USER, email="ada@example.com", language="fr")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    item = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="coupon", app=app)
    services.messages_send()
    [received] = smtp.inbox.received
    html = received.get_body(preferencelist=("html",)).get_content()

    context = browser.new_context(viewport={"width": 640, "height": 560})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_content(html)

    expect(page.get_by_role("heading", name="Votre bon de 5,00 $")).to_be_visible()
    expect(page.get_by_text(item.redeemed_item.item_code)).to_be_visible()
    expect(page.get_by_role("link", name="Ne plus recevoir ces messages")).to_have_attribute(
        "href", re.compile(r"/messages/unsubscribe/")
    )
    assert requests == []
    page.screenshot(path=screenshot, full_page=True)
    context.close()
