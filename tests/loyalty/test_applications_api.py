"""loyalty-api/application: MasterApp manages client applications, never a MasterApp."""

import uuid

import pytest

from loyalty.models import AccessLevel, Application
from loyalty.tokens import token_hash
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/loyalty-api/application"


def test_create_returns_app_id_and_token_once(master):
    response = master.post(
        URL, {"application_name": "Orders service", "access_level": "Can_Modify_Orders"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    app = Application.objects.get(app_id=body["app_id"])
    assert (app.name, app.access_level) == ("Orders service", "Can_Modify_Orders")
    assert token_hash(body["token"]) == app.token_hash
    app.token = body["token"]
    assert client_for(app).get("/rewards-api/get-points/?user_id=1").status_code == 200
    listed = master.put(URL, {"app_id": body["app_id"], "new_access_level": "Can_Read"}, format="json").json()
    assert "token" not in listed


def test_level_change_applies_at_once_and_token_stays(master, shop_app):
    client = client_for(shop_app)
    earn = {"user_id": 1, "points_earned": 5, "reward_description": "x"}
    assert client.post("/rewards-api/earn-points/", earn, format="json").status_code == 201

    response = master.put(URL, {"app_id": str(shop_app.pk), "new_access_level": "Can_Read"}, format="json")

    assert response.status_code == 200
    assert response.json()["access_level"] == "Can_Read"
    assert client.post("/rewards-api/earn-points/", earn, format="json").status_code == 403
    assert client.get("/rewards-api/get-points/?user_id=1").status_code == 200
    assert Application.objects.get(pk=shop_app.pk).token_hash == token_hash(shop_app.token)


@pytest.mark.parametrize("how", ["body", "query"])
def test_delete_revokes_the_token_at_once(master, shop_app, how):
    client = client_for(shop_app)
    assert client.get("/rewards-api/get-points/?user_id=1").status_code == 200

    if how == "body":
        response = master.delete(URL, {"app_id": str(shop_app.pk)}, format="json")
    else:
        response = master.delete(f"{URL}?app_id={shop_app.pk}")

    assert response.status_code == 200
    assert client.get("/rewards-api/get-points/?user_id=1").status_code == 401
    assert master.delete(URL, {"app_id": str(shop_app.pk)}, format="json").status_code == 404


def test_no_api_call_creates_changes_or_deletes_a_master_app(master, master_app):
    created = master.post(URL, {"application_name": "evil", "access_level": "MasterApp"}, format="json")
    promoted = master.put(URL, {"app_id": str(master_app.pk), "new_access_level": "Can_Read"}, format="json")
    deleted = master.delete(URL, {"app_id": str(master_app.pk)}, format="json")

    assert created.status_code == 400
    assert promoted.status_code == 403 and promoted.json()["error"]["code"] == "master_app_immutable"
    assert deleted.status_code == 403
    assert Application.objects.filter(access_level=AccessLevel.MASTER_APP).count() == 1
    assert master.get(URL).status_code == 405


def test_client_cannot_become_master(master, shop_app):
    response = master.put(URL, {"app_id": str(shop_app.pk), "new_access_level": "MasterApp"}, format="json")
    assert response.status_code == 400
    assert Application.objects.get(pk=shop_app.pk).access_level == "Can_Modify_Orders"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"application_name": "", "access_level": "Can_Read"}, "application_name"),
        ({"application_name": "x" * 31, "access_level": "Can_Read"}, "application_name"),
        ({"application_name": 5, "access_level": "Can_Read"}, "application_name"),
        ({"application_name": "ok", "access_level": "can_read"}, "access_level"),
        ({"application_name": "ok", "access_level": True}, "access_level"),
        ({"application_name": "ok"}, "access_level"),
    ],
)
def test_bad_create_is_400(master, body, field):
    response = master.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Application.objects.count() == 1  # the MasterApp


@pytest.mark.parametrize("app_id", ["not-a-uuid", 12345, None])
def test_bad_app_id_is_400(master, app_id):
    assert master.put(URL, {"app_id": app_id, "new_access_level": "Can_Read"}, format="json").status_code == 400


def test_unknown_app_id_is_404(master):
    response = master.put(URL, {"app_id": str(uuid.uuid4()), "new_access_level": "Can_Read"}, format="json")
    assert response.status_code == 404
