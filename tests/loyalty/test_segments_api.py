"""loyalty-api/segments: create, list, read, edit, delete; every refusal a 400 (an unknown field
or op named) or 409 that writes nothing; members a page at a time with a cursor, counted, as
CSV; a customer's segments; all of them the one query's answer."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.models import AccessLevel, Order
from rewards import services
from rewards.models import Segment
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

LYON = {
    "code": "lyon-buyers",
    "name": "Buyers in Lyon",
    "description": "Lyon, an order in 90 days",
    "conditions": [
        {"field": "attributes.city", "op": "eq", "value": "Lyon"},
        {"field": "orders_placed", "op": "gte", "value": 1, "window_days": 90},
    ],
}


@pytest.fixture
def program():
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


def order(order_id: int, user_id: int, days_ago: int, total: int = 1000) -> None:
    Order.objects.create(
        order_id=order_id,
        user_id=user_id,
        total_cost=total,
        completed_at=datetime.now(UTC) - timedelta(days=days_ago),
        coefficient=Decimal(1),
        points_awarded=0,
        balance_after=0,
    )


@pytest.fixture
def lyon_world(shop):
    """Customers 1..30: the odd ones live in Lyon; those under 20 ordered 10 days ago, the
    rest 200 days ago. Members of LYON: 1, 3, … 19."""
    for user_id in range(1, 31):
        city = "Lyon" if user_id % 2 else "Paris"
        response = shop.patch(f"/rewards-api/customers/{user_id}/attributes/", {"city": city}, format="json")
        assert response.status_code == 200
        order(user_id, user_id, 10 if user_id < 20 else 200)
    return list(range(1, 20, 2))


def test_create_list_read_edit_delete(program):
    created = program.post("/loyalty-api/segments", LYON, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert {key: body[key] for key in LYON} == LYON
    assert body["updated_by"] == "application program"
    assert program.get("/loyalty-api/segments").json()["segments"] == [body]
    assert program.get("/loyalty-api/segments/lyon-buyers").json() == body
    edited = program.patch(
        "/loyalty-api/segments/lyon-buyers", {**body, "name": "Lyon", "conditions": []}, format="json"
    )
    assert edited.status_code == 200, edited.json()
    assert (edited.json()["name"], edited.json()["conditions"], edited.json()["code"]) == ("Lyon", [], "lyon-buyers")
    assert program.delete("/loyalty-api/segments/lyon-buyers").json()["code"] == "lyon-buyers"
    assert not Segment.objects.exists()
    assert program.get("/loyalty-api/segments/lyon-buyers").json()["error"]["code"] == "segment_not_found"


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ({"field": "shoe_size", "op": "eq", "value": 1}, "'shoe_size'"),
        ({"field": "tier", "op": "like", "value": "gold"}, "'like'"),
        ({"field": "tier", "op": "gt", "value": "gold"}, "gt compares numbers"),
        ({"field": "tier", "op": "eq", "value": 3}, "is a text"),
        ({"field": "spent", "op": "gt", "value": "500"}, "is a number"),
        ({"field": "points.available", "op": "gt", "value": 1, "window_days": 30}, "window_days"),
        ({"field": "spent", "op": "gt", "value": 1, "window_days": 0}, "window_days"),
        ({"field": "spent", "op": "in", "value": 5}, "list"),
        ({"field": "attributes.bad key", "op": "eq", "value": 1}, "'attributes.bad key'"),
        ({"field": "birthday_month", "op": "eq", "value": 13}, "1 to 12"),
        ({"field": "tier", "op": "eq", "value": "gold", "extra": 1}, "'extra'"),
    ],
)
def test_a_bad_condition_is_a_400_naming_it_and_writes_nothing(program, condition, named):
    response = program.post("/loyalty-api/segments", {**LYON, "conditions": [condition]}, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    [message] = error["fields"]["conditions"]
    assert message.startswith("0: ") and named in message, message
    assert not Segment.objects.exists()


def test_a_bad_code_name_or_key_is_a_400_and_a_taken_code_a_409(program):
    for body, field in (
        ({**LYON, "code": "Lyon Buyers"}, "code"),
        ({**LYON, "name": " "}, "name"),
        ({**LYON, "colour": "red"}, "colour"),
        ({**LYON, "name": "a\x00b"}, "name"),
    ):
        response = program.post("/loyalty-api/segments", body, format="json")
        assert response.status_code == 400 and field in response.json()["error"]["fields"], response.json()
    assert program.post("/loyalty-api/segments", LYON, format="json").status_code == 201
    again = program.post("/loyalty-api/segments", {**LYON, "name": "Other"}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "segment_exists")
    renamed = program.patch("/loyalty-api/segments/lyon-buyers", {"code": "other"}, format="json")
    assert renamed.status_code == 400 and "code" in renamed.json()["error"]["fields"]
    bad_edit = program.patch(
        "/loyalty-api/segments/lyon-buyers", {"conditions": [{"field": "x", "op": "eq", "value": 1}]}, format="json"
    )
    assert bad_edit.status_code == 400
    assert Segment.objects.get().conditions == LYON["conditions"]


def test_members_by_pages_counted_and_as_csv(program, lyon_world):
    program.post("/loyalty-api/segments", LYON, format="json")
    first = program.get("/loyalty-api/segments/lyon-buyers/members", {"limit": 4, "count": "true"}).json()
    assert first["members"] == [{"user_id": u} for u in lyon_world[:4]]
    assert (first["count"], first["next_cursor"]) == (10, "7")
    second = program.get("/loyalty-api/segments/lyon-buyers/members", {"limit": 4, "cursor": 7}).json()
    assert second["members"] == [{"user_id": u} for u in lyon_world[4:8]] and "count" not in second
    last = program.get("/loyalty-api/segments/lyon-buyers/members", {"limit": 4, "cursor": 15}).json()
    assert (last["members"], last["next_cursor"]) == ([{"user_id": 17}, {"user_id": 19}], None)
    csv = program.get("/loyalty-api/segments/lyon-buyers/members", {"format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode("utf-8-sig").splitlines() == ["user_id", *map(str, lyon_world)]
    assert program.get("/loyalty-api/segments/nope/members").status_code == 404
    assert program.get("/loyalty-api/segments/lyon-buyers/members", {"limit": 0}).status_code == 400


def test_a_customers_segments_are_the_same_query(program, lyon_world):
    program.post("/loyalty-api/segments", LYON, format="json")
    everyone = {"code": "everyone", "name": "Everyone", "conditions": []}
    program.post("/loyalty-api/segments", everyone, format="json")
    rich = {"code": "rich", "name": "Rich", "conditions": [{"field": "points.available", "op": "gte", "value": 100}]}
    program.post("/loyalty-api/segments", rich, format="json")
    services.points_earn(user_id=3, points=150, description="x", app=None)
    for user_id in range(1, 31):
        answer = program.get(f"/loyalty-api/customers/{user_id}/segments").json()
        expected = ["everyone", *(["lyon-buyers"] if user_id in lyon_world else [])]
        expected += ["rich"] if user_id == 3 else []
        assert answer == {"success": True, "user_id": user_id, "segments": sorted(expected)}
    assert program.get("/loyalty-api/customers/999/segments").json()["segments"] == []
    assert program.get("/loyalty-api/customers/x/segments").status_code == 400
