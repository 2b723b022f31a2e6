"""Badges in admin: staff define a badge, give it to a customer with a reason and take it back
with a reason, each within their Django permissions; the award's row is never deleted."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from rewards.models import Badge, BadgeAward, Event
from rewards.services.badges import badge_award, badge_create

pytestmark = pytest.mark.django_db

USER = 5150


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("maria", "maria@example.com", "pw"))
    return client


def test_staff_create_a_badge_with_the_apis_checks(staff_client):
    bad = staff_client.post(
        reverse("admin:rewards_badge_add"), {"code": "vip", "name": "VIP", "image_url": "http://x.example.com/a.png"}
    )
    assert bad.status_code == 200 and "image_url" in bad.context["adminform"].form.errors
    assert not Badge.objects.exists()

    saved = staff_client.post(
        reverse("admin:rewards_badge_add"),
        {"code": "vip", "name": "VIP", "description": "Best customers", "image_url": "/static/vip.png"},
    )

    assert saved.status_code == 302
    assert list(Badge.objects.values_list("code", "name", "description", "image_url")) == [
        ("vip", "VIP", "Best customers", "/static/vip.png")
    ]
    badge = Badge.objects.get()
    edited = staff_client.post(
        reverse("admin:rewards_badge_change", args=[badge.pk]),
        {"code": "other", "name": "V.I.P.", "description": "", "image_url": ""},
    )
    assert edited.status_code == 302
    assert list(Badge.objects.values_list("code", "name", "image_url")) == [("vip", "V.I.P.", "")]  # code stays


def test_staff_give_a_badge_with_a_reason_and_take_it_back_with_one(staff_client):
    badge = badge_create(definition={"code": "vip", "name": "VIP"})

    given = staff_client.post(
        reverse("admin:rewards_badgeaward_add"), {"user_id": USER, "badge": badge.pk, "reason": "Helped at the fair"}
    )
    assert given.status_code == 302
    award = BadgeAward.objects.get()
    assert (award.user_id, award.awarded_by, award.reason, award.revoked_at) == (
        USER,
        "staff maria",
        "Helped at the fair",
        None,
    )

    twice = staff_client.post(
        reverse("admin:rewards_badgeaward_add"), {"user_id": USER, "badge": badge.pk, "reason": "again"}
    )
    assert twice.status_code == 200 and "badge" in twice.context["adminform"].form.errors
    no_reason = staff_client.post(reverse("admin:rewards_badgeaward_change", args=[award.pk]), {"take_back_reason": ""})
    assert no_reason.status_code == 200 and "take_back_reason" in no_reason.context["adminform"].form.errors
    assert BadgeAward.objects.get().revoked_at is None

    taken = staff_client.post(
        reverse("admin:rewards_badgeaward_change", args=[award.pk]), {"take_back_reason": "Given by mistake"}
    )

    assert taken.status_code == 302
    award.refresh_from_db()
    assert (award.revoked_by, award.revoke_reason, award.revoked_at is not None) == (
        "staff maria",
        "Given by mistake",
        True,
    )
    assert list(Event.objects.order_by("id").values_list("type", "user_id")) == [
        ("badge.awarded", USER),
        ("badge.revoked", USER),
    ]
    page = staff_client.get(reverse("admin:rewards_badgeaward_change", args=[award.pk]))
    assert page.status_code == 200 and b"Given by mistake" in page.content and b"take_back_reason" not in page.content
    assert (
        staff_client.post(reverse("admin:rewards_badgeaward_delete", args=[award.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert BadgeAward.objects.count() == 1


def test_giving_and_taking_back_need_their_permissions(client, django_user_model):
    badge = badge_create(definition={"code": "vip", "name": "VIP"})
    award = badge_award(user_id=USER, code="vip", reason="r", by="staff maria")
    viewer = django_user_model.objects.create_user("tom", "tom@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_badgeaward"))
    client.force_login(viewer)

    assert client.get(reverse("admin:rewards_badgeaward_changelist")).status_code == 200
    give = client.post(reverse("admin:rewards_badgeaward_add"), {"user_id": USER + 1, "badge": badge.pk, "reason": "x"})
    take = client.post(reverse("admin:rewards_badgeaward_change", args=[award.pk]), {"take_back_reason": "x"})

    assert give.status_code == 403 and take.status_code == 403
    assert list(BadgeAward.objects.values_list("user_id", "revoked_at")) == [(USER, None)]
