"""Badges: defined through loyalty-api/badges, given and taken back with who and why (never
deleted), shown in get-user-info and the export, and each award and take-back an event."""

from datetime import UTC, datetime

import pytest

from loyalty.models import AccessLevel
from loyalty.services.personal_data import customer_export, personal_data_erase
from rewards.errors import BadgeAlreadyHeld, BadgeNotFound, BadgeNotHeld
from rewards.models import Badge, BadgeAward, Event, ImmutableRowError
from rewards.services.badges import badge_award, badge_create, badge_revoke
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.factories import ApplicationFactory

USER = 4242
AWARDED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
REVOKED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def program(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="crm"))


def test_a_badge_is_created_listed_read_and_changed(program):
    created = program.post(
        "/loyalty-api/badges",
        {
            "code": "night-owl",
            "name": "Night owl",
            "description": "Ordered after midnight",
            "image_url": "/static/b.png",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert {key: body[key] for key in ("success", "code", "name", "description", "image_url")} == {
        "success": True,
        "code": "night-owl",
        "name": "Night owl",
        "description": "Ordered after midnight",
        "image_url": "/static/b.png",
    }
    program.post("/loyalty-api/badges", {"code": "early", "name": "Early bird"}, format="json")

    listed = program.get("/loyalty-api/badges").json()
    assert [(b["code"], b["name"], b["image_url"]) for b in listed["badges"]] == [
        ("early", "Early bird", ""),
        ("night-owl", "Night owl", "/static/b.png"),
    ]

    changed = program.patch(
        "/loyalty-api/badges/night-owl",
        {"name": "Night owl II", "image_url": "https://cdn.example.com/owl.png"},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    read = program.get("/loyalty-api/badges/night-owl").json()
    assert (read["name"], read["description"], read["image_url"]) == (
        "Night owl II",
        "Ordered after midnight",
        "https://cdn.example.com/owl.png",
    )
    assert Badge.objects.get(code="night-owl").name == "Night owl II"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "Bad Code", "name": "x"}, "code"),
        ({"code": "", "name": "x"}, "code"),
        ({"code": "a" * 51, "name": "x"}, "code"),
        ({"code": "ok", "name": "  "}, "name"),
        ({"code": "ok"}, "name"),
        ({"code": "ok", "name": "x", "image_url": "http://cdn.example.com/a.png"}, "image_url"),
        ({"code": "ok", "name": "x", "image_url": "javascript:alert(1)"}, "image_url"),
        ({"code": "ok", "name": "x", "image_url": "//evil.example.com/a.png"}, "image_url"),
        ({"code": "ok", "name": "x", "image_url": '/static/a.png" onerror="x'}, "image_url"),
        ({"code": "ok", "name": "x", "colour": "red"}, "colour"),
        ({"code": "ok", "name": 5}, "name"),
    ],
)
def test_a_bad_badge_is_a_400_naming_the_field_and_writes_nothing(program, body, field):
    response = program.post("/loyalty-api/badges", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["fields"], error
    assert not Badge.objects.exists()


def test_a_code_taken_is_a_409_an_unknown_one_a_404_and_the_code_never_changes(program):
    program.post("/loyalty-api/badges", {"code": "vip", "name": "VIP"}, format="json")

    again = program.post("/loyalty-api/badges", {"code": "vip", "name": "Other"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "badge_conflict"
    missing = program.get("/loyalty-api/badges/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "badge_not_found"
    missing_patch = program.patch("/loyalty-api/badges/nope", {"name": "x"}, format="json")
    assert missing_patch.status_code == 404 and missing_patch.json()["error"]["code"] == "badge_not_found"
    renamed = program.patch("/loyalty-api/badges/vip", {"code": "vip2"}, format="json")
    assert renamed.status_code == 400 and "code" in renamed.json()["error"]["fields"]
    assert list(Badge.objects.values_list("code", "name")) == [("vip", "VIP")]


@pytest.mark.django_db
def test_a_badge_given_and_taken_back_keeps_its_row_and_writes_both_events():
    badge_create(definition={"code": "vip", "name": "VIP"})

    award = badge_award(user_id=USER, code="vip", reason="Top reviewer", by="staff maria", now=AWARDED)
    with pytest.raises(BadgeAlreadyHeld):
        badge_award(user_id=USER, code="vip", reason="again", by="staff maria")
    badge_revoke(award_id=award.pk, reason="Reviews were fake", by="staff tom", now=REVOKED)
    with pytest.raises(BadgeNotHeld):
        badge_revoke(award_id=award.pk, reason="twice", by="staff tom")
    again = badge_award(user_id=USER, code="vip", reason="Apologies", by="staff maria", now=REVOKED)

    rows = list(
        BadgeAward.objects.order_by("id").values_list(
            "user_id", "badge__code", "awarded_at", "awarded_by", "reason", "revoked_at", "revoked_by", "revoke_reason"
        )
    )
    assert rows == [
        (USER, "vip", AWARDED, "staff maria", "Top reviewer", REVOKED, "staff tom", "Reviews were fake"),
        (USER, "vip", REVOKED, "staff maria", "Apologies", None, "", ""),
    ]
    events = list(Event.objects.order_by("id").values_list("type", "user_id", "data"))
    assert events == [
        (
            "badge.awarded",
            USER,
            {
                "badge": {"code": "vip", "name": "VIP"},
                "award": {
                    "id": award.pk,
                    "badge": "vip",
                    "awarded_at": "2026-03-01T09:30:00Z",
                    "awarded_by": "staff maria",
                    "reason": "Top reviewer",
                    "revoked_at": None,
                    "revoked_by": "",
                    "revoke_reason": "",
                },
            },
        ),
        (
            "badge.revoked",
            USER,
            {
                "badge": {"code": "vip", "name": "VIP"},
                "award": {
                    "id": award.pk,
                    "badge": "vip",
                    "awarded_at": "2026-03-01T09:30:00Z",
                    "awarded_by": "staff maria",
                    "reason": "Top reviewer",
                    "revoked_at": "2026-03-02T10:00:00Z",
                    "revoked_by": "staff tom",
                    "revoke_reason": "Reviews were fake",
                },
            },
        ),
        ("badge.awarded", USER, events[2][2]),
    ]
    assert events[2][2]["award"]["id"] == again.pk
    with pytest.raises(ImmutableRowError):
        award.delete()
    with pytest.raises(BadgeNotFound):
        badge_award(user_id=USER, code="nope", reason="x", by="staff maria")


@pytest.mark.django_db
def test_get_user_info_shows_the_badges_held_oldest_first(shop_app):
    badge_create(
        definition={
            "code": "vip",
            "name": "VIP",
            "description": "Very important",
            "image_url": "https://cdn.example.com/vip.png",
        }
    )
    badge_create(definition={"code": "early", "name": "Early bird"})
    badge_create(definition={"code": "gone", "name": "Gone"})
    badge_award(user_id=USER, code="vip", reason="r", by="staff maria", now=AWARDED)
    badge_award(user_id=USER, code="early", reason="r", by="staff maria", now=REVOKED)
    gone = badge_award(user_id=USER, code="gone", reason="r", by="staff maria")
    badge_revoke(award_id=gone.pk, reason="mistake", by="staff maria")
    badge_award(user_id=USER + 1, code="gone", reason="r", by="staff maria")

    body = client_for(shop_app).get(f"/rewards-api/get-user-info/?user_id={USER}").json()

    assert body["badges"] == [
        {
            "code": "vip",
            "name": "VIP",
            "description": "Very important",
            "image_url": "https://cdn.example.com/vip.png",
            "awarded_at": "2026-03-01T09:30:00Z",
        },
        {
            "code": "early",
            "name": "Early bird",
            "description": "",
            "image_url": "",
            "awarded_at": "2026-03-02T10:00:00Z",
        },
    ]
    assert body["total_points"] == 0


@pytest.mark.django_db
def test_the_export_carries_every_award_and_the_erasure_keeps_them_without_reasons():
    badge_create(definition={"code": "vip", "name": "VIP"})
    award = badge_award(user_id=USER, code="vip", reason="Met at the fair", by="staff maria", now=AWARDED)
    badge_revoke(award_id=award.pk, reason="Asked by Ann Smith", by="staff tom", now=REVOKED)
    badge_award(user_id=USER, code="vip", reason="Welcome back Ann", by="staff maria", now=REVOKED)

    exported = customer_export(user_id=USER)  # a customer known only by their badges
    assert [(a["badge"], a["reason"], a["revoke_reason"], a["revoked_by"]) for a in exported["badges"]] == [
        ("vip", "Met at the fair", "Asked by Ann Smith", "staff tom"),
        ("vip", "Welcome back Ann", "", ""),
    ]

    erasure = personal_data_erase(user_id=USER, by="staff maria")

    assert erasure.erased["staff_reasons"] == 3
    assert list(BadgeAward.objects.order_by("id").values_list("reason", "revoke_reason", "revoked_at")) == [
        ("[erased]", "[erased]", REVOKED),
        ("[erased]", "", None),
    ]
    for data in Event.objects.filter(type__startswith="badge.").values_list("data", flat=True):
        assert data["award"]["reason"] == "[erased]"
        assert data["award"]["revoke_reason"] in ("", "[erased]")
    assert personal_data_erase(user_id=USER, by="staff maria").erased["staff_reasons"] == 0


@pytest.mark.django_db(transaction=True)
def test_racing_awards_of_one_badge_give_it_once():
    badge_create(definition={"code": "vip", "name": "VIP"})

    results = run_concurrently(
        lambda i: badge_award(user_id=USER, code="vip", reason=f"try {i}", by="staff", if_not_held=True), 16
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len([r for r in results if r is not None]) == 1
    assert BadgeAward.objects.filter(user_id=USER).count() == 1
    assert Event.objects.filter(type="badge.awarded").count() == 1
