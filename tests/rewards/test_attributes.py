"""Customer attributes: a flat object merged by PATCH (a null removes a key), read by GET; keys
and values checked, at most 50; every refusal a 400 that writes nothing; two merges at once
for one customer both land."""

import threading

import pytest
from django.db import connection

from loyalty.models import AccessLevel
from rewards.models import Account, CustomerAttributes
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

USER = 5150
PATH = f"/rewards-api/customers/{USER}/attributes/"


def test_a_patch_merges_a_null_removes_and_get_reads(shop, reader):
    first = shop.patch(PATH, {"city": "Lyon", "vip": True, "visits": 3, "score": 2.5}, format="json")
    assert first.status_code == 200, first.json()
    assert first.json() == {
        "success": True,
        "user_id": USER,
        "attributes": {"city": "Lyon", "vip": True, "visits": 3, "score": 2.5},
    }
    second = shop.patch(PATH.rstrip("/"), {"city": "Paris", "vip": None, "gone": None}, format="json")
    assert second.json()["attributes"] == {"city": "Paris", "visits": 3, "score": 2.5}
    assert reader.get(PATH).json()["attributes"] == {"city": "Paris", "visits": 3, "score": 2.5}
    row = CustomerAttributes.objects.get(user_id=USER)
    assert row.attributes == {"city": "Paris", "visits": 3, "score": 2.5}
    # The customer is known from now on: segments find them through their account.
    account = Account.objects.get(user_id=USER)
    assert (account.total_points_earned, account.total_points_redeemed) == (0, 0)


def test_a_customer_never_set_reads_empty(reader):
    assert reader.get("/rewards-api/customers/42/attributes/").json() == {
        "success": True,
        "user_id": 42,
        "attributes": {},
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bad key": 1}, "bad key"),
        ({"k" * 51: 1}, "k" * 51),
        ({"é": 1}, "é"),
        ({"city": ""}, "city"),
        ({"city": "   "}, "city"),
        ({"city": "x" * 201}, "city"),
        ({"city": "a\x00b"}, "city"),
        ({"list": [1]}, "list"),
        ({"obj": {"a": 1}}, "obj"),
        ({"big": 10**15}, "big"),
        ({"fine": 1.1234567}, "fine"),
    ],
)
def test_a_bad_key_or_value_is_a_400_naming_it_and_writes_nothing(shop, body, field):
    shop.patch(PATH, {"kept": 1}, format="json")
    response = shop.patch(PATH, {**body, "kept": None, "other": "x"}, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == [field]
    assert CustomerAttributes.objects.get(user_id=USER).attributes == {"kept": 1}


def test_a_body_that_is_no_object_and_a_bad_user_id_are_400(shop):
    assert shop.patch(PATH, [1, 2], format="json").json()["error"]["code"] == "validation_error"
    response = shop.patch("/rewards-api/customers/abc/attributes/", {"a": 1}, format="json")
    assert response.status_code == 400 and "user_id" in response.json()["error"]["fields"]
    assert not CustomerAttributes.objects.exists()


def test_at_most_50_attributes(shop):
    fifty = {f"k{i}": i for i in range(50)}
    assert shop.patch(PATH, fifty, format="json").status_code == 200
    refused = shop.patch(PATH, {"one_more": 1}, format="json")
    assert refused.status_code == 400 and "50" in refused.json()["error"]["message"]
    # Replacing one (a null and a new key together) stays at 50.
    assert shop.patch(PATH, {"k0": None, "one_more": 1}, format="json").status_code == 200
    assert len(CustomerAttributes.objects.get(user_id=USER).attributes) == 50


def test_a_customer_session_may_not_read_or_write_and_a_reader_may_not_write(reader, shop_app):
    from loyalty.customers import customer_session_issue

    session = customer_session_issue(user_id=USER, app=shop_app)
    customer = client_for(None)
    customer.credentials(HTTP_AUTHORIZATION=f"Bearer {session.token}")
    assert customer.get(PATH).status_code == 403
    assert customer.patch(PATH, {"vip": True}, format="json").status_code == 403
    assert reader.patch(PATH, {"vip": True}, format="json").status_code == 403
    program = client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="p"))
    assert program.get(PATH).status_code == 403
    assert not CustomerAttributes.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_merges_at_once_for_one_customer_both_land(committed_shop_app):
    barrier = threading.Barrier(8)
    statuses = []

    def merge(index: int) -> None:
        try:
            barrier.wait()
            statuses.append(client_for(committed_shop_app).patch(PATH, {f"k{index}": index}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=merge, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    assert CustomerAttributes.objects.get(user_id=USER).attributes == {f"k{i}": i for i in range(8)}
