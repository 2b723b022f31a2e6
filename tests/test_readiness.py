"""Readiness with the database really down."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_readyz_is_503_when_the_database_is_down():
    # A real failed connection: point the connection at a port nothing listens on.
    connection.close()
    original = connection.settings_dict.copy()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "1", "NAME": "nowhere"})
    try:
        response = APIClient().get("/readyz")
        health = APIClient().get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert health.status_code == 200


def test_api_call_with_the_database_down_is_a_json_503(shop_app):
    from tests.conftest import client_for

    client = client_for(shop_app)
    connection.close()
    original = connection.settings_dict.copy()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "1"})
    try:
        response = client.get("/rewards-api/get-points/?user_id=1")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response["Retry-After"] == "5"
