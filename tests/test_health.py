"""Health, readiness, request ids and the request log."""

import json
import logging

import pytest
from rest_framework.test import APIClient

from core.logging import JsonFormatter

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_is_up(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = APIClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_when_the_database_does():
    response = APIClient().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "replica": "none", "replica_lag_seconds": None}


def test_request_id_is_returned_and_propagated():
    fresh = APIClient().get("/healthz")
    given = APIClient().get("/healthz", HTTP_X_REQUEST_ID="trace-1234abcd")
    hostile = APIClient().get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert len(fresh["X-Request-ID"]) == 32
    assert given["X-Request-ID"] == "trace-1234abcd"
    assert hostile["X-Request-ID"] != "bad id\nwith newline" and len(hostile["X-Request-ID"]) == 32


def test_one_request_line_with_id_app_status_and_duration(shop, shop_app, caplog):
    with caplog.at_level(logging.INFO, logger="rewards.requests"):
        response = shop.get("/rewards-api/get-points/?user_id=5", HTTP_X_REQUEST_ID="req-abcdef12")

    lines = [r for r in caplog.records if r.name == "rewards.requests"]
    assert len(lines) == 1
    record = lines[0]
    assert response["X-Request-ID"] == "req-abcdef12"
    assert (record.request_id, record.app_id, record.status) == ("req-abcdef12", str(shop_app.pk), 200)
    assert record.path == "/rewards-api/get-points/" and record.duration_ms >= 0
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == "req-abcdef12" and entry["app_id"] == str(shop_app.pk)


def test_no_log_line_carries_a_token(shop_app, master_app, caplog):
    from tests.conftest import client_for

    secrets = [shop_app.token, master_app.token]
    with caplog.at_level(logging.DEBUG):
        shop = client_for(shop_app)
        shop.post(
            "/rewards-api/earn-points/", {"user_id": 1, "points_earned": 5, "reward_description": "x"}, format="json"
        )
        session = shop.post("/rewards-api/customer-session/", {"user_id": 1}, format="json").json()["token"]
        secrets.append(session)
        APIClient().get("/rewards-api/get-points/?user_id=1", HTTP_AUTHORIZATION=f"Bearer {session}")
        created = (
            client_for(master_app)
            .post("/loyalty-api/application", {"application_name": "n", "access_level": "Can_Read"}, format="json")
            .json()["token"]
        )
        secrets.append(created)
        APIClient().get("/rewards-api/get-points/?user_id=1", HTTP_AUTHORIZATION="Bearer wrong-token-value-123")
        APIClient().get("/rewards-api/get-points/?user_id=1", HTTP_TOKEN=shop_app.token)
        secrets.append("wrong-token-value-123")

    text = "\n".join([r.getMessage() for r in caplog.records] + [JsonFormatter().format(r) for r in caplog.records])
    assert len([r for r in caplog.records if r.name == "rewards.requests"]) == 6
    for secret in secrets:
        assert secret not in text


def test_serving_refuses_the_development_secret_key():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env |= {"DJANGO_SETTINGS_MODULE": "rewards_project.settings", "DEBUG": "0"}
    result = subprocess.run(
        [sys.executable, "-c", "import rewards_project.wsgi"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr
