"""loyalty-api/orders and user over HTTP: points, retries, returns, one balance with rewards-api."""

import pytest

from loyalty.models import Order, OrderCounter
from rewards.models import Account, Reward
from rewards.selectors import ledger_drift

pytestmark = pytest.mark.django_db

USER = 501
T0 = 1_700_000_000


def order(order_id: int, total_cost: int = 1000, user_id: int = USER, completed_at: int = T0) -> dict:
    return {"user_id": user_id, "order_id": order_id, "total_cost": total_cost, "completed_at": completed_at}


def post_order(shop, body: dict):
    return shop.post("/loyalty-api/orders", body, format="json")


def return_order(shop, order_id: int):
    return shop.delete("/loyalty-api/orders", {"order_id": order_id}, format="json")


def test_order_earns_five_percent_and_stores_coefficient(shop):
    response = post_order(shop, order(1, total_cost=1999))

    assert response.status_code == 201
    body = response.json()
    assert body["points_awarded"] == 99  # floor(1999 * 0.05)
    assert body["coefficient"] == 1.0
    assert (body["current_balance"], body["total_points"]) == (99, 99)
    assert (body["order_id"], body["user_id"], body["total_cost"], body["completed_at"]) == (1, USER, 1999, T0)
    stored = Order.objects.get(order_id=1)
    assert (stored.points_awarded, str(stored.coefficient), stored.returned_at) == (99, "1.000000", None)
    assert int(stored.completed_at.timestamp()) == T0
    [award] = stored.awards.select_related("credit")
    assert award.credit.points_earned == award.points == 99 and award.credit.kind == "order"
    assert award.credit.rule.name == "Points for orders" and award.credit.rule_version == 1
    assert body["breakdown"] == [
        {"rule_id": award.credit.rule_id, "rule_name": "Points for orders", "version": 1, "points": 99}
    ]


def test_order_points_show_in_rewards_history_and_one_balance(shop):
    post_order(shop, order(10, total_cost=400))  # 20 points
    shop.post(
        "/rewards-api/earn-points/",
        {"user_id": USER, "points_earned": 35, "reward_description": "Event"},
        format="json",
    )

    info = shop.get(f"/rewards-api/get-user-info/?user_id={USER}").json()
    user = shop.get(f"/loyalty-api/user?user_id={USER}").json()

    assert info["total_points"] == user["current_balance"] == 55
    assert [h["reward_description"] for h in info["reward_history"]] == ["Event", "Order 10"]
    assert info["reward_history"][1]["points_earned"] == 20


def test_same_order_again_is_a_safe_retry(shop):
    first = post_order(shop, order(2))
    rows = Reward.objects.count()

    again = post_order(shop, order(2))

    assert again.status_code == 200
    for key in ("order_id", "points_awarded", "coefficient", "current_balance"):
        assert again.json()[key] == first.json()[key]
    assert Reward.objects.count() == rows
    assert OrderCounter.objects.get(user_id=USER).orders_placed == 1
    assert Account.objects.get(user_id=USER).total_points_earned == 50


@pytest.mark.parametrize("changed", [{"total_cost": 1001}, {"user_id": USER + 1}, {"completed_at": T0 + 1}])
def test_same_order_id_with_another_body_is_409(shop, changed):
    post_order(shop, order(3))
    rows = Reward.objects.count()

    response = post_order(shop, {**order(3), **changed})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_conflict"
    assert Reward.objects.count() == rows


def test_return_takes_points_back_and_keeps_the_order(shop):
    post_order(shop, order(4, total_cost=600))  # 30 points

    response = return_order(shop, 4)

    assert response.status_code == 200
    body = response.json()
    assert (body["points_taken_back"], body["current_balance"], body["returned"]) == (30, 0, True)
    stored = Order.objects.get(order_id=4)
    assert stored.returned_at is not None
    assert (stored.return_reward.kind, stored.return_reward.points_redeemed) == ("order_return", 30)
    assert stored.return_reward.reward_description == "Order 4 returned"
    assert OrderCounter.objects.get(user_id=USER).orders_returned == 1


def test_return_by_path_and_second_return_is_409(shop):
    post_order(shop, order(5))

    first = shop.delete("/loyalty-api/orders/5")
    second = shop.delete("/loyalty-api/orders/5/")

    assert first.status_code == 200
    assert second.status_code == 409 and second.json()["error"]["code"] == "order_already_returned"
    assert Reward.objects.filter(kind="order_return").count() == 1


def test_unknown_order_return_is_404(shop):
    response = return_order(shop, 999)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
    assert Reward.objects.count() == 0


def test_return_may_leave_balance_negative_and_redemptions_are_refused(shop):
    post_order(shop, order(6, total_cost=2000))  # 100 points
    shop.post(
        "/rewards-api/redeem-coupon/",
        {"user_id": USER, "points_redeemed": 100, "coupon_amount": 10, "reward_description": "c"},
        format="json",
    )

    returned = return_order(shop, 6)
    assert returned.json()["current_balance"] == -100

    shop.post(
        "/rewards-api/earn-points/", {"user_id": USER, "points_earned": 120, "reward_description": "e"}, format="json"
    )
    refused = shop.post(
        "/rewards-api/redeem-coupon/",
        {"user_id": USER, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "c"},
        format="json",
    )
    assert refused.status_code == 409  # balance 20
    assert shop.get(f"/loyalty-api/user?user_id={USER}").json()["current_balance"] == 20
    assert ledger_drift() == []


def test_penalty_applies_after_returns(shop):
    # placed 4, returned 2 before the fifth order: coef 0.8, 100 * 0.05 * 0.8 = 4 points
    for order_id in range(1, 5):
        post_order(shop, order(order_id, total_cost=100))
    return_order(shop, 1)
    return_order(shop, 2)

    response = post_order(shop, order(5, total_cost=100))

    assert response.json()["coefficient"] == 0.8
    assert response.json()["points_awarded"] == 4
    assert Order.objects.get(order_id=5).points_awarded == 4


def test_three_returned_of_three_gives_45_for_2000(shop):
    for order_id in range(1, 4):
        post_order(shop, order(order_id, total_cost=20))
        return_order(shop, order_id)

    response = post_order(shop, order(4, total_cost=2000))

    assert (response.json()["coefficient"], response.json()["points_awarded"]) == (0.45, 45)


def test_zero_cost_order_earns_nothing_but_counts(shop):
    response = post_order(shop, order(7, total_cost=0))
    assert (response.status_code, response.json()["points_awarded"]) == (201, 0)
    assert OrderCounter.objects.get(user_id=USER).orders_placed == 1


def test_user_never_seen_is_404(reader):
    response = reader.get("/loyalty-api/user?user_id=123456")
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_user_seen_through_rewards_api_has_a_balance(shop, reader):
    shop.post("/rewards-api/submit-feedback/", {"user_id": USER, "reward_description": "Nice"}, format="json")
    assert reader.get(f"/loyalty-api/user/?user_id={USER}").json()["current_balance"] == 10


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**order(1), "order_id": "1"}, "order_id"),
        ({**order(1), "order_id": 0}, "order_id"),
        ({**order(1), "total_cost": -1}, "total_cost"),
        ({**order(1), "total_cost": 10.5}, "total_cost"),
        ({**order(1), "total_cost": True}, "total_cost"),
        ({**order(1), "completed_at": -5}, "completed_at"),
        ({**order(1), "completed_at": 10**13}, "completed_at"),
        ({**order(1), "completed_at": "2024-01-01"}, "completed_at"),
        ({**order(1), "user_id": None}, "user_id"),
        ({"order_id": 1}, "user_id"),
    ],
)
def test_bad_order_body_is_400_and_writes_nothing(shop, body, field):
    response = post_order(shop, body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Order.objects.count() == 0 and Reward.objects.count() == 0


@pytest.mark.parametrize("target", ["/loyalty-api/orders/abc", "/loyalty-api/orders/-1", "/loyalty-api/orders/0"])
def test_bad_order_id_in_path_is_400(shop, target):
    assert shop.delete(target).status_code == 400


@pytest.mark.parametrize("query", ["", "user_id=x", "user_id=0"])
def test_bad_user_query_is_400(reader, query):
    assert reader.get(f"/loyalty-api/user?{query}").status_code == 400
