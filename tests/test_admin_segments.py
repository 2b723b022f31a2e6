"""Segments in admin: created and edited through the segments' services with the API's
validation (a bad condition is the form's error and writes nothing), the code fixed once
saved, the members counted now; bulk awards and attributes shown read-only."""

import json

import pytest
from django.urls import reverse

from rewards import services
from rewards.models import CustomerAttributes, Segment
from rewards.services.segments import award_ask, segment_create
from tests.test_admin import staff_client  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

RICH = [{"field": "points.available", "op": "gte", "value": 100}]


def form(**fields: str) -> dict[str, str]:
    return {"code": "rich", "name": "Rich", "description": "", "conditions": json.dumps(RICH), **fields}


def test_a_segment_is_created_edited_and_counted_in_admin(staff_client):  # noqa: F811
    for user_id, points in ((1, 50), (2, 150), (3, 400)):
        services.points_earn(user_id=user_id, points=points, description="seed", app=None)
    added = staff_client.post(reverse("admin:rewards_segment_add"), form())
    assert added.status_code == 302, added.content.decode()[:2000]
    segment = Segment.objects.get()
    assert (segment.code, segment.conditions, segment.updated_by) == ("rich", RICH, "staff staff")
    page = staff_client.get(reverse("admin:rewards_segment_change", args=[segment.pk])).content.decode()
    assert "<label>Members now:</label>" in page and '<div class="readonly">2</div>' in page
    listed = staff_client.get(reverse("admin:rewards_segment_changelist")).content.decode()
    assert "points.available gte 100" in listed

    richer = [{"field": "points.available", "op": "gte", "value": 300}]
    edited = staff_client.post(
        reverse("admin:rewards_segment_change", args=[segment.pk]),
        form(code="other", name="Richer", conditions=json.dumps(richer)),
    )
    assert edited.status_code == 302
    segment.refresh_from_db()
    assert (segment.code, segment.name, segment.conditions) == ("rich", "Richer", richer)


def test_a_bad_condition_is_the_forms_error_and_writes_nothing(staff_client):  # noqa: F811
    bad = json.dumps([{"field": "shoe_size", "op": "eq", "value": 1}])
    response = staff_client.post(reverse("admin:rewards_segment_add"), form(conditions=bad))
    assert response.status_code == 200
    assert "Unknown field &#x27;shoe_size&#x27;" in response.content.decode()
    assert not Segment.objects.exists()


def test_awards_and_attributes_are_shown_read_only(staff_client, shop):  # noqa: F811
    shop.patch("/rewards-api/customers/5/attributes/", {"city": "Lyon"}, format="json")
    segment_create(definition={"code": "everyone", "name": "Everyone"}, by="t")
    award_ask(code="everyone", award_id="gift-1", points=5, description="Gift", app=None, by="t")
    awards = staff_client.get(reverse("admin:rewards_segmentaward_changelist")).content.decode()
    assert "gift-1" in awards and "queued" in awards.lower()
    assert staff_client.get(reverse("admin:rewards_segmentaward_add")).status_code == 403
    attributes = staff_client.get(reverse("admin:rewards_customerattributes_changelist")).content.decode()
    assert "Lyon" in attributes
    assert CustomerAttributes.objects.count() == 1
