"""An API answer's headers, pinned whole (names, values, order): the middleware, parsing and DRF
layers every request passes may be made cheaper, never different."""

import re

import pytest
from django.test import override_settings

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

# What the site's middleware adds to every API answer after the view's own headers.
EDGE = [
    ("X-Frame-Options", "DENY"),
    ("Content-Length", None),  # checked against the body
    ("Vary", "origin"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("X-Request-ID", None),  # a fresh id: 32 hex digits
]


def headers_of(response) -> list[tuple[str, str | None]]:
    """The answer's headers in order; Content-Length and X-Request-ID checked here, then blanked."""
    found = list(response.headers.items())
    assert response.headers["Content-Length"] == str(len(response.content))
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    return [(name, None if name in ("Content-Length", "X-Request-ID") else value) for name, value in found]


EARN = {"user_id": 8, "points_earned": 5, "reward_description": "x"}


def test_a_write_and_its_replay(shop_app):
    api = client_for(shop_app)

    created = api.post("/rewards-api/earn-points/", EARN, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    replayed = api.post("/rewards-api/earn-points/", EARN, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert created.status_code == replayed.status_code == 201
    assert headers_of(created) == [("Content-Type", "application/json"), ("Allow", "POST, OPTIONS"), *EDGE]
    assert headers_of(replayed) == [
        ("Content-Type", "application/json"),
        ("Idempotent-Replayed", "true"),
        ("Allow", "POST, OPTIONS"),
        *EDGE,
    ]
    assert replayed.json() == created.json()


def test_a_read(shop_app):
    response = client_for(shop_app).get("/rewards-api/get-points/?user_id=8")

    assert response.status_code == 200
    assert headers_of(response) == [("Content-Type", "application/json"), ("Allow", "GET, POST, HEAD, OPTIONS"), *EDGE]


def test_refusals(shop_app):
    api = client_for(shop_app)
    invalid = api.post("/rewards-api/earn-points/", {**EARN, "points_earned": "5"}, format="json")
    malformed = api.post("/rewards-api/earn-points/", b"{", content_type="application/json")
    unsupported = api.post("/rewards-api/earn-points/", b"{}", content_type="text/plain")
    anonymous = client_for(None).get("/rewards-api/get-points/?user_id=8")
    missing = api.get("/rewards-api/nothing-here/")

    assert [r.status_code for r in (invalid, malformed, unsupported, anonymous, missing)] == [400, 400, 415, 401, 404]
    for response in (invalid, malformed, unsupported):
        assert headers_of(response) == [("Content-Type", "application/json"), ("Allow", "POST, OPTIONS"), *EDGE]
    assert headers_of(anonymous) == [
        ("Content-Type", "application/json"),
        ("WWW-Authenticate", 'Bearer realm="api"'),
        ("Allow", "GET, POST, HEAD, OPTIONS"),
        *EDGE,
    ]
    assert headers_of(missing) == [("Content-Type", "application/json"), *EDGE]
    assert invalid.content == (
        b'{"success":false,"error":{"code":"validation_error","message":"Invalid input.","fields":'
        b'{"points_earned":["A whole number is required (not a string, decimal or boolean)."]}}}'
    )
    assert malformed.content == (
        b'{"success":false,"error":{"code":"malformed_json","message":"The request body is not valid JSON: '
        b'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)","fields":{}}}'
    )
    assert unsupported.content == (
        b'{"success":false,"error":{"code":"unsupported_media_type",'
        b'"message":"Unsupported media type \\"text/plain\\" in request.","fields":{}}}'
    )


@override_settings(CORS_ALLOWED_ORIGINS=["https://shop.example"])
def test_a_cross_origin_write(shop_app):
    response = client_for(shop_app).post(
        "/rewards-api/earn-points/", EARN, format="json", HTTP_ORIGIN="https://shop.example"
    )

    assert response.status_code == 201
    assert headers_of(response) == [
        ("Content-Type", "application/json"),
        ("Allow", "POST, OPTIONS"),
        ("X-Frame-Options", "DENY"),
        ("Content-Length", None),
        ("Vary", "origin"),
        ("access-control-allow-origin", "https://shop.example"),
        *EDGE[3:],
    ]


def test_health_answers_with_its_own_few_headers():
    response = client_for(None).get("/healthz")

    assert response.headers["Content-Type"] == "application/json"
    assert [name for name, _ in response.headers.items()] == ["Content-Type", "X-Request-ID"]


def test_an_origin_not_allowed_gets_only_the_vary(shop_app):
    response = client_for(shop_app).post(
        "/rewards-api/earn-points/", EARN, format="json", HTTP_ORIGIN="https://else.example"
    )

    assert response.status_code == 201
    assert headers_of(response) == [("Content-Type", "application/json"), ("Allow", "POST, OPTIONS"), *EDGE]


@override_settings(CORS_ALLOWED_ORIGINS=["https://shop.example"])
def test_a_preflight(shop_app):
    response = client_for(None).options(
        "/rewards-api/earn-points/", HTTP_ORIGIN="https://shop.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )

    assert response.status_code == 200 and response.content == b""
    assert [name for name, _ in response.headers.items()] == [
        "content-length",
        "Content-Type",
        "Vary",
        "access-control-allow-origin",
        "access-control-allow-headers",
        "access-control-allow-methods",
        "access-control-max-age",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
        "X-Request-ID",
    ]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/*"])
def test_a_body_whose_type_names_json_otherwise_is_read_as_json(shop_app, content_type):
    response = client_for(shop_app).post(
        "/rewards-api/earn-points/",
        b'{"user_id": 8, "points_earned": 5, "reward_description": "x"}',
        content_type=content_type,
    )

    assert response.status_code == 201, response.content
    assert response.json()["total_points"] == 5
