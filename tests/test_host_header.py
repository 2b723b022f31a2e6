"""A Host header not in ALLOWED_HOSTS: API paths answer the API's JSON 400 with DEBUG on or off
(Django's own handler answers it only with DEBUG off; in DEBUG it showed its HTML page), and
nothing is written; the health checks answer whatever the Host."""

import pytest

from rewards.models import Account, Reward

EARN = {"user_id": 77, "points_earned": 5, "reward_description": "forged host"}


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/rewards-api/catalog/", None),
        ("post", "/rewards-api/earn-points/", EARN),
        ("get", "/loyalty-api/webhooks", None),
        ("get", "/rewards-api/no-such-endpoint/", None),
    ],
)
def test_an_api_path_refuses_a_disallowed_host_in_json(settings, shop, debug, method, path, body):
    settings.DEBUG = debug
    response = getattr(shop, method)(path, body, format="json", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "success": False,
        "error": {
            "code": "bad_request",
            "message": "The Host header names a host this service does not serve.",
            "fields": {},
        },
    }
    assert not Account.objects.exists()
    assert not Reward.objects.exists()


def test_an_allowed_host_is_served_in_debug(settings, shop):
    settings.DEBUG = True
    response = shop.post("/rewards-api/earn-points/", EARN, format="json", HTTP_HOST="localhost")
    assert response.status_code == 201, response.content
    assert Account.objects.get(user_id=77).total_points == 5


@pytest.mark.parametrize("debug", [True, False])
def test_the_site_keeps_djangos_answer(settings, client, debug):
    settings.DEBUG = debug
    response = client.get("/admin/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("debug", [True, False])
def test_health_answers_whatever_the_host(settings, client, debug):
    settings.DEBUG = debug
    assert client.get("/healthz", HTTP_HOST="container-3f2a:8000").status_code == 200
