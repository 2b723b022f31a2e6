"""Idempotency-Key on rewards-api/ writes (Stripe's rules)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from loyalty.models import AccessLevel
from rewards.models import IdempotencyKey, RedeemedItem, Reward
from rewards.selectors import account_balance
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.factories import ApplicationFactory

USER = 6060
EARN = {"user_id": USER, "points_earned": 25, "reward_description": "event"}
COUPON = {"user_id": USER, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "c"}


def post(client, path: str, body: dict, key: str | None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(path, body, format="json", **headers)


@pytest.mark.django_db
class TestIdempotencyKey:
    def test_same_key_same_body_replays_and_writes_nothing(self, shop):
        first = post(shop, "/rewards-api/earn-points/", EARN, "key-0001")
        again = post(shop, "/rewards-api/earn-points/", EARN, "key-0001")

        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
        assert Reward.objects.count() == 1
        assert account_balance(user_id=USER).total_points == 25

    def test_coupon_replay_returns_the_same_code(self, shop):
        post(shop, "/rewards-api/earn-points/", {**EARN, "points_earned": 200}, None)
        first = post(shop, "/rewards-api/redeem-coupon/", COUPON, "coupon-1")
        again = post(shop, "/rewards-api/redeem-coupon/", COUPON, "coupon-1")

        assert again.json()["item_code"] == first.json()["item_code"]
        assert RedeemedItem.objects.count() == 1
        assert account_balance(user_id=USER).total_points == 150

    def test_same_key_other_body_is_422(self, shop):
        post(shop, "/rewards-api/earn-points/", EARN, "key-0002")
        other = post(shop, "/rewards-api/earn-points/", {**EARN, "points_earned": 26}, "key-0002")
        elsewhere = post(
            shop, "/rewards-api/submit-feedback/", {"user_id": USER, "reward_description": "x"}, "key-0002"
        )

        assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
        assert elsewhere.status_code == 422
        assert Reward.objects.count() == 1

    def test_keys_are_scoped_per_application(self, shop, shop_app):
        other_app = client_for(ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS))
        assert post(shop, "/rewards-api/earn-points/", EARN, "shared-key").status_code == 201
        replay = post(other_app, "/rewards-api/earn-points/", EARN, "shared-key")
        assert replay.status_code == 201 and "Idempotent-Replayed" not in replay
        assert Reward.objects.count() == 2

    def test_an_error_is_not_stored_so_a_retry_can_succeed(self, shop):
        refused = post(shop, "/rewards-api/redeem-coupon/", COUPON, "retry-me")
        post(shop, "/rewards-api/earn-points/", {**EARN, "points_earned": 60}, None)
        retried = post(shop, "/rewards-api/redeem-coupon/", COUPON, "retry-me")

        assert refused.status_code == 409
        assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
        assert IdempotencyKey.objects.get().response_status == 201

    def test_expired_key_is_new_again_and_purged(self, shop):
        post(shop, "/rewards-api/earn-points/", EARN, "old-key")
        IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

        again = post(shop, "/rewards-api/earn-points/", EARN, "old-key")
        assert again.status_code == 201 and "Idempotent-Replayed" not in again
        assert Reward.objects.count() == 2

        IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
        call_command("purge_idempotency_keys")
        assert IdempotencyKey.objects.count() == 0

    @pytest.mark.parametrize("key", ["has space", "x" * 256, "tab\there", "ünïcode"])
    def test_bad_key_is_400(self, shop, key):
        response = shop.generic(
            "POST",
            "/rewards-api/earn-points/",
            __import__("json").dumps(EARN),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key.encode("utf-8").decode("latin-1"),
        )
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["error"]["fields"]
        assert Reward.objects.count() == 0

    def test_customer_sessions_keys_do_not_collide(self, shop_app):
        from rest_framework.test import APIClient

        from loyalty.customers import customer_session_issue
        from rewards import services

        for user in (USER, USER + 1):
            services.points_earn(user_id=user, points=100, description="seed", app=shop_app)
        clients = []
        for user in (USER, USER + 1):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {customer_session_issue(user_id=user, app=shop_app).token}")
            clients.append(client)

        first = post(clients[0], "/rewards-api/redeem-coupon/", COUPON, "page-click-1")
        second = post(clients[1], "/rewards-api/redeem-coupon/", {**COUPON, "user_id": USER + 1}, "page-click-1")
        assert (first.status_code, second.status_code) == (201, 201)
        assert "Idempotent-Replayed" not in second

    def test_an_application_cannot_reach_into_a_customer_sessions_key_scope(self, shop, shop_app):
        """The scope is a column: a literal "customer:<id>:<key>" from the app is just its own key."""
        from rest_framework.test import APIClient

        from loyalty.customers import customer_session_issue
        from rewards import services

        services.points_earn(user_id=USER, points=200, description="seed", app=shop_app)
        customer = APIClient()
        customer.credentials(HTTP_AUTHORIZATION=f"Bearer {customer_session_issue(user_id=USER, app=shop_app).token}")

        by_customer = post(customer, "/rewards-api/redeem-coupon/", COUPON, "click-1")
        by_app = post(shop, "/rewards-api/redeem-coupon/", COUPON, f"customer:{USER}:click-1")
        app_earn = post(shop, "/rewards-api/earn-points/", EARN, f"customer:{USER}:click-2")
        customer_after = post(customer, "/rewards-api/redeem-coupon/", COUPON, "click-2")

        assert [r.status_code for r in (by_customer, by_app, app_earn, customer_after)] == [201, 201, 201, 201]
        assert not any("Idempotent-Replayed" in r for r in (by_app, customer_after))
        assert by_app.json()["item_code"] != by_customer.json()["item_code"]
        assert account_balance(user_id=USER).total_points == 200 - 50 - 50 + 25 - 50
        scopes = set(IdempotencyKey.objects.values_list("customer_user_id", "key"))
        assert scopes == {
            (USER, "click-1"),
            (USER, "click-2"),
            (None, f"customer:{USER}:click-1"),
            (None, f"customer:{USER}:click-2"),
        }


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_do_the_work_once(committed_shop_app):
    app = committed_shop_app

    responses = run_concurrently(lambda i: post(client_for(app), "/rewards-api/earn-points/", EARN, "race-key"), 8)

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    assert sum(1 for r in created if "Idempotent-Replayed" not in r) == 1
    assert Reward.objects.count() == 1
    assert account_balance(user_id=USER).total_points == 25
