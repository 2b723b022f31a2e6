"""get-points' plain case in one round trip (loyalty/lean.py): GET ?user_id=N with an application
token is answered by a plain Django view, one Redis call and one statement, with the bytes the
DRF view answered before; every other request is the DRF view's, errors as they were."""

import json
import logging

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from drf_orjson_renderer.renderers import ORJSONRenderer

from loyalty.models import AccessLevel, Application
from loyalty.services import application_revoke
from loyalty.throttling import application_bucket
from rewards import selectors, services
from rewards.shapes import balance_fields
from tests.conftest import client_for
from tests.factories import ApplicationFactory
from tests.loyalty.test_tiers import order
from tests.test_cache_redis import REDIS

pytestmark = pytest.mark.django_db

POINTS = "/rewards-api/get-points/"
LADDER = {
    "tiers": [
        {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0},
        {"code": "silver", "name": "Silver", "entry_points": 100, "retain_points": 80, "multiplier": "1.5"},
        {"code": "gold", "name": "Gold", "entry_points": 1000, "retain_points": 800, "benefits": ["Free shipping"]},
    ]
}


def answer_before(user_id: int) -> bytes:
    """get-points' answer as the DRF view built it before the lean path: the account's balance
    as the write answers shape it (``balance_fields``) and the tier fields, rendered by the API's
    renderer."""
    balance = selectors.account_balance(user_id=user_id)
    fields = {"success": True, "user_id": user_id, **balance_fields(balance), **services.tier_fields(user_id)}
    return ORJSONRenderer().render(fields)


def earn(client, user_id: int, points: int) -> None:
    body = {"user_id": user_id, "points_earned": points, "reward_description": "lean"}
    assert client.post("/rewards-api/earn-points/", body, format="json").status_code == 201


def redeem(client, user_id: int, points: int) -> None:
    body = {"user_id": user_id, "points_redeemed": points, "coupon_amount": 5, "reward_description": "c"}
    assert client.post("/rewards-api/redeem-coupon/", body, format="json").status_code == 201


def lean_get(client, user_id: int):
    """A GET that must be the lean path's: one statement, the token's check with the answer
    (and ``last_used_at``'s update when it is stale)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{POINTS}?user_id={user_id}")
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith('UPDATE "loyalty_application"')]
    assert len(statements) == 1 and "points_answer(" in statements[0], statements
    return response


@pytest.fixture
def program(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


def test_the_answer_is_the_one_before_byte_for_byte_with_exact_figures(shop, reader, settings):
    settings.CREDIT_PENDING_DAYS = {"earn": 3}
    earn(shop, 501, 70)  # pending: next_available_at is set (with microseconds)
    settings.CREDIT_PENDING_DAYS = {}
    settings.POINTS_VALIDITY_DAYS = 10  # expiring within the notice window
    earn(shop, 502, 120)
    redeem(shop, 502, 50)

    for user_id in (501, 502, 503):  # 503 has no account: zeros
        response = lean_get(reader, user_id)
        assert response.status_code == 200
        assert response.content == answer_before(user_id)
    body = json.loads(lean_get(reader, 502).content)
    assert {key: body[key] for key in ("total_points", "total_points_earned", "total_points_redeemed")} == {
        "total_points": 70,
        "total_points_earned": 120,
        "total_points_redeemed": 50,
    }
    assert (body["pending_points"], body["expiring_points"], body["tier"], body["tier_progress"]) == (0, 70, None, None)
    assert body["next_expiry_at"].endswith("Z") and body["next_available_at"] is None
    pending = json.loads(lean_get(reader, 501).content)
    assert (pending["total_points"], pending["pending_points"], pending["next_available_at"][-1]) == (0, 70, "Z")
    assert lean_get(reader, 503).content == (
        b'{"success":true,"user_id":503,"total_points":0,"total_points_earned":0,"total_points_redeemed":0,'
        b'"pending_points":0,"next_available_at":null,"expiring_points":0,"next_expiry_at":null,'
        b'"tier":null,"tier_progress":null}'
    )


def test_a_tiered_customer_reads_the_same_answer_with_the_tier_filled_in(shop, reader, program):
    assert program.put("/loyalty-api/tiers", LADDER, format="json").status_code == 200
    order(shop, 60101, 150, user_id=601)  # a qualifying credit: silver at once

    response = reader.get(f"{POINTS}?user_id=601")
    posted = reader.post(POINTS, {"user_id": 601}, format="json")

    assert response.status_code == 200 and response.content == answer_before(601) == posted.content
    body = response.json()
    assert (body["total_points"], body["tier"]["code"], body["tier"]["multiplier"]) == (150, "silver", "1.5")
    assert list(body)[-2:] == ["tier", "tier_progress"] and body["tier_progress"] is not None
    assert reader.get(f"{POINTS}?user_id=602").content == answer_before(602)  # no account, lowest tier


def test_headers_and_content_type_are_the_drf_views(reader):
    lean = lean_get(reader, 1)
    drf = reader.post(POINTS, {"user_id": 1}, format="json")

    assert lean.content == drf.content
    names = {name for name in drf.headers if name != "X-Request-ID"}
    assert names == {name for name in lean.headers if name != "X-Request-ID"}
    assert {name: lean[name] for name in names} == {name: drf[name] for name in names}
    assert (lean["Content-Type"], lean["Allow"]) == ("application/json", "GET, POST, HEAD, OPTIONS")


def test_a_revoked_token_is_refused_on_the_next_request(reader_app, reader):
    assert lean_get(reader, 1).status_code == 200
    application_revoke(app_id=reader_app.pk)

    refused = reader.get(f"{POINTS}?user_id=1")
    assert refused.status_code == 401
    assert refused.json() == {
        "success": False,
        "error": {"code": "authentication_failed", "message": "Invalid or revoked token.", "fields": {}},
    }


@pytest.mark.parametrize("level", [AccessLevel.CAN_MANAGE_PROGRAM, AccessLevel.MASTER_APP])
def test_too_low_an_access_level_is_403_and_takes_nothing_from_the_bucket(level, settings):
    settings.API_THROTTLE_RATES = {"application": "1/min", "customer": None}
    cache.clear()
    client = client_for(ApplicationFactory(access_level=level))
    for _ in range(3):  # never 429: a refused request does not count
        response = client.get(f"{POINTS}?user_id=1")
        assert response.status_code == 403
        assert response.json()["error"] == {
            "code": "permission_denied",
            "message": "This application's access level does not allow this request.",
            "fields": {},
        }
    cache.clear()


def test_lean_and_drf_requests_of_one_application_share_its_bucket(shop_app, shop, settings):
    settings.API_THROTTLE_RATES = {"application": "4/min", "customer": None}
    cache.clear()
    statuses = [
        shop.get(f"{POINTS}?user_id=1").status_code,  # lean
        shop.post(POINTS, {"user_id": 1}, format="json").status_code,  # DRF
        shop.get(f"{POINTS}?user_id=1&as_of=2026-01-01").status_code,  # DRF (as_of)
        shop.get("/rewards-api/catalog/").status_code,  # another endpoint, same bucket
        shop.get(f"{POINTS}?user_id=1").status_code,  # lean, over the limit
        shop.post(POINTS, {"user_id": 1}, format="json").status_code,  # DRF, over the limit
    ]
    assert statuses == [200, 200, 200, 200, 429, 429]
    refused = shop.get(f"{POINTS}?user_id=1")
    assert refused.json()["error"]["code"] == "throttled" and 1 <= int(refused["Retry-After"]) <= 60
    cache.clear()


def test_in_redis_each_request_counts_once_and_invalid_tokens_leave_no_key(shop_app, reader_app, settings):
    settings.API_THROTTLE_RATES = {"application": "5/min", "customer": None}
    with override_settings(CACHES=REDIS):
        backend = caches["default"]
        backend.clear()
        redis = backend._cache.get_client()
        shop = client_for(shop_app)
        assert shop.get(f"{POINTS}?user_id=1").status_code == 200
        assert shop.post(POINTS, {"user_id": 1}, format="json").status_code == 200
        assert shop.get(f"{POINTS}?user_id=1&as_of=2026-01-01").status_code == 200
        (key,) = redis.keys(f"*throttle:application:{application_bucket(shop_app.token_hash).ident}:*")
        assert int(redis.get(key)) == 3

        stranger = client_for(None)
        stranger.credentials(HTTP_AUTHORIZATION="Bearer not-a-token-of-anyone-0123456789")
        assert stranger.get(f"{POINTS}?user_id=1").status_code == 401
        application_revoke(app_id=reader_app.pk)
        assert client_for(reader_app).get(f"{POINTS}?user_id=1").status_code == 401
        assert redis.keys("*throttle:*") == [key]
        backend.clear()


@pytest.mark.parametrize(
    "query, field",
    [
        ("user_id=abc", "user_id"),
        ("user_id=0", "user_id"),
        (f"user_id={2**63}", "user_id"),
        ("user_id=%2B5x", "user_id"),
        ("user_id=1&as_of=2999-01-01", "as_of"),
        ("", "user_id"),
    ],
)
def test_what_the_lean_path_does_not_take_is_answered_as_before(reader, query, field):
    with CaptureQueriesContext(connection) as queries:
        response = reader.get(f"{POINTS}?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error" and field in response.json()["error"]["fields"]
    assert not any("points_answer(" in query["sql"] for query in queries.captured_queries)


def test_other_requests_are_the_drf_views(shop, reader, post_json):
    earn(shop, 7, 40)
    as_of = reader.get(f"{POINTS}?user_id=7&as_of=2026-01-01")
    assert as_of.status_code == 200 and set(as_of.json()) >= {"as_of", "available_points"}
    posted = reader.post(POINTS, {"user_id": 7}, format="json")
    assert posted.status_code == 200 and posted.content == answer_before(7)
    assert reader.post(POINTS, {"user_id": "7"}, format="json").status_code == 400  # a string in JSON
    assert client_for(None).get(f"{POINTS}?user_id=7").status_code == 401
    malformed = client_for(None)
    malformed.credentials(HTTP_AUTHORIZATION="Basic abc")
    assert malformed.get(f"{POINTS}?user_id=7").json()["error"]["message"] == (
        "Malformed Authorization header; use 'Bearer <token>'."
    )


def test_the_request_log_names_the_application_and_last_used_at_moves(reader_app, reader, caplog):
    Application.objects.filter(pk=reader_app.pk).update(last_used_at=None)
    with caplog.at_level(logging.INFO, logger="rewards.requests"):
        assert reader.get(f"{POINTS}?user_id=1").status_code == 200
    (record,) = [r for r in caplog.records if r.name == "rewards.requests"]
    assert (record.app_id, record.status, record.path) == (str(reader_app.pk), 200, POINTS)
    assert Application.objects.get(pk=reader_app.pk).last_used_at is not None


USER_INFO = "/rewards-api/get-user-info/"


def test_get_user_infos_first_page_is_one_statement_with_the_drf_views_bytes(shop, reader, program):
    for points in (10, 20, 30):
        earn(shop, 701, points)
    redeem(shop, 701, 50)

    with CaptureQueriesContext(connection) as queries:
        lean = reader.get(f"{USER_INFO}?user_id=701&limit=2")
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith('UPDATE "loyalty_application"')]
    assert len(statements) == 1 and "answer_user_info(" in statements[0], statements
    drf = reader.post(USER_INFO, {"user_id": 701, "limit": 2}, format="json")  # the DRF view's
    assert lean.status_code == drf.status_code == 200 and lean.content == drf.content
    body = lean.json()
    assert (body["total_points"], body["total_points_redeemed"]) == (10, 50)
    assert [row["points_earned"] - row["points_redeemed"] for row in body["reward_history"]] == [-50, 30]
    assert body["has_more"] is True
    # The next page (a cursor) is the DRF view's, and goes on where the first stopped.
    rest = reader.get(f"{USER_INFO}?user_id=701&limit=2&cursor={body['next_cursor']}").json()
    assert [row["points_earned"] for row in rest["reward_history"]] == [20, 10] and rest["has_more"] is False

    # With a ladder set, the tier is put in place of the nulls, on both paths alike.
    assert program.put("/loyalty-api/tiers", LADDER, format="json").status_code == 200
    tiered = reader.get(f"{USER_INFO}?user_id=701")
    assert tiered.content == reader.post(USER_INFO, {"user_id": 701}, format="json").content
    assert tiered.json()["tier"]["code"] == "bronze"
    assert list(tiered.json())[9:12] == ["tier", "tier_progress", "badges"]


@pytest.mark.parametrize("query", ["user_id=701&limit=0", "user_id=701&limit=1001", "user_id=701&cursor=x"])
def test_get_user_info_queries_the_lean_path_does_not_take_get_todays_errors(reader, query):
    response = reader.get(f"{USER_INFO}?{query}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("query", ["user_id=1&user_id=2", "user_id=%31", "user_id=\uff11", "user_id=1&"])
def test_a_query_written_other_than_plainly_is_the_drf_views(reader, query):
    """Repeated, percent-encoded, full-width digits, an empty pair: DRF reads them as it always
    did (its answer whatever that is); the lean statement never runs for them."""
    with CaptureQueriesContext(connection) as queries:
        response = reader.get(f"{POINTS}?{query}")
    with_token = [q["sql"] for q in queries.captured_queries if "points_answer(" in q["sql"]]
    assert not any("loyalty_application" in sql for sql in with_token), with_token
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.content == answer_before(response.json()["user_id"])


def test_head_is_the_drf_views(reader):
    with CaptureQueriesContext(connection) as queries:
        response = reader.head(f"{POINTS}?user_id=1")
    assert response.status_code == 200 and response.content == b""
    assert not any("points_answer(" in q["sql"] and "loyalty_application" in q["sql"] for q in queries.captured_queries)
