"""A customer's contact and consent: rewards-api/customers/<user_id>/contact/, its defaults, a
customer session setting its own, bad input refused by name, the export and the erasure."""

import pytest
from rest_framework.test import APIClient

from loyalty.customers import customer_session_issue
from loyalty.models import AccessLevel
from rewards import services
from rewards.models import Contact
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

USER = 4101
URL = f"/rewards-api/customers/{USER}/contact/"
ALL_ON_BUT_MARKETING = {
    "points_expiring": True,
    "tier_changes": True,
    "coupons": True,
    "challenges": True,
    "birthday": True,
    "marketing": False,
}


def test_a_new_contact_has_every_topic_on_but_marketing(shop):
    response = shop.put(URL, {"email": "ada@example.com", "language": "fr"}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "user_id": USER,
        "email": "ada@example.com",
        "language": "fr",
        "topics": ALL_ON_BUT_MARKETING,
    }
    contact = Contact.objects.get(user_id=USER)
    assert (contact.email, contact.language, contact.topics) == ("ada@example.com", "fr", ALL_ON_BUT_MARKETING)


def test_a_change_keeps_what_it_does_not_name(shop):
    shop.put(URL, {"email": "ada@example.com", "language": "fr"}, format="json")

    response = shop.put(URL, {"topics": {"marketing": True, "coupons": False}}, format="json")

    assert response.json()["email"] == "ada@example.com" and response.json()["language"] == "fr"
    assert response.json()["topics"] == {**ALL_ON_BUT_MARKETING, "marketing": True, "coupons": False}
    assert shop.get(URL).json()["topics"] == response.json()["topics"]
    # An empty email: no address any more (nothing is sent), the rest kept.
    assert shop.put(URL, {"email": ""}, format="json").json()["email"] == ""


def test_get_of_a_customer_without_contact_answers_what_applies_and_writes_nothing(shop):
    response = shop.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "user_id": USER,
        "email": "",
        "language": None,
        "topics": ALL_ON_BUT_MARKETING,
    }
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"email": 5}, "email"),
        ({"language": "de"}, "language"),
        ({"topics": {"coupons": 1}}, "topics"),
        ({"topics": {"newsletter": True}}, "topics"),
        ({"topics": ["coupons"]}, "topics"),
        ({"phone": "555"}, "phone"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(shop, body, field):
    response = shop.put(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert field in response.json()["error"]["fields"]
    assert not Contact.objects.exists()


def test_a_user_id_in_the_path_that_is_no_positive_integer_is_a_400(shop):
    for raw in ("abc", "0", "-3", "99999999999999999999"):
        response = shop.put(f"/rewards-api/customers/{raw}/contact/", {"email": "a@example.com"}, format="json")
        assert response.status_code == 400, raw
        assert "user_id" in response.json()["error"]["fields"]
    assert not Contact.objects.exists()


def test_a_customer_session_sets_its_own_contact_only(shop_app):
    session = customer_session_issue(user_id=USER, app=shop_app)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session.token}")

    own = client.put(URL, {"email": "me@example.com", "topics": {"marketing": True}}, format="json")
    other = client.put(f"/rewards-api/customers/{USER + 1}/contact/", {"email": "x@example.com"}, format="json")

    assert own.status_code == 200 and own.json()["topics"]["marketing"] is True
    assert other.status_code == 403
    assert list(Contact.objects.values_list("user_id", flat=True)) == [USER]


def test_the_contact_is_exported_and_erased():
    program = client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM))
    services.contact_set(user_id=USER, email="ada@example.com", language="fr")

    exported = program.get(f"/loyalty-api/customers/{USER}/export").json()
    assert exported["contact"] == {
        "user_id": USER,
        "email": "ada@example.com",
        "language": "fr",
        "topics": ALL_ON_BUT_MARKETING,
    }

    erased = program.delete(f"/loyalty-api/customers/{USER}/personal-data").json()
    assert erased["erased"]["contact"] == 1
    assert not Contact.objects.filter(user_id=USER).exists()
    # Nothing is left about them: a second erasure finds nothing, the export nothing either.
    assert program.delete(f"/loyalty-api/customers/{USER}/personal-data").status_code == 404
