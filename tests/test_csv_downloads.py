"""Every CSV download (admin's list exports, the reports in admin and in the API) is UTF-8 with
a byte-order mark, says so in its Content-Type, and is an attachment named after what it holds
and its dates; the rollforward's rows carry its period."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from loyalty.models import AccessLevel
from rewards import services
from rewards.models import Reward
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

BOM = b"\xef\xbb\xbf"
WORDS = "Café crème — 5 € für Jürgen"  # what a spreadsheet garbles when it guesses the encoding


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("staff", "staff@example.com", "pw"))
    return client


@pytest.fixture
def program(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def credited(db):
    """401 points for customer 9 today, one credit's description beyond ASCII."""
    services.points_earn(user_id=9, points=400, description=WORDS, app=None)
    services.points_earn(user_id=9, points=1, description="one more", app=None)
    return Reward.objects.filter(user_id=9).order_by("id")


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def download(response, filename: str) -> list[list[str]]:
    """The rows of a CSV download, after checking what makes a spreadsheet open it right."""
    assert response.status_code == 200, body_of(response)[:300]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    body = body_of(response)
    assert body.startswith(BOM) and not body[3:].startswith(BOM)
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline="")))


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_the_ledger_export_is_utf_8_with_a_bom(staff_client, credited, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2026, 12, 7, 9, 30, 5, tzinfo=UTC))
    rows = download(staff_client.get(reverse("admin:rewards_reward_export")), "ledger-20261207-093005.csv")

    assert rows[0][:8] == [
        "id",
        "created_at",
        "user_id",
        "kind",
        "points_earned",
        "points_redeemed",
        "pending_change",
        "reward_description",
    ]
    assert [(row[2], row[3], row[4], row[7]) for row in rows[1:]] == [
        ("9", "earn", "1", "one more"),
        ("9", "earn", "400", WORDS),
    ]


def test_the_balances_export_is_utf_8_with_a_bom(staff_client, credited, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2026, 12, 7, 9, 30, 5, tzinfo=UTC))
    rows = download(staff_client.get(reverse("admin:loyalty_customer_export")), "balances-20261207-093005.csv")

    assert rows[0][:4] == ["user_id", "total_points", "total_points_earned", "total_points_redeemed"]
    assert [row[:4] for row in rows[1:]] == [["9", "401", "401", "0"]]


def test_the_reports_in_admin_are_named_after_their_dates(staff_client, credited):
    day = today()

    liability = download(staff_client.get("/admin/reports/liability.csv"), f"liability-{day}.csv")
    rollforward = download(staff_client.get("/admin/reports/rollforward.csv"), f"rollforward-2000-01-01-to-{day}.csv")
    breakage = download(staff_client.get("/admin/reports/breakage.csv"), f"breakage-{day}.csv")

    assert liability[:3] == [["figure", "value"], ["as_of", day], ["available_points", "401"]]
    assert rollforward == [
        ["from", "to", "line", "points"],
        ["2000-01-01", day, "opening", "0"],
        ["2000-01-01", day, "earn", "401"],
        ["2000-01-01", day, "closing", "401"],
    ]
    assert breakage == [
        ["month", "issued", "redeemed", "expired", "open", "breakage_rate"],
        [day[:7], "401", "0", "0", "401", ""],
    ]


def test_the_reports_in_the_api_are_attachments_named_after_their_dates(program, credited):
    day = datetime.now(UTC).date()
    week_ago = (day - timedelta(days=7)).isoformat()

    liability = download(
        program.get("/loyalty-api/reports/liability", {"as_of": day.isoformat(), "format": "csv"}),
        f"liability-{day}.csv",
    )
    rollforward = download(
        program.get("/loyalty-api/reports/rollforward", {"from": week_ago, "to": day.isoformat(), "format": "csv"}),
        f"rollforward-{week_ago}-to-{day}.csv",
    )
    breakage = download(
        program.get("/loyalty-api/reports/breakage", HTTP_ACCEPT="text/csv"), f"breakage-{day.isoformat()}.csv"
    )

    assert ["available_points", "401"] in liability
    assert rollforward == [
        ["from", "to", "line", "points"],
        [week_ago, day.isoformat(), "opening", "0"],
        [week_ago, day.isoformat(), "earn", "401"],
        [week_ago, day.isoformat(), "closing", "401"],
    ]
    assert breakage[1][:2] == [day.isoformat()[:7], "401"]


def test_a_rollforward_before_anything_happened_still_says_its_period(program, credited):
    rows = download(
        program.get("/loyalty-api/reports/rollforward", {"from": "2001-02-03", "to": "2001-02-28", "format": "csv"}),
        "rollforward-2001-02-03-to-2001-02-28.csv",
    )

    assert rows == [
        ["from", "to", "line", "points"],
        ["2001-02-03", "2001-02-28", "opening", "0"],
        ["2001-02-03", "2001-02-28", "closing", "0"],
    ]


def test_the_json_answers_stay_as_they_were(program, credited):
    answer = program.get("/loyalty-api/reports/rollforward", {"from": "2001-02-03", "to": today()})

    assert answer["Content-Type"] == "application/json"
    assert "Content-Disposition" not in answer
    assert answer.json() == {
        "success": True,
        "from": "2001-02-03",
        "to": today(),
        "opening": 0,
        "movements": {"earn": 401},
        "closing": 401,
    }


def test_a_refused_csv_request_is_json_and_no_attachment(program, credited):
    refused = program.get("/loyalty-api/reports/rollforward", {"from": "2001-02-30", "format": "csv"})

    assert refused.status_code == 400 and refused["Content-Type"] == "application/json"
    assert "Content-Disposition" not in refused
    assert refused.json()["error"]["code"] == "validation_error"


def test_the_dashboard_links_the_downloads(staff_client, credited):
    page = staff_client.get("/admin/reports/").content.decode()

    assert [f'href="/admin/reports/{name}.csv"' in page for name in ("liability", "rollforward", "breakage")] == [
        True,
        True,
        True,
    ]
