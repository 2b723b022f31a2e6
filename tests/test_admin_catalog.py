"""The catalog and coupons in admin: items saved through the API's validator, and unused
coupons voided by a staff action with a reason, in a real headless Chromium."""

import os
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from rewards import services
from rewards.models import CatalogItem, RedeemedItem
from rewards.selectors import account_balance
from tests.test_admin_browser import signed_in_page
from tests.test_rewards_page import SCREENSHOT_DIR

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
USER = 6060


def catalog_form(**fields) -> dict:
    data = {
        "kind": "coupon",
        "description": "$25 coupon",
        "points_cost": "250",
        "amount": "25",
        "is_active": "on",
        "stock": "10",
        "per_customer_limit": "1",
        "limit_period": "month",
        "available_from_0": "",
        "available_from_1": "",
        "available_until_0": "",
        "available_until_1": "",
        "tier_codes_text": "silver, gold",
        "coupon_valid_days": "30",
    }
    data.update(fields)
    return data


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("maria", "maria@example.com", "pw"))
    return client


@pytest.mark.django_db
def test_staff_add_a_catalog_item_with_stock_limits_and_tiers(staff_client):
    response = staff_client.post(reverse("admin:rewards_catalogitem_add"), catalog_form())

    assert response.status_code == 302, response.context["adminform"].form.errors
    item = CatalogItem.objects.get(description="$25 coupon")
    assert (item.stock, item.per_customer_limit, item.limit_period, item.tier_codes, item.coupon_valid_days) == (
        10,
        1,
        "month",
        ["silver", "gold"],
        30,
    )


@pytest.mark.django_db
def test_a_bad_catalog_item_in_admin_says_why_and_saves_nothing(staff_client):
    before = CatalogItem.objects.count()

    donation = staff_client.post(reverse("admin:rewards_catalogitem_add"), catalog_form(kind="donation"))
    no_limit = staff_client.post(reverse("admin:rewards_catalogitem_add"), catalog_form(per_customer_limit="0"))

    assert list(donation.context["adminform"].form.errors) == ["coupon_valid_days"]
    assert list(no_limit.context["adminform"].form.errors) == ["per_customer_limit"]
    assert CatalogItem.objects.count() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.browser
def test_staff_void_a_coupon_with_a_reason_in_the_browser(browser, live_server, issued_coupon):
    code = issued_coupon
    context, page = signed_in_page(browser, live_server)

    _void_selected(page, live_server, code, reason="Issued in error")
    page.get_by_role("button", name="Go").click()

    expect(page.get_by_text(f"Voided: {code} (100 points back).")).to_be_visible()
    item = RedeemedItem.objects.get(item_code=code)
    assert (item.state, item.refund_reason) == ("voided", "Issued in error (staff maria)")
    assert account_balance(user_id=USER).total_points == 120
    context.close()


@pytest.mark.django_db
def test_staff_export_and_erase_a_customers_data_as_admin_actions(staff_client):
    from loyalty.models import PersonalDataErasure

    services.birthday_set(user_id=USER, month=5, day=1)
    services.points_earn(user_id=USER, points=40, description="Called about order 77", app=None)
    url = reverse("admin:loyalty_customer_changelist")

    exported = staff_client.post(url, {"action": "export_data", "_selected_action": [USER]})
    erased = staff_client.post(url, {"action": "erase_personal_data", "_selected_action": [USER]}, follow=True)

    assert exported["Content-Type"] == "application/json"
    assert '"Called about order 77"' in exported.content.decode()
    assert "Personal data erased: 6060." in erased.content.decode()
    assert PersonalDataErasure.objects.get().erased_by == "staff maria"
    assert account_balance(user_id=USER).total_points == 40


@pytest.fixture
def issued_coupon(django_user_model) -> str:
    """Staff user maria, and a customer's unused $10 coupon (100 of their 120 points): its code."""
    django_user_model.objects.create_superuser("maria", "maria@example.com", "a-long-password")
    services.points_earn(user_id=USER, points=120, description="Bonus", app=None)
    return services.coupon_redeem(
        user_id=USER, points=100, amount=Decimal("10"), description="$10 coupon", app=None
    ).redeemed_item.item_code


def _void_selected(page, live_server, code: str, *, reason: str) -> None:
    """The coupon's row selected, the void action chosen and the reason typed, not yet sent."""
    page.goto(f"{live_server.url}/admin/rewards/redeemeditem/")
    page.get_by_role("row", name=code).get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option("void_coupons")
    page.locator("input[name=reason]").fill(reason)


@pytest.mark.django_db(transaction=True)
@pytest.mark.screenshots
def test_save_the_void_action_screenshot(browser, live_server, issued_coupon):
    code = issued_coupon
    context, page = signed_in_page(browser, live_server)
    _void_selected(page, live_server, code, reason="Issued in error")
    page.screenshot(path=SCREENSHOT_DIR / "admin-void-coupon.png")
    context.close()


@pytest.mark.django_db
def test_admin_index_links_the_reports_for_staff_who_may_read_them(staff_client, client, django_user_model):
    assert b'href="/admin/reports/"' in staff_client.get(reverse("admin:index")).content
    clerk = django_user_model.objects.create_user("clerk", "c@example.com", "pw", is_staff=True)
    client.force_login(clerk)
    assert b'href="/admin/reports/"' not in client.get(reverse("admin:index")).content
