"""Staff fill in an earning rule in admin in a real headless Chromium."""

import os

import pytest
from playwright.sync_api import Browser, expect

from rewards.models import Rule
from tests.test_rewards_page import SCREENSHOT_DIR

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def staff(django_user_model, committed_shop_app):
    return django_user_model.objects.create_superuser("maria", "maria@example.com", "a-long-password")


def signed_in_page(browser: Browser, live_server, width: int = 1280):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill("a-long-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    return context, page


def fill_in_weekend_bonus(page) -> None:
    page.get_by_role("textbox", name="Name:", exact=True).fill("Weekend shoes bonus")
    page.get_by_label("Trigger:").select_option("order")
    page.get_by_label("Status:").select_option("active")
    page.get_by_label("Kind of award:").select_option("fixed")
    page.get_by_label("Points:", exact=True).fill("50")
    page.locator("#id_condition_1_field").select_option("item.category")
    page.locator("#id_condition_1_op").select_option("eq")
    page.locator("#id_condition_1_value").fill("shoes")
    page.locator("#id_condition_2_field").select_option("weekday")
    page.locator("#id_condition_2_op").select_option("in")
    page.locator("#id_condition_2_value").fill("6, 7")
    page.get_by_label("At most per customer:").fill("100")
    page.locator("#id_cap_period").select_option("month")


def test_staff_create_a_rule_in_the_form_and_see_it_listed(browser, live_server, staff):
    context, page = signed_in_page(browser, live_server)
    page.goto(f"{live_server.url}/admin/rewards/rule/add/")
    fill_in_weekend_bonus(page)
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_text("was added successfully")).to_be_visible()
    expect(page.get_by_role("link", name="Weekend shoes bonus", exact=True)).to_be_visible()
    rule = Rule.objects.get(name="Weekend shoes bonus")
    assert rule.conditions == [
        {"field": "item.category", "op": "eq", "value": "shoes"},
        {"field": "weekday", "op": "in", "value": [6, 7]},
    ]
    assert (rule.effect, rule.caps, rule.updated_by) == (
        {"type": "fixed", "points": 50},
        {"per_customer": 100, "period": "month"},
        "staff maria",
    )
    expect(page.get_by_text("100 per customer a month")).to_be_visible()
    context.close()


def test_a_mistake_is_shown_on_the_form_and_nothing_is_saved(browser, live_server, staff):
    context, page = signed_in_page(browser, live_server)
    page.goto(f"{live_server.url}/admin/rewards/rule/add/")
    fill_in_weekend_bonus(page)
    page.get_by_label("Kind of award:").select_option("multiplier")
    page.get_by_label("Rate or multiplier:").fill("0.5")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".errorlist")).to_contain_text("A multiplier must be at least 1")
    assert not Rule.objects.filter(name="Weekend shoes bonus").exists()
    context.close()


def test_each_condition_is_one_line_with_its_boxes_in_the_same_columns(browser, live_server, staff):
    context, page = signed_in_page(browser, live_server)
    page.goto(f"{live_server.url}/admin/rewards/rule/add/")
    fill_in_weekend_bonus(page)
    page.locator("#id_condition_3_field").select_option("properties")
    page.locator("#id_condition_3_property").fill("plan")

    def box(row: int, part: str) -> dict[str, float]:
        return page.locator(f"#id_condition_{row}_{part}").bounding_box()

    lines = {row: {part: box(row, part) for part in ("field", "property", "op", "value")} for row in range(1, 6)}
    for row, parts in lines.items():
        middles = [part["y"] + part["height"] / 2 for part in parts.values()]
        assert max(middles) - min(middles) <= 4, f"condition {row} is not one line"
    for part in ("field", "property", "op", "value"):
        assert len({round(lines[row][part]["x"]) for row in lines}) == 1, f"the {part} boxes are not in one column"
    # The property name is asked for where the field is an activity property.
    assert page.locator("#id_condition_3_property").is_visible()
    assert not page.locator("#id_condition_1_property").is_visible()
    expect(page.get_by_label("Condition 1's operator")).to_have_value("eq")
    context.close()

    context, page = signed_in_page(browser, live_server, width=390)
    page.goto(f"{live_server.url}/admin/rewards/rule/add/")
    for part in ("field", "op", "value"):
        phone = page.locator(f"#id_condition_1_{part}").bounding_box()
        assert phone["x"] >= 0 and phone["x"] + phone["width"] <= 390, part
    context.close()


@pytest.mark.parametrize(("accent", "header", "ink"), [("#fde047", "rgb(253, 224, 71)", "rgb(31, 41, 55)")])
def test_the_header_wears_the_programs_accent(browser, live_server, staff, settings, accent, header, ink):
    settings.PROGRAM_ACCENT_COLOR = accent
    context, page = signed_in_page(browser, live_server)
    page.goto(f"{live_server.url}/admin/loyalty/customer/5/change/")

    def style(selector: str, name: str) -> str:
        return page.eval_on_selector(selector, f"node => getComputedStyle(node).{name}")

    assert style("#header", "backgroundColor") == header
    assert style("#site-name a", "color") == ink and style("#user-tools a", "color") == ink
    context.close()


@pytest.mark.screenshots
def test_save_the_rule_form_screenshots_for_the_docs(browser, live_server, staff):
    for name, width in (("desktop", 1280), ("phone", 390)):
        context, page = signed_in_page(browser, live_server, width=width)
        page.goto(f"{live_server.url}/admin/rewards/rule/add/")
        fill_in_weekend_bonus(page)
        page.screenshot(path=SCREENSHOT_DIR / f"admin-rule-form-{name}.png", full_page=True)
        context.close()
