"""Tiers in admin: the ladder and its tiers saved whole by the API's validator, and a staff
floor set with a reason and an end date, recorded as a change."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rewards import services
from rewards.models import Event, Tier, TierChange, TierLadder, TierStanding

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("maria", "maria@example.com", "pw"))
    return client


def ladder_form(*tiers: dict, window_days: str = "365", kinds: tuple[str, ...] = ("order", "purchase")) -> dict:
    data = {
        "window_days": window_days,
        "qualifying_kinds": list(kinds),
        "tiers-TOTAL_FORMS": str(len(tiers)),
        "tiers-INITIAL_FORMS": "0",
    }
    for index, tier in enumerate(tiers):
        for name, value in tier.items():
            data[f"tiers-{index}-{name}"] = value
    return data


BRONZE = {"code": "bronze", "name": "Bronze", "entry_points": "0", "retain_points": "0", "multiplier": "1"}
SILVER = {
    "code": "silver",
    "name": "Silver",
    "entry_points": "500",
    "retain_points": "400",
    "multiplier": "1.5",
    "benefits_text": "Free shipping\nEarly access",
}


API_LADDER = {
    "tiers": [
        {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0},
        {"code": "silver", "name": "Silver", "entry_points": 500, "retain_points": 400, "multiplier": "1.5"},
    ]
}


def test_staff_set_the_ladder_with_its_tiers(staff_client):
    response = staff_client.post(reverse("admin:rewards_tierladder_add"), ladder_form(BRONZE, SILVER))

    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.non_form_errors()
    ladder = services.ladder_fields()
    assert [(t["code"], t["multiplier"], t["benefits"]) for t in ladder["tiers"]] == [
        ("bronze", "1", []),
        ("silver", "1.5", ["Free shipping", "Early access"]),
    ]
    assert ladder["updated_by"] == "staff maria"
    page = staff_client.get(reverse("admin:rewards_tierladder_change", args=[TierLadder.LADDER_ID]))
    assert page.status_code == 200 and b"Early access" in page.content


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ((SILVER,), "The lowest tier's entry_points must be 0"),
        ((BRONZE, {**SILVER, "retain_points": "600"}), "retain_points: at least 0 and at most entry_points"),
        ((BRONZE, {**SILVER, "multiplier": "0.5"}), "multiplier: at least 1"),
        ((BRONZE, {**SILVER, "code": "bronze"}), "duplicate data for code"),
    ],
)
def test_a_bad_ladder_in_admin_says_why_and_saves_nothing(staff_client, tiers, message):
    response = staff_client.post(reverse("admin:rewards_tierladder_add"), ladder_form(*tiers))

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert message in " ".join([*formset.non_form_errors(), *(str(form.errors) for form in formset.forms)])
    assert not TierLadder.objects.exists() and not Tier.objects.exists()


def test_staff_set_a_floor_with_a_reason_and_an_end_date(staff_client):
    services.ladder_set(definition=API_LADDER, by="test")
    until = timezone.now() + timedelta(days=30)

    response = staff_client.post(
        reverse("admin:rewards_tierchange_add"),
        {"user_id": "4100", "tier": "silver", "until": until.strftime("%Y-%m-%d %H:%M:%S"), "reason": "VIP event"},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    change = TierChange.objects.get()
    assert (change.user_id, change.to_code, change.reason, change.changed_by) == (
        4100,
        "silver",
        "VIP event",
        "staff maria",
    )
    assert TierStanding.objects.get(user_id=4100).floor_code == "silver"
    assert Event.objects.get(type="tier.upgraded").user_id == 4100
    assert services.tier_fields(4100)["tier"]["code"] == "silver"


def test_a_floor_in_the_past_or_without_a_reason_is_refused(staff_client):
    services.ladder_set(definition=API_LADDER, by="test")
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")

    response = staff_client.post(
        reverse("admin:rewards_tierchange_add"), {"user_id": "4100", "tier": "silver", "until": past, "reason": ""}
    )

    errors = response.context["adminform"].form.errors
    assert set(errors) == {"until", "reason"}
    assert not TierChange.objects.exists() and not TierStanding.objects.exists()
