"""get-user-info's answer, written whole by PostgreSQL (``answer_user_info``): the exact bytes
for customers with nothing, one row, many rows paged by the cursor, pending, arrived, cancelled,
expiring and expired points, badges and tiers. Every figure expected is the one the rows the
test wrote make; the bytes are what the API's renderer writes for that answer."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from rewards import services
from rewards.models import PointLot, Reward, TierStanding
from rewards.services.badges import badge_award, badge_create, badge_revoke

pytestmark = pytest.mark.django_db

USER = 4242
DAY = timedelta(days=1)
# Microseconds, so the times show them; a whole second shows none.
START = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def clock_start() -> datetime:
    return START


def z(moment: datetime | None) -> str | None:
    """A time as the API writes it: UTC, "Z", microseconds only when there are some."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{moment.microsecond:06d}" if moment.microsecond else "") + "Z"


def balance(total: int, earned: int, redeemed: int, **rest) -> dict:
    return {
        "total_points": total,
        "total_points_earned": earned,
        "total_points_redeemed": redeemed,
        "pending_points": rest.get("pending", 0),
        "next_available_at": rest.get("next_available_at"),
        "expiring_points": rest.get("expiring", 0),
        "next_expiry_at": rest.get("next_expiry_at"),
    }


def row(reward: Reward, **rest) -> dict:
    """What the test wrote of a row (its id and dates from the database), and what it expects of
    its rule and lot."""
    return {
        "id": reward.id,
        "kind": reward.kind,
        "points_earned": reward.points_earned,
        "points_redeemed": reward.points_redeemed,
        "pending_change": reward.pending_change,
        "earned_date": z(reward.earned_date),
        "redeemed_date": z(reward.redeemed_date),
        "reward_description": reward.reward_description,
        "rule_name": rest.get("rule_name"),
        "pending_status": rest.get("pending_status"),
        "available_at": rest.get("available_at"),
    }


def answer(user_id: int, money: dict, history: list, *, tier=None, progress=None, badges=(), cursor=None) -> bytes:
    return orjson.dumps(
        {
            "success": True,
            "user_id": user_id,
            **money,
            "tier": tier,
            "tier_progress": progress,
            "badges": list(badges),
            "reward_history": history,
            "has_more": cursor is not None,
            "next_cursor": cursor,
        }
    )


def user_info(client, user_id: int = USER, **query) -> bytes:
    response = client.get("/rewards-api/get-user-info/", {"user_id": user_id, **query})
    assert response.status_code == 200, response.content
    return response.content


def rule_of(reward: Reward) -> str | None:
    return reward.rule.name if reward.rule_id is not None else None


def earn(app, points: int, description: str, user_id: int = USER) -> Reward:
    return services.points_earn(user_id=user_id, points=points, description=description, app=app).reward


def test_a_customer_never_seen_is_zero_and_empty(reader, clock):
    response = reader.get("/rewards-api/get-user-info/", {"user_id": 999})

    assert response.content == (
        b'{"success":true,"user_id":999,"total_points":0,"total_points_earned":0,"total_points_redeemed":0,'
        b'"pending_points":0,"next_available_at":null,"expiring_points":0,"next_expiry_at":null,'
        b'"tier":null,"tier_progress":null,"badges":[],"reward_history":[],"has_more":false,"next_cursor":null}'
    )
    assert response["Content-Type"] == reader.get("/rewards-api/get-points/", {"user_id": 999})["Content-Type"]
    assert Reward.objects.count() == 0


def test_one_row(reader, shop_app, clock):
    reward = earn(shop_app, 25, 'A "launch" \\ café')

    assert reward.earned_date == START
    assert user_info(reader) == answer(USER, balance(25, 25, 0), [row(reward)])
    assert b'"reward_description":"A \\"launch\\" \\\\ caf\xc3\xa9"' in user_info(reader)


def test_many_rows_page_by_the_cursor_newest_first(reader, shop_app, clock):
    rewards = []
    for n in range(5):
        clock.to(START + n * timedelta(seconds=1))
        rewards.append(earn(shop_app, 10 * (n + 1), f"e{n}"))
    clock.to(START.replace(microsecond=0) + 10 * timedelta(seconds=1))  # a whole second: no fraction shown
    coupon = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=shop_app)
    rewards.append(coupon.reward)
    newest = list(reversed(rewards))
    money = balance(100, 150, 50)

    first = user_info(reader, limit=2)
    second = user_info(reader, limit=2, cursor=str(newest[1].id))
    last = user_info(reader, limit=2, cursor=str(newest[3].id))
    everything = user_info(reader)

    assert first == answer(USER, money, [row(r) for r in newest[:2]], cursor=str(newest[1].id))
    assert second == answer(USER, money, [row(r) for r in newest[2:4]], cursor=str(newest[3].id))
    assert last == answer(USER, money, [row(r) for r in newest[4:]])
    assert everything == answer(USER, money, [row(r) for r in newest])
    assert b'"redeemed_date":"2026-03-02T09:30:25Z"' in first
    assert user_info(reader, limit=6) == everything  # exactly a page: no next one
    assert user_info(reader, cursor=str(newest[-1].id)) == answer(USER, money, [])


def test_pending_arrived_and_cancelled_credits(settings, shop, reader, clock):
    """Three orders' credits: one still on the way (when it becomes available), one a return
    cancelled, one that arrived; a credit with no rule."""
    settings.ORDER_POINTS_PENDING_DAYS = 14
    for order_id, total_cost, completed in [(1, 1000, START), (2, 600, START), (3, 2000, START - 10 * DAY)]:
        body = {
            "user_id": USER,
            "order_id": order_id,
            "total_cost": total_cost,
            "completed_at": int(completed.timestamp()),
        }
        assert shop.post("/loyalty-api/orders", body, format="json").status_code == 201
    assert shop.delete("/loyalty-api/orders/2").status_code == 200
    clock.to(START + 5 * DAY)
    services.points_lifecycle_run(now=START + 5 * DAY)  # order 3's points arrive
    bonus = earn(None, 7, "A bonus")

    credits = {r.reward_description: r for r in Reward.objects.filter(user_id=USER)}
    one, two, three = (credits[f"Order {n}"] for n in (1, 2, 3))
    assert [(r.pending_change, r.rule is not None) for r in (one, two, three)] == [(50, True), (30, True), (100, True)]
    on_the_way = PointLot.objects.get(credit=one).available_at
    assert on_the_way == START.replace(microsecond=0) + 14 * DAY
    expected = {r.id: row(r, rule_name=rule_of(r)) for r in Reward.objects.filter(user_id=USER)}
    assert expected[bonus.id]["rule_name"] is None
    expected[one.id].update(pending_status="on_the_way", available_at=z(on_the_way))
    expected[two.id].update(pending_status="cancelled")
    expected[three.id].update(pending_status="arrived")
    newest = [expected[key] for key in sorted(expected, reverse=True)]

    money = balance(107, 107, 0, pending=50, next_available_at=z(on_the_way))
    assert user_info(reader) == answer(USER, money, newest)


def test_expiring_and_expired_points(settings, reader, shop_app, clock):
    settings.POINTS_VALIDITY_DAYS = 365
    settings.EXPIRY_NOTICE_DAYS = 30
    first = earn(shop_app, 70, "first")
    clock.to(START + 100 * DAY)
    second = earn(shop_app, 20, "second")
    first_expiry = PointLot.objects.get(credit=first).expires_at
    second_expiry = PointLot.objects.get(credit=second).expires_at
    assert (first_expiry, second_expiry) == (START + 365 * DAY, START + 465 * DAY)

    services.points_lifecycle_run(now=first_expiry - 29 * DAY)  # the first lot enters the notice window
    assert user_info(reader) == answer(
        USER, balance(90, 90, 0, expiring=70, next_expiry_at=z(first_expiry)), [row(second), row(first)]
    )

    services.points_lifecycle_run(now=first_expiry)
    expired = Reward.objects.get(user_id=USER, reward_description="Expired: first")
    assert (expired.kind, expired.points_redeemed) == ("expiry", 70)
    assert user_info(reader) == answer(
        USER, balance(20, 90, 70, next_expiry_at=z(second_expiry)), [row(expired), row(second), row(first)]
    )


def test_badges_held_oldest_award_first(reader, clock):
    badge_create(definition={"code": "vip", "name": 'The "VIP"', "description": "Élite", "image_url": ""})
    badge_create(definition={"code": "early", "name": "Early bird"})
    badge_create(definition={"code": "gone", "name": "Taken back"})
    badge_award(user_id=USER, code="vip", reason="r", by="staff", now=START)
    later = START.replace(microsecond=0) + DAY
    badge_award(user_id=USER, code="early", reason="r", by="staff", now=later)
    taken = badge_award(user_id=USER, code="gone", reason="r", by="staff", now=START)
    badge_revoke(award_id=taken.pk, reason="no", by="staff")
    badge_award(user_id=USER + 1, code="vip", reason="r", by="staff", now=START)  # someone else's

    badges = [
        {"code": "vip", "name": 'The "VIP"', "description": "Élite", "image_url": "", "awarded_at": z(START)},
        {
            "code": "early",
            "name": "Early bird",
            "description": "",
            "image_url": "",
            "awarded_at": "2026-03-03T09:30:15Z",
        },
    ]
    assert user_info(reader) == answer(USER, balance(0, 0, 0), [], badges=badges)
    # The customer's challenges answer carries the same shape.
    challenges = reader.get("/rewards-api/challenges/", {"user_id": USER}).json()
    assert challenges["badges"] == badges


LADDER = {
    "tiers": [
        {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0},
        {
            "code": "silver",
            "name": "Silver",
            "entry_points": 500,
            "retain_points": 400,
            "multiplier": "1.5",
            "benefits": ["Free shipping", 'Early "access"'],
        },
        {"code": "gold", "name": "Gold", "entry_points": 2000, "retain_points": 1500, "multiplier": "2"},
    ],
    "window_days": 365,
    "qualifying_kinds": ["purchase"],
}
BRONZE = {"code": "bronze", "name": "Bronze", "multiplier": "1", "benefits": []}
SILVER = {"code": "silver", "name": "Silver", "multiplier": "1.5", "benefits": ["Free shipping", 'Early "access"']}
GOLD = {"code": "gold", "name": "Gold", "multiplier": "2", "benefits": []}


def tier(shown: dict, since=None, requalify_at=None, floor_until=None) -> dict:
    return {**shown, "since": since, "requalify_at": requalify_at, "floor_until": floor_until}


def progress(qualifying: int, next_tier: dict | None, to_next: int | None, to_retain: int) -> dict:
    return {
        "qualifying_points": qualifying,
        "next_tier": next_tier,
        "points_to_next": to_next,
        "points_to_retain": to_retain,
    }


def test_a_customer_with_no_standing_is_on_the_lowest_tier(reader, clock):
    services.ladder_set(definition=LADDER, by="test")

    assert user_info(reader) == answer(
        USER,
        balance(0, 0, 0),
        [],
        tier=tier(BRONZE),
        progress=progress(0, {"code": "silver", "name": "Silver", "entry_points": 500}, 500, 0),
    )


def test_an_upgraded_customer_and_a_staff_floor(reader, shop_app, clock):
    services.ladder_set(definition=LADDER, by="test")
    # 600 qualifying points: silver
    services.purchase_record(user_id=USER, amount=Decimal("300"), description="Shoes", app=shop_app)
    earn(shop_app, 1000, "not qualifying")
    standing = TierStanding.objects.get(user_id=USER)
    assert (standing.tier_code, standing.since, standing.requalify_at) == ("silver", START, START + 365 * DAY)
    gold_next = {"code": "gold", "name": "Gold", "entry_points": 2000}
    money = balance(1600, 1600, 0)
    history = [row(r, rule_name=rule_of(r)) for r in Reward.objects.filter(user_id=USER).order_by("-id")]

    assert user_info(reader) == answer(
        USER,
        money,
        history,
        tier=tier(SILVER, since=z(START), requalify_at=z(START + 365 * DAY)),
        progress=progress(600, gold_next, 1400, 0),
    )

    until = START.replace(microsecond=0) + 30 * DAY
    services.tier_floor_set(user_id=USER, code="gold", until=until, reason="VIP", by="staff")
    history = [row(r, rule_name=rule_of(r)) for r in Reward.objects.filter(user_id=USER).order_by("-id")]
    assert user_info(reader) == answer(
        USER, money, history, tier=tier(GOLD, floor_until=z(until)), progress=progress(600, None, None, 900)
    )

    clock.to(until)  # the floor has ended: silver again
    assert user_info(reader) == answer(
        USER,
        money,
        history,
        tier=tier(SILVER, since=z(START), requalify_at=z(START + 365 * DAY)),
        progress=progress(600, gold_next, 1400, 0),
    )

    clock.to(START + 366 * DAY)  # the purchase's day left the window
    assert b'"tier_progress":{"qualifying_points":0,' in user_info(reader)
