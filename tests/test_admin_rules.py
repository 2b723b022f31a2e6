"""Earning rules in admin: a form without JSON, checked by the API's own validator, saved as versions."""

import pytest
from django.urls import reverse

from rewards.models import Rule, RuleVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("maria", "maria@example.com", "pw"))
    return client


def form(**fields: object) -> dict[str, object]:
    """The add form as a browser posts it: every field, mostly empty, plus the versions inline."""
    data: dict[str, object] = {
        "name": "Big order bonus",
        "trigger": "order",
        "activity_name": "",
        "status": "active",
        "priority": "100",
        "effect_type": "fixed",
        "effect_points": "50",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
    }
    data.update(fields)
    return data


def test_staff_add_a_rule_with_conditions_and_caps_in_plain_fields(staff_client):
    response = staff_client.post(
        reverse("admin:rewards_rule_add"),
        form(
            condition_1_field="total_cost",
            condition_1_op="gte",
            condition_1_value="1000",
            condition_2_field="item.category",
            condition_2_op="in",
            condition_2_value="shoes, bags",
            cap_per_customer="100",
            cap_period="month",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = Rule.objects.get(name="Big order bonus")
    assert (rule.status, rule.version, rule.updated_by) == ("active", 1, "staff maria")
    assert rule.conditions == [
        {"field": "total_cost", "op": "gte", "value": 1000},
        {"field": "item.category", "op": "in", "value": ["shoes", "bags"]},
    ]
    assert (rule.effect, rule.caps) == ({"type": "fixed", "points": 50}, {"per_customer": 100, "period": "month"})
    assert RuleVersion.objects.get(rule=rule).created_by == "staff maria"


def test_an_edit_in_admin_makes_a_new_version_and_shows_the_old_one(staff_client):
    staff_client.post(reverse("admin:rewards_rule_add"), form())
    rule = Rule.objects.get(name="Big order bonus")

    page = staff_client.get(reverse("admin:rewards_rule_change", args=[rule.pk]))
    assert page.context["adminform"].form.initial["effect_points"] == 50
    response = staff_client.post(
        reverse("admin:rewards_rule_change", args=[rule.pk]),
        form(
            effect_type="rate",
            effect_points="",
            effect_value="0.1",
            effect_matching_items="on",
            condition_1_field="item.sku",
            condition_1_op="eq",
            condition_1_value="A-1",
        ),
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.version, rule.effect) == (2, {"type": "rate", "value": "0.1", "scope": "matching_items"})
    assert list(RuleVersion.objects.filter(rule=rule).order_by("version").values_list("version", flat=True)) == [1, 2]
    assert staff_client.get(reverse("admin:rewards_rule_change", args=[rule.pk])).status_code == 200


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"effect_type": "multiplier", "effect_value": "0.5"}, "at least 1"),
        ({"condition_1_field": "amount", "condition_1_op": "eq", "condition_1_value": "5"}, "Condition 1: field"),
        ({"condition_1_field": "total_cost", "condition_1_op": "gt", "condition_1_value": "lots"}, "must be a number"),
        ({"cap_period": "month"}, "period of per_customer"),
        ({"effect_type": "rate", "effect_value": "0.0000001"}, "decimal places"),
    ],
)
def test_a_bad_rule_in_admin_is_shown_what_is_wrong_and_saves_nothing(staff_client, fields, says):
    response = staff_client.post(reverse("admin:rewards_rule_add"), form(**fields))

    assert response.status_code == 200
    assert says in str(response.context["adminform"].form.errors)
    assert not Rule.objects.filter(name="Big order bonus").exists()


def test_staff_without_the_rule_permissions_cannot_see_or_add_rules(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True))

    assert client.get(reverse("admin:rewards_rule_changelist")).status_code == 403
    assert client.post(reverse("admin:rewards_rule_add"), form()).status_code == 403
    assert not Rule.objects.filter(name="Big order bonus").exists()


@pytest.mark.parametrize("model", ["rewards_rule", "rewards_activity"])
def test_the_program_lists_render(staff_client, model):
    response = staff_client.get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200
    if model == "rewards_rule":
        assert b"Points for orders" in response.content and b"0.05 per unit" in response.content


def test_rules_are_archived_never_deleted(staff_client):
    rule = Rule.objects.get(name="Points for orders")
    assert staff_client.get(reverse("admin:rewards_rule_delete", args=[rule.pk])).status_code == 403


def test_saving_over_an_edit_made_since_the_form_was_opened_is_refused(staff_client):
    staff_client.post(reverse("admin:rewards_rule_add"), form())
    rule = Rule.objects.get(name="Big order bonus")
    opened = staff_client.get(reverse("admin:rewards_rule_change", args=[rule.pk]))
    assert opened.context["adminform"].form.initial["from_version"] == 1
    staff_client.post(reverse("admin:rewards_rule_change", args=[rule.pk]), form(effect_points="60", from_version="1"))

    stale = staff_client.post(
        reverse("admin:rewards_rule_change", args=[rule.pk]), form(effect_points="70", from_version="1")
    )

    assert stale.status_code == 200
    assert "changed since you opened it" in str(stale.context["adminform"].form.errors)
    rule.refresh_from_db()
    assert (rule.version, rule.effect["points"]) == (2, 60)


def test_a_rules_versions_are_shown_in_words_not_json(staff_client):
    from rewards import services

    rule = services.rule_create(
        definition={
            "name": "Big order bonus",
            "trigger": "order",
            "status": "active",
            "starts_at": "2026-01-01T00:00:00Z",
            "conditions": [
                {"field": "total_cost", "op": "gte", "value": 100},
                {"field": "item.category", "op": "in", "value": ["shoes", "bags"]},
            ],
            "effect": {"type": "fixed", "points": 50},
            "caps": {"per_customer": 100, "period": "month"},
        },
        by="staff maria",
    )
    services.rule_edit(
        rule_id=rule.pk,
        changes={"effect": {"type": "rate", "value": "0.1", "scope": "matching_items"}, "pending_days": 14},
        by="staff jo",
    )

    page = staff_client.get(reverse("admin:rewards_rule_change", args=[rule.pk])).content.decode()
    versions = page.split('id="versions-group"', 1)[1]

    assert '"field"' not in versions and "&quot;field&quot;" not in versions and "total_cost" not in versions
    for text in (
        "Order total is at least 100",
        "An item&#x27;s category is one of shoes, bags",
        "100 per customer a month",
        "0.1 per unit of matching items",
        "50 points",
        "pending 14 days",
        "from 2026-01-01 00:00 UTC",
        "staff jo",
    ):
        assert text in versions, text
    assert versions.index("0.1 per unit of matching items") < versions.index("50 points")  # newest first
