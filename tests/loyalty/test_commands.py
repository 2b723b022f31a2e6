import pytest
from django.core.management import call_command

from loyalty.models import AccessLevel, Application
from loyalty.tokens import token_hash
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_create_master_app_is_idempotent_and_prints_token_once(capsys):
    call_command("create_master_app")
    first = capsys.readouterr().out
    call_command("create_master_app")
    second = capsys.readouterr().out

    app = Application.objects.get()
    assert app.access_level == AccessLevel.MASTER_APP and app.name == "MasterApp"
    token = first.split("Token (shown once, store it now): ")[1].strip()
    assert app.token_hash == token_hash(token)
    assert "already exists" in second and token not in second


def test_create_master_app_uses_master_app_token(monkeypatch, capsys):
    monkeypatch.setenv("MASTER_APP_TOKEN", "container-token-0123456789abcdefghijklmnopqrstuv")
    call_command("create_master_app", "--name", "Ops")

    app = Application.objects.get(name="Ops")
    assert app.token_hash == token_hash("container-token-0123456789abcdefghijklmnopqrstuv")
    assert "container-token" not in capsys.readouterr().out

    monkeypatch.setenv("MASTER_APP_TOKEN", "rotated-token-0123456789abcdefghijklmnopqrstuvw")
    call_command("create_master_app", "--name", "Ops")
    assert Application.objects.count() == 1
    assert Application.objects.get().token_hash == token_hash("rotated-token-0123456789abcdefghijklmnopqrstuvw")


def test_seed_demo_prints_working_tokens(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out.split("Demo ready")[-1]

    shop_token = out.split("(Can_Modify_Orders): ")[1].split()[0]
    shop = Application.objects.get(name="Demo shop")
    shop.token = shop_token
    body = client_for(shop).get("/rewards-api/get-points/?user_id=1001").json()
    assert body["total_points"] == 120 + 129 + 10 - 50
    # The demo's purchase completed its first challenge (a badge) and stands at 1 of 3 in the other.
    held = client_for(shop).get("/rewards-api/challenges/?user_id=1001").json()
    assert [(c["code"], c["progress"], c["target"], c["completed"]) for c in held["challenges"]] == [
        ("first-purchase", 1, 1, True),
        ("three-purchases", 1, 3, False),
    ]
    assert [badge["code"] for badge in held["badges"]] == ["first-steps"]
    assert Application.objects.filter(access_level=AccessLevel.MASTER_APP).count() == 1
    program = Application.objects.get(name="Demo program", access_level=AccessLevel.CAN_MANAGE_PROGRAM)
    program.token = out.split("(Can_Manage_Program): ")[1].split()[0]
    rules = client_for(program).get("/loyalty-api/rules").json()["rules"]
    assert [rule["name"] for rule in rules] == ["Points for feedback", "Points for orders", "Points for purchases"]
