"""rewards-api/ over HTTP: status codes, exact bodies, history paging."""

import pytest

from rewards.models import Reward

pytestmark = pytest.mark.django_db

USER = 1001


def earn(post_json, points: int, user_id: int = USER, description: str = "Event"):
    return post_json(
        "/rewards-api/earn-points/",
        {"user_id": user_id, "points_earned": points, "reward_description": description},
    )


def test_earn_points_answers_201_with_row_and_balance(post_json):
    response = earn(post_json, 25, description="Attended launch")

    assert response.status_code == 201
    body = response.json()
    row = Reward.objects.get()
    assert body["success"] is True
    assert body["message"] == "Earned 25 points."

    assert body["total_points"] == 25
    assert (body["id"], body["user_id"], body["kind"]) == (row.id, USER, "earn")
    assert (body["points_earned"], body["points_redeemed"]) == (25, 0)
    assert body["reward_description"] == "Attended launch"
    assert body["earned_date"] is not None and body["redeemed_date"] is None


@pytest.mark.parametrize("field", ["amount", "price"])
def test_purchase_earns_floor_of_twice_the_amount(post_json, field):
    response = post_json("/rewards-api/purchase/", {"user_id": USER, "reward_description": "Shoes", field: 64.75})

    assert response.status_code == 201
    assert response.json()["points_earned"] == 129
    assert response.json()["total_points"] == 129
    assert "129 points" in response.json()["message"]


def test_purchase_amount_as_string_is_exact(post_json):
    response = post_json("/rewards-api/purchase/", {"user_id": USER, "reward_description": "x", "amount": "0.29"})
    assert response.status_code == 201
    assert response.json()["points_earned"] == 0


def test_purchase_with_conflicting_amount_and_price_is_refused(post_json):
    response = post_json(
        "/rewards-api/purchase/", {"user_id": USER, "reward_description": "x", "amount": 5, "price": 6}
    )
    assert response.status_code == 400
    assert "price" in response.json()["error"]["fields"]
    assert Reward.objects.count() == 0


def test_submit_feedback_gives_ten_points(post_json):
    response = post_json("/rewards-api/submit-feedback/", {"user_id": USER, "reward_description": "Review"})

    assert response.status_code == 201
    assert (response.json()["points_earned"], response.json()["total_points"]) == (10, 10)
    assert response.json()["kind"] == "feedback"


def test_redeem_coupon_returns_code_in_message_and_body(post_json):
    earn(post_json, 120)

    response = post_json(
        "/rewards-api/redeem-coupon/",
        {"user_id": USER, "points_redeemed": 100, "coupon_amount": 10.00, "reward_description": "Coupon"},
    )

    assert response.status_code == 201
    body = response.json()
    code = body["item_code"]
    assert len(code) == 16
    assert code in body["message"]
    assert body["total_points"] == 20
    assert (body["points_redeemed"], body["is_active"], body["kind"]) == (100, True, "coupon")
    assert body["redeemed_item"] == {
        "item_code": code,
        "item_description": "$10 coupon",
        "amount": 10.0,
        "state": "active",
        "valid_until": None,
    }


def test_redeem_donation_is_inactive(post_json):
    earn(post_json, 50)

    response = post_json(
        "/rewards-api/redeem-donation/",
        {"user_id": USER, "points_redeemed": 50, "donation_amount": "5.00", "reward_description": "Give"},
    )

    assert response.status_code == 201
    assert (response.json()["is_active"], response.json()["total_points"]) == (False, 0)


def test_insufficient_points_is_409_with_exact_message_and_writes_nothing(post_json):
    earn(post_json, 49)

    response = post_json(
        "/rewards-api/redeem-coupon/",
        {"user_id": USER, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "Coupon"},
    )

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": {
            "code": "insufficient_points",
            "message": "You do not have enough points to redeem this reward.",
            "fields": {},
        },
    }
    assert Reward.objects.count() == 1


def test_redemption_not_in_catalog_is_400(post_json):
    earn(post_json, 500)
    response = post_json(
        "/rewards-api/redeem-coupon/",
        {"user_id": USER, "points_redeemed": 1, "coupon_amount": 500, "reward_description": "Cheap"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_matching_catalog_item"
    assert Reward.objects.count() == 1


def test_use_coupon_then_again_is_409_and_unknown_is_404(post_json):
    earn(post_json, 50)
    code = post_json(
        "/rewards-api/redeem-coupon/",
        {"user_id": USER, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "c"},
    ).json()["item_code"]

    first = post_json("/rewards-api/use-coupon/", {"item_code": code})
    second = post_json("/rewards-api/use-coupon/", {"item_code": code})
    unknown = post_json("/rewards-api/use-coupon/", {"item_code": "ZZZZZZZZZZZZZZZZ"})

    assert first.status_code == 200
    assert first.json()["is_active"] is False and first.json()["item_code"] == code
    assert second.status_code == 409 and second.json()["error"]["code"] == "coupon_already_used"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "coupon_not_found"


def test_catalog_lists_the_four_default_options(reader):
    response = reader.get("/rewards-api/catalog/")

    assert response.status_code == 200
    options = {(i["kind"], i["points_cost"], i["amount"]) for i in response.json()["catalog"]}
    assert options == {("coupon", 50, 5.0), ("coupon", 100, 10.0), ("donation", 50, 5.0), ("donation", 100, 10.0)}


@pytest.mark.parametrize("method", ["get", "post"])
def test_get_points_by_get_or_post(shop, post_json, method):
    earn(post_json, 70)
    post_json(
        "/rewards-api/redeem-donation/",
        {"user_id": USER, "points_redeemed": 50, "donation_amount": 5, "reward_description": "d"},
    )

    if method == "get":
        response = shop.get(f"/rewards-api/get-points/?user_id={USER}")
    else:
        response = shop.post("/rewards-api/get-points/", {"user_id": USER}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["total_points"], body["total_points_earned"], body["total_points_redeemed"]) == (20, 70, 50)


def test_unknown_user_reads_as_zero_and_empty(reader):
    points = reader.get("/rewards-api/get-points/?user_id=999").json()
    info = reader.get("/rewards-api/get-user-info/?user_id=999").json()
    redemptions = reader.get("/rewards-api/get-redemptions/?user_id=999").json()

    assert (points["total_points"], points["total_points_earned"], points["total_points_redeemed"]) == (0, 0, 0)
    assert info["reward_history"] == [] and info["total_points"] == 0 and info["has_more"] is False
    assert redemptions["redemption_history"] == [] and redemptions["next_cursor"] is None


def test_get_redemptions_newest_first_with_item_and_status(shop, post_json):
    earn(post_json, 200)
    coupon = post_json(
        "/rewards-api/redeem-coupon/",
        {"user_id": USER, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "first"},
    ).json()
    post_json(
        "/rewards-api/redeem-donation/",
        {"user_id": USER, "points_redeemed": 100, "donation_amount": 10, "reward_description": "second"},
    )

    history = shop.get(f"/rewards-api/get-redemptions/?user_id={USER}").json()["redemption_history"]

    assert [h["reward_description"] for h in history] == ["second", "first"]
    assert history[0]["is_active"] is False and history[0]["points_redeemed"] == 100
    assert history[1]["is_active"] is True and history[1]["redeemed_date"]
    assert history[1]["redeemed_item"] == {
        "item_code": coupon["item_code"],
        "item_description": "$5 coupon",
        "amount": 5.0,
        "state": "active",
        "valid_until": None,
    }


def test_get_user_info_totals_and_history(shop, post_json):
    earn(post_json, 60, description="one")
    post_json("/rewards-api/submit-feedback/", {"user_id": USER, "reward_description": "two"})
    post_json(
        "/rewards-api/redeem-coupon/",
        {"user_id": USER, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "three"},
    )

    body = shop.post("/rewards-api/get-user-info/", {"user_id": USER}, format="json").json()

    assert (body["total_points"], body["total_points_earned"], body["total_points_redeemed"]) == (20, 70, 50)
    history = body["reward_history"]
    assert [(h["reward_description"], h["points_earned"], h["points_redeemed"]) for h in history] == [
        ("three", 0, 50),
        ("two", 10, 0),
        ("one", 60, 0),
    ]
    assert history[0]["redeemed_date"] and history[0]["earned_date"] is None
    assert history[2]["earned_date"] and history[2]["redeemed_date"] is None


def test_history_pages_with_limit_and_cursor(shop, post_json):
    for i in range(5):
        earn(post_json, i + 1, description=f"e{i}")

    first = shop.get(f"/rewards-api/get-user-info/?user_id={USER}&limit=2").json()
    second = shop.get(f"/rewards-api/get-user-info/?user_id={USER}&limit=2&cursor={first['next_cursor']}").json()
    third = shop.post(
        "/rewards-api/get-user-info/", {"user_id": USER, "limit": 2, "cursor": second["next_cursor"]}, format="json"
    ).json()

    descriptions = [[h["reward_description"] for h in page["reward_history"]] for page in (first, second, third)]
    assert descriptions == [["e4", "e3"], ["e2", "e1"], ["e0"]]
    assert (first["has_more"], second["has_more"], third["has_more"]) == (True, True, False)
    assert third["next_cursor"] is None


@pytest.mark.parametrize("limit", [0, -1, 1001, "abc"])
def test_history_limit_out_of_range_is_400(shop, limit):
    response = shop.get(f"/rewards-api/get-user-info/?user_id=1&limit={limit}")
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["fields"]


def test_history_default_limit_is_100(shop, shop_app):
    from rewards import services

    for i in range(101):
        services.points_earn(user_id=USER, points=1, description=f"e{i}", app=shop_app)

    body = shop.get(f"/rewards-api/get-user-info/?user_id={USER}").json()

    assert len(body["reward_history"]) == 100 and body["has_more"] is True
    assert body["total_points"] == 101


def test_paths_answer_without_trailing_slash(shop):
    assert shop.get("/rewards-api/get-points?user_id=1").status_code == 200
    assert shop.get("/rewards-api/catalog").status_code == 200


def test_write_response_row_matches_the_serializer(post_json):
    from rewards.serializers import RewardRowOutput

    body = earn(post_json, 7).json()

    row = RewardRowOutput(Reward.objects.get()).data
    assert {key: body[key] for key in row} == dict(row)


def test_messages_count_points_and_money_as_people_write_them(post_json):
    one = post_json("/rewards-api/earn-points/", {"user_id": USER, "points_earned": 1, "reward_description": "x"})
    many = post_json("/rewards-api/earn-points/", {"user_id": USER, "points_earned": 1500, "reward_description": "x"})
    purchase = post_json("/rewards-api/purchase/", {"user_id": USER, "amount": "0.50", "reward_description": "x"})
    donation = post_json(
        "/rewards-api/redeem-donation/",
        {"user_id": USER, "points_redeemed": 50, "donation_amount": 5, "reward_description": "x"},
    )

    assert one.json()["message"] == "Earned 1 point."
    assert many.json()["message"] == "Earned 1,500 points."
    assert purchase.json()["message"] == "Earned 1 point for a purchase of $0.50."
    assert donation.json()["message"] == "Thank you: $5.00 donated for 50 points."


def test_get_all_history_is_the_ledger_without_the_totals(post_json, shop):
    for points in (5, 7, 9):
        post_json("/rewards-api/earn-points/", {"user_id": USER, "points_earned": points, "reward_description": "x"})

    first = shop.get(f"/rewards-api/get-all-history/?user_id={USER}&limit=2").json()
    rest = shop.post(
        "/rewards-api/get-all-history/", {"user_id": USER, "cursor": first["next_cursor"]}, format="json"
    ).json()

    assert "total_points" not in first
    assert [r["points_earned"] for r in first["reward_history"]] == [9, 7]
    assert first["has_more"] is True
    assert [r["points_earned"] for r in rest["reward_history"]] == [5]
    assert rest["has_more"] is False and rest["next_cursor"] is None


def test_get_points_reads_the_token_with_the_balance_and_the_ladder_in_one_statement(shop, post_json):
    """A GET of get-points is one statement: the token's application, the balance and the tier
    ladder together (no ladder set: nothing more); the throttle counts outside the database.
    Its POST (DRF's path) is two: the token, then the balance and the ladder."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    earn(post_json, 70)
    with CaptureQueriesContext(connection) as lean:
        body = shop.get(f"/rewards-api/get-points/?user_id={USER}").json()
    with CaptureQueriesContext(connection) as drf:
        posted = shop.post("/rewards-api/get-points/", {"user_id": USER}, format="json").json()

    assert (body["total_points"], body["tier"], body["tier_progress"]) == (70, None, None)
    assert posted == body
    statements = [query["sql"] for query in lean.captured_queries]
    assert len(statements) == 1, statements
    assert all(read in statements[0] for read in ("loyalty_application", "points_answer(", "rewards_tierladder"))
    statements = [query["sql"] for query in drf.captured_queries]
    assert len(statements) == 2, statements
    assert "loyalty_application" in statements[0]
    assert "points_answer(" in statements[1] and "rewards_tierladder" in statements[1]
