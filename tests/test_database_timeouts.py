"""A request never outlives its answer: bounded connect, statement and lock waits.

These are PostgreSQL sessions' settings.
"""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from rewards import services
from rewards.models import Account, Reward
from rewards.selectors import account_balance
from rewards_project.settings import postgres_session_options
from tests.conftest import client_for
from tests.live import live_database_url

USER = 4242


@contextmanager
def connection_settings(**changes) -> Iterator[None]:
    """Reconnect this thread's connection with other settings, and back after."""
    connection.close()
    original = {key: connection.settings_dict[key] for key in ("HOST", "PORT", "NAME")}
    original_options = dict(connection.settings_dict["OPTIONS"])
    options = changes.pop("OPTIONS", {})
    connection.settings_dict.update(changes)
    connection.settings_dict["OPTIONS"].update(options)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(original)
        connection.settings_dict["OPTIONS"].clear()
        connection.settings_dict["OPTIONS"].update(original_options)


@pytest.mark.django_db
def test_every_session_has_the_configured_timeouts():
    with connection.cursor() as cursor:
        shown = {}
        for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"):
            cursor.execute(f"SELECT setting::int FROM pg_settings WHERE name = '{name}'")
            shown[name] = cursor.fetchone()[0]
    assert shown == {
        "statement_timeout": settings.DB_STATEMENT_TIMEOUT_MS,
        "lock_timeout": settings.DB_LOCK_TIMEOUT_MS,
        "idle_in_transaction_session_timeout": settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    }
    assert connection.settings_dict["OPTIONS"]["connect_timeout"] == settings.DB_CONNECT_TIMEOUT
    # Each wait is bounded well below gunicorn's 30 s worker timeout.
    assert 0 < settings.DB_LOCK_TIMEOUT_MS <= settings.DB_STATEMENT_TIMEOUT_MS < 30_000
    assert 0 < settings.DB_CONNECT_TIMEOUT * 1000 < 30_000


@contextmanager
def account_row_locked(user_id: int) -> Iterator[None]:
    """Another session holds the customer's account row lock until the block ends."""
    other = psycopg2.connect(live_database_url())
    try:
        with other.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {Account._meta.db_table} WHERE user_id = %s FOR UPDATE", [user_id])
        yield
    finally:
        other.rollback()
        other.close()


LOCK_TIMEOUT_MS = 400
SHORT_LOCK = {
    "OPTIONS": {
        "options": postgres_session_options(statement_ms=5000, lock_ms=LOCK_TIMEOUT_MS, idle_in_transaction_ms=10000)
    }
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/rewards-api/earn-points/", {"user_id": USER, "points_earned": 5, "reward_description": "x"}),
        (
            "/rewards-api/redeem-coupon/",
            {"user_id": USER, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "c"},
        ),
        ("/loyalty-api/orders", {"user_id": USER, "order_id": 91, "total_cost": 400, "completed_at": 1_700_000_000}),
    ],
)
def test_a_write_behind_a_held_lock_answers_503_in_time_and_writes_nothing(committed_shop_app, path, body):
    services.points_earn(user_id=USER, points=100, description="seed", app=committed_shop_app)
    rows_before = Reward.objects.count()
    client = client_for(committed_shop_app)

    with connection_settings(**SHORT_LOCK), account_row_locked(USER):
        started = time.monotonic()
        response = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=f"k-{path}")
        waited = time.monotonic() - started

    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "resource_busy"
    assert LOCK_TIMEOUT_MS / 1000 <= waited < LOCK_TIMEOUT_MS / 1000 + 2
    # The lock is gone now: had the request's write survived, it would show.
    time.sleep(0.2)
    assert Reward.objects.count() == rows_before
    assert account_balance(user_id=USER).total_points == 100
    # And the retry (same key) does the work once.
    retry = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=f"k-{path}")
    assert retry.status_code == 201, retry.content
    assert Reward.objects.count() == rows_before + 1


@contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for sock in accepted:
            sock.close()
        server.close()


@pytest.mark.django_db
def test_a_database_that_never_answers_gives_503_within_the_connect_timeout(shop_app):
    client = client_for(shop_app)
    with silent_listener() as port, connection_settings(PORT=str(port), OPTIONS={"connect_timeout": 2}):
        started = time.monotonic()
        ready = APIClient().get("/readyz")
        ready_time = time.monotonic() - started
        started = time.monotonic()
        api = client.get(f"/rewards-api/get-points/?user_id={USER}")
        api_time = time.monotonic() - started

    assert ready.status_code == 503 and ready.json()["error"]["code"] == "database_unavailable"
    assert api.status_code == 503 and api.json()["error"]["code"] == "database_unavailable"
    assert api["Retry-After"] == "5"
    # libpq's connect_timeout (2 s) bounds each; without it both hung for the OS's TCP timeout.
    assert ready_time < 5 and api_time < 5
