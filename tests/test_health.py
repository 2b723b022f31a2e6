import pytest
from django.db import connection
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db, pytest.mark.flow]


def test_healthz_answers_when_the_database_does():
    response = APIClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_fails(monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("server closed the connection")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = APIClient().get("/healthz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
