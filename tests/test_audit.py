"""Who changed what: every change to the program and its access is recorded by the database's
triggers, whatever made it (the API, admin, plain SQL), with the actor where there is one and
the values before and after; the record is append-only and read at loyalty-api/audit."""

import csv
import io
import json
import secrets

import pgtrigger
import pytest
from django.db import connection, transaction
from django.db.utils import InternalError
from django.urls import reverse
from django.utils import timezone

from core.audit import AUDIT_SUBJECTS, audit_models
from loyalty.models import AccessLevel, AdjustmentSubmission, Application
from rewards import services
from rewards.models import CatalogItem, Rule, Tier
from rewards.services.tiers import ladder_set
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db


def today() -> str:
    """Today (UTC), read when a test runs: a run may cross midnight."""
    return timezone.now().date().isoformat()


MEMBER = {"code": "member", "name": "Member", "entry_points": 0, "retain_points": 0}
BONUS = {"name": "Bonus", "trigger": "feedback", "effect": {"type": "fixed", "points": 5}}


@pytest.fixture
def program(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("alice", "alice@example.com", "pw")
    client.force_login(user)
    return client


def audit(program, **query) -> dict:
    response = program.get("/loyalty-api/audit", {"from": today(), **query})
    assert response.status_code == 200, response.json()
    return response.json()


def changes(program, subject: str, object_id: object, action: str | None = None) -> list[dict]:
    entries = audit(program, subject=subject, limit=1000)["entries"]
    return [e for e in entries if e["object_id"] == str(object_id) and action in (None, e["action"])]


def test_every_audit_trigger_is_installed_as_the_models_declare_it():
    declared = [(model, trigger) for model, trigger in pgtrigger.registered() if trigger.name.startswith("audit_")]
    audited = {model._meta.label for model, _ in declared}
    assert audited == set(AUDIT_SUBJECTS)
    assert len(declared) == 3 * len(AUDIT_SUBJECTS)  # insert, update, delete on each
    with connection.cursor():
        statuses = {trigger.get_installation_status(model)[0] for model, trigger in pgtrigger.registered()}
    assert statuses == {"INSTALLED"}


def test_a_rule_changed_through_the_api_is_recorded_with_the_application_and_both_values(program):
    created = program.post("/loyalty-api/rules", {"status": "active", **BONUS}, format="json").json()
    program.patch(f"/loyalty-api/rules/{created['id']}", {"name": "Bigger bonus"}, format="json")

    rule = changes(program, "rule", created["id"])
    assert [e["action"] for e in rule] == ["insert", "update"]
    app = Application.objects.get(name="program")
    actor = {"type": "application", "app_id": str(app.app_id), "name": "program"}
    assert [e["actor"] for e in rule] == [actor, actor]
    assert rule[0]["before"] is None and rule[0]["after"]["name"] == "Bonus"
    assert (rule[1]["before"]["name"], rule[1]["after"]["name"]) == ("Bonus", "Bigger bonus")
    assert (rule[1]["before"]["version"], rule[1]["after"]["version"]) == (1, 2)
    assert rule[1]["path"] == f"/loyalty-api/rules/{created['id']}"
    # Its versions are recorded too, in the same request's context as the rule's change.
    versions = [e for e in audit(program, subject="rule_version")["entries"] if e["after"]["rule_id"] == created["id"]]
    assert [e["after"]["version"] for e in versions] == [1, 2]
    assert versions[1]["context_id"] == rule[1]["context_id"] is not None
    assert versions[1]["actor"] == actor


def test_an_application_level_changed_in_admin_is_recorded_with_the_staff_user(staff_client, program, shop_app):
    staff_client.post(reverse("admin:loyalty_application_change", args=[shop_app.pk]), {"access_level": "Can_Read"})

    [entry] = changes(program, "application", shop_app.pk, "update")
    user_id = staff_client.session["_auth_user_id"]
    assert entry["actor"] == {"type": "staff", "user_id": int(user_id), "username": "alice"}
    assert (entry["before"]["access_level"], entry["after"]["access_level"]) == ("Can_Modify_Orders", "Can_Read")
    assert "token_hash" not in entry["after"] and "last_used_at" not in entry["after"]


def test_a_staff_adjustment_in_admin_is_recorded_with_its_points_and_the_staff_user(staff_client, program, shop_app):
    services.points_earn(user_id=9, points=30, description="seed", app=shop_app)
    url = reverse("admin:loyalty_customer_change", args=[9])
    staff_client.post(url, {"submission": secrets.token_urlsafe(24), "points": "12", "reason": "Sorry"})

    submission = AdjustmentSubmission.objects.get()
    [entry] = changes(program, "staff_adjustment", submission.pk)
    assert entry["action"] == "insert"
    assert entry["actor"]["username"] == "alice"
    kept = {k: entry["after"][k] for k in ("user_id", "points", "staff")}
    assert kept == {"user_id": 9, "points": 12, "staff": "alice"}


def test_a_change_by_plain_sql_is_recorded_with_no_actor(program):
    item = CatalogItem.objects.get(kind="coupon", points_cost=50)
    # (Not through the API: in a test, its request's context would last the test's transaction.)
    ladder_set(definition={"tiers": [MEMBER]}, by="test")
    tier = Tier.objects.get(code="member")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rewards_catalogitem SET stock = 7 WHERE id = %s", [item.pk])
        cursor.execute("DELETE FROM rewards_tier WHERE ladder_id = 1")

    [entry] = changes(program, "catalog_item", item.pk, "update")
    assert entry["actor"] is None and entry["path"] is None and entry["context_id"] is None
    assert (entry["before"]["stock"], entry["after"]["stock"]) == (None, 7)
    assert entry["before"]["description"] == entry["after"]["description"] == "$5 coupon"
    [deleted] = changes(program, "tier", tier.pk, "delete")
    assert (deleted["after"], deleted["before"]["code"], deleted["actor"]) == (None, "member", None)


def test_the_existing_rows_are_in_the_record_from_its_start(program):
    existing = changes(program, "catalog_item", CatalogItem.objects.get(kind="coupon", points_cost=50).pk)
    assert existing == [] or existing[0]["action"] == "existing"  # today's record starts with today's rows
    entries = program.get("/loyalty-api/audit", {"from": "2000-01-01", "subject": "rule", "limit": 1000}).json()
    first = {e["object_id"]: e["action"] for e in reversed(entries["entries"])}
    assert {first[str(rule.pk)] for rule in Rule.objects.filter(name__startswith="Points for")} == {"existing"}


def test_a_redemption_moving_units_out_is_not_a_change_of_the_item(program, shop_app):
    item = CatalogItem.objects.get(kind="coupon", points_cost=50)
    program.patch(f"/loyalty-api/catalog/{item.pk}", {"stock": 10}, format="json")
    services.points_earn(user_id=5, points=100, description="seed", app=shop_app)
    services.coupon_redeem(user_id=5, points=50, amount=item.amount, description="c", app=shop_app)
    assert CatalogItem.objects.get(pk=item.pk).units_out == 1
    [update] = changes(program, "catalog_item", item.pk, "update")
    assert (update["before"]["stock"], update["after"]["stock"]) == (None, 10)


@pytest.mark.parametrize("statement", ["UPDATE {table} SET pgh_label = 'x'", "DELETE FROM {table}"])
def test_the_record_refuses_update_and_delete(statement):
    CatalogItem.objects.filter(kind="coupon", points_cost=50).update(stock=3)
    recorded = [model for model in audit_models() if model.objects.exists()]
    assert len(recorded) >= 3  # the catalog's, the rules' and their versions' rows at least
    for model in recorded:
        refused = pytest.raises(InternalError, match="Cannot update or delete")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement.format(table=model._meta.db_table))


def test_pages_follow_the_cursor_in_id_order(program):
    for stock in range(1, 6):
        CatalogItem.objects.filter(kind="coupon", points_cost=50).update(stock=stock)
    seen, after = [], 0
    while after is not None:
        page = audit(program, subject="catalog_item", limit=2, after=after)
        assert len(page["entries"]) <= 2
        seen += [e["after"]["stock"] for e in page["entries"] if e["action"] == "update"]
        after = page["next_after"]
    assert seen == [1, 2, 3, 4, 5]


def test_csv_holds_the_same_entries(program):
    CatalogItem.objects.filter(kind="coupon", points_cost=50).update(stock=4)
    response = program.get("/loyalty-api/audit", {"from": today(), "subject": "catalog_item", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="audit-{today()}-to-{today()}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["id", "at", "subject", "object_id", "action", "actor_type", "actor", "path", "before", "after"]
    [update] = [row for row in rows[1:] if row[4] == "update"]
    assert (update[2], update[5], update[6]) == ("catalog_item", "", "")
    assert (json.loads(update[8])["stock"], json.loads(update[9])["stock"]) == (None, 4)


@pytest.mark.parametrize(
    "query, field",
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "07/12/2026"}, "from"),
        ({"to": "2999-01-01"}, "to"),
        ({"from": today(), "to": "2000-01-01"}, "from"),
        ({"subject": "ledger"}, "subject"),
        ({"after": "-1"}, "after"),
        ({"after": "x"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_parameters_are_json_400s(program, query, field):
    response = program.get("/loyalty-api/audit", query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False and field in body["error"]["fields"]


def test_the_admin_list_shows_the_record_read_only(staff_client, program):
    CatalogItem.objects.filter(kind="coupon", points_cost=50).update(stock=8)
    url = reverse("admin:pghistory_events_changelist")
    page = staff_client.get(url, {"subject": "catalog_item"}).content.decode()
    assert "stock: None → 8" in page and "no actor" in page
    assert staff_client.get(reverse("admin:pghistory_events_add")).status_code == 403


def test_an_erasure_and_a_webhook_through_the_api_are_recorded_with_their_application(program, shop, shop_app):
    services.points_earn(user_id=31, points=10, description="Dear Ann", app=shop_app)
    program.delete("/loyalty-api/customers/31/personal-data")
    hook = shop.post(
        "/loyalty-api/webhooks", {"url": "https://93.184.216.34/hooks", "event_types": ["points.earned"]}, format="json"
    ).json()
    shop.patch(f"/loyalty-api/webhooks/{hook['id']}", {"is_active": False}, format="json")

    [erasure] = audit(program, subject="personal_data_erasure")["entries"]
    assert (erasure["actor"]["name"], erasure["after"]["user_id"]) == ("program", 31)
    assert erasure["after"]["erased"]["ledger_descriptions"] == 1
    webhook = changes(program, "webhook_subscription", hook["id"])
    assert [(e["action"], e["actor"]["app_id"]) for e in webhook] == [
        ("insert", str(shop_app.pk)),
        ("update", str(shop_app.pk)),
    ]
    assert (webhook[1]["before"]["is_active"], webhook[1]["after"]["is_active"]) == (True, False)
    assert "secret" not in webhook[0]["after"] and "last_event_id" not in webhook[0]["after"]


def test_staff_without_the_view_permission_do_not_see_the_record(client, django_user_model):
    user = django_user_model.objects.create_user("bob", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:pghistory_events_changelist")).status_code == 403


def test_check_ledger_finds_a_change_made_with_the_triggers_off(capsys):
    from django.core.management import CommandError, call_command

    call_command("check_ledger")
    assert "every audited row is in the audit record as it is" in capsys.readouterr().out
    item = CatalogItem.objects.get(kind="coupon", points_cost=50)
    ladder_set(definition={"tiers": [MEMBER]}, by="test")
    tier = Tier.objects.get(code="member")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no trigger fires
        cursor.execute("UPDATE rewards_catalogitem SET points_cost = 1 WHERE id = %s", [item.pk])
        cursor.execute(
            "INSERT INTO loyalty_adjustmentsubmission (key, staff, user_id, created_at) "
            "VALUES ('k', 'mallory', 5, now()) RETURNING id"
        )
        submission = cursor.fetchone()[0]
        cursor.execute("DELETE FROM rewards_tier")
        cursor.execute("SET LOCAL session_replication_role = origin")

    with pytest.raises(CommandError, match="Audit drift: 3 row"):
        call_command("check_ledger")
    out = capsys.readouterr().out
    assert f"catalog_item {item.pk}: differs from its last entry" in out
    assert f"staff_adjustment {submission}: no entry in the record" in out
    assert f"tier {tier.pk}: gone, with no delete recorded" in out


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/loyalty-api/audit", "subject=", "subject"),
        ("/loyalty-api/audit", "from=2026-01-01&subject=", "subject"),
        ("/loyalty-api/rules", "status=", "status"),
        ("/loyalty-api/rules", "trigger=", "trigger"),
    ],
)
def test_a_blank_choice_in_a_query_is_400_like_a_blank_day(program, path, query, field):
    """``?subject=`` is a mistake, not "every subject": refused as ``?from=`` is."""
    response = program.get(f"{path}?{query}")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {field: ["This field may not be blank."]}
