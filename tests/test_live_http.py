"""What a real HTTP client sends, through a real gunicorn: chunked bodies, odd charsets,
any Host on the health paths. Django's test client can send none of these."""

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from loyalty.models import AccessLevel, Application
from rewards.models import Account, Reward, Rule
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db(transaction=True)

EARN = "/rewards-api/earn-points/"


def call(base: str, method: str, path: str, body=None, headers: dict | None = None, **kwargs):
    """One request; returns (status, headers, parsed JSON or raw text)."""
    conn = http.client.HTTPConnection(urlsplit(base).netloc, timeout=15)
    try:
        conn.request(method, path, body=body, headers=headers or {}, **kwargs)
        response = conn.getresponse()
        raw = response.read().decode()
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = raw
        return response.status, response.headers, payload
    finally:
        conn.close()


def chunks(data: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def auth(app: Application, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.token}", "Content-Type": "application/json", **extra}


def test_a_chunked_body_is_read_and_acted_on(server, committed_shop_app):
    body = json.dumps({"user_id": 77, "points_earned": 12, "reward_description": "chunked"}).encode()

    status, _, payload = call(server, "POST", EARN, chunks(body), auth(committed_shop_app), encode_chunked=True)

    assert status == 201, payload
    assert payload["total_points"] == 12
    assert Reward.objects.get(user_id=77).reward_description == "chunked"


def test_a_chunked_body_over_the_limit_is_413_and_writes_nothing(server, committed_shop_app):
    body = json.dumps({"user_id": 77, "points_earned": 12, "reward_description": "x" * 70_000}).encode()

    status, _, payload = call(server, "POST", EARN, chunks(body, 4096), auth(committed_shop_app), encode_chunked=True)

    assert status == 413
    assert payload["error"]["code"] == "payload_too_large"
    assert not Reward.objects.exists()


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("charset", ["base64", "hex_codec", "unknown-8"])
def test_a_charset_that_is_not_text_is_415_json_for_any_method(server, committed_shop_app, method, charset):
    headers = auth(committed_shop_app, **{"Content-Type": f"application/json; charset={charset}"})
    path = "/rewards-api/get-points/?user_id=5" if method == "GET" else EARN
    body = None if method == "GET" else b'{"user_id": 5, "points_earned": 1, "reward_description": "x"}'

    status, headers_out, payload = call(server, method, path, body, headers)

    assert status == 415, payload
    assert headers_out["Content-Type"] == "application/json"
    assert payload["error"]["code"] == "unsupported_charset"
    assert not Account.objects.exists()


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_paths_answer_whatever_the_host(server, path):
    status, _, payload = call(server, "GET", path, headers={"Host": "container-id-3f2a:8000"})
    assert status == 200
    assert payload["status"] == "ok"


def test_a_forged_host_elsewhere_is_refused_in_json(server, committed_shop_app):
    status, _, payload = call(server, "GET", "/rewards-api/catalog/", headers=auth(committed_shop_app, Host="evil"))
    assert status == 400
    assert payload["error"]["code"] == "bad_request"


def test_a_customer_session_link_never_uses_the_request_host(server, committed_shop_app):
    status, _, payload = call(
        server,
        "POST",
        "/rewards-api/customer-session/",
        json.dumps({"user_id": 5}),
        auth(committed_shop_app, Host="localhost", **{"X-Forwarded-Host": "evil.example"}),
    )
    assert status == 201
    assert payload["rewards_page_url"].startswith("/rewards-page/#token=cs_")


def test_a_request_line_over_the_servers_limit_is_414_json(server):
    status, headers, payload = call(server, "GET", "/rewards-api/get-points/?user_id=5&pad=" + "a" * 9000)
    assert status == 414
    assert headers["Content-Type"] == "application/json"
    assert payload["success"] is False and payload["error"]["code"] == "uri_too_long"


def test_a_request_the_server_cannot_parse_is_400_json(server):
    import socket

    host, port = urlsplit(server).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        raw = sock.recv(65536).decode()
    head, _, body = raw.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400")
    assert "Content-Type: application/json" in head
    assert json.loads(body)["success"] is False


RULES = "/loyalty-api/rules"
BONUS = {"name": "Bonus", "trigger": "order", "status": "active", "effect": {"type": "fixed", "points": 50}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("[1, 2]", "non_field_errors"),
        ('"a rule"', "non_field_errors"),
        (json.dumps({**BONUS, "conditions": [{"field": "channel", "op": "in", "value": ["w"] * 5000}]}), "conditions"),
        (json.dumps({**BONUS, "conditions": [{"field": "total_cost", "op": "gt", "value": {"$gt": 1}}]}), "conditions"),
        ('{"name": "Bonus", "trigger": "order", "effect": {"type": "fixed", "points": 1e400}}', "effect"),
        (json.dumps({**BONUS, "conditions": [{"field": "weekday", "op": "eq", "value": 1}] * 21}), "conditions"),
        (json.dumps({**BONUS, "effect": {"type": "rate", "value": "NaN"}}), "effect"),
        (json.dumps({**BONUS, "name": "x" * 101}), "name"),
    ],
)
def test_a_careless_rule_through_gunicorn_is_a_400_and_writes_nothing(server, committed_shop_app, body, field):
    program = ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program")

    status, _, payload = call(server, "POST", RULES, body.encode(), auth(program))

    assert status == 400, payload
    assert field in payload["error"]["fields"], payload
    assert Rule.objects.count() == 3


def test_a_rule_made_through_gunicorn_awards_the_next_order(server, committed_shop_app):
    program = ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program")
    created, _, rule = call(server, "POST", RULES, json.dumps(BONUS).encode(), auth(program))
    order = {"user_id": 78, "order_id": 9, "total_cost": 2000, "completed_at": 1_700_000_000}

    status, _, payload = call(
        server, "POST", "/loyalty-api/orders", json.dumps(order).encode(), auth(committed_shop_app)
    )

    assert (created, status) == (201, 201), payload
    assert [(award["rule_id"], award["points"]) for award in payload["breakdown"]][1:] == [(rule["id"], 50)]
    assert payload["points_awarded"] == 150
