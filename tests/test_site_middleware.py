"""Sessions, CSRF, the auth user and messages serve the site; API requests pass by them."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_an_api_request_with_a_session_cookie_gets_no_session_and_no_cookie(shop_app):
    api = client_for(shop_app)
    api.cookies["sessionid"] = "whatever"

    response = api.post(
        "/rewards-api/earn-points/", {"user_id": 8, "points_earned": 5, "reward_description": "x"}, format="json"
    )

    assert response.status_code == 201
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert not hasattr(response.wsgi_request, "session")


def test_the_admin_still_requires_its_csrf_token():
    user = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw-for-tests-only")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    refused = browser.post("/admin/logout/")
    page = browser.get("/admin/")

    assert refused.status_code == 403
    assert page.status_code == 200 and page.wsgi_request.user == user
    assert browser.post("/admin/logout/", {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value}).status_code in (
        200,
        302,
    )
