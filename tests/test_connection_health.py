"""A persistent connection is checked before each request's first query without a round trip
while it is quiet, and still replaced when the server has closed it.

The backend is core.postgresql.
"""

import time
from unittest import mock

import psycopg2
import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_postgresql

from core.postgresql.base import has_pending_input
from tests.live import live_database_url
from tests.test_live_http import auth, call

pytestmark = pytest.mark.django_db(transaction=True)


def terminate_other_backends() -> int:
    """Close every other session on the test database, as a server restart would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_quiet_connection_is_usable_without_a_query():
    connection.ensure_connection()
    with mock.patch.object(django_postgresql.DatabaseWrapper, "is_usable", side_effect=AssertionError("queried")):
        assert connection.is_usable() is True


def test_a_connection_the_server_closed_is_replaced_before_it_is_used():
    connection.ensure_connection()
    old_pid = connection.connection.get_backend_pid()
    with psycopg2.connect(live_database_url().replace("postgres://", "postgresql://")) as other:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [old_pid])
    deadline = time.monotonic() + 5
    while not has_pending_input(connection.connection.fileno()) and time.monotonic() < deadline:
        time.sleep(0.01)

    assert connection.is_usable() is False
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old_pid


def test_a_server_keeps_answering_after_its_database_sessions_are_killed(server, committed_shop_app):
    path = "/rewards-api/get-points/?user_id=5"
    assert call(server, "GET", path, headers=auth(committed_shop_app))[0] == 200
    assert terminate_other_backends() >= 1  # the server's persistent connection
    time.sleep(0.2)

    status, _, payload = call(server, "GET", path, headers=auth(committed_shop_app))

    assert status == 200, payload
    assert payload["total_points"] == 0
