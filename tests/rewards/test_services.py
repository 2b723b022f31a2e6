"""The ledger services: exact figures, the rows written, and nothing written on error."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from rewards import services
from rewards.models import Account, Event, RedeemedItem, Reward, RewardKind, Rule, RuleTrigger
from rewards.selectors import account_balance, ledger_drift

pytestmark = pytest.mark.django_db

USER = 42


def ledger_counts() -> tuple[int, int, int]:
    return Reward.objects.count(), RedeemedItem.objects.count(), Account.objects.count()


def test_earn_creates_account_and_one_ledger_row(shop_app):
    posting = services.points_earn(user_id=USER, points=30, description="Event", app=shop_app)

    assert posting.balance.total_points == 30
    row = Reward.objects.get()
    assert (row.user_id, row.kind, row.points_earned, row.points_redeemed) == (USER, RewardKind.EARN, 30, 0)
    assert row.reward_description == "Event"
    assert row.application_id == shop_app.pk
    assert row.earned_date == row.created_at and row.redeemed_date is None
    account = Account.objects.get(user_id=USER)
    assert (account.total_points_earned, account.total_points_redeemed) == (30, 0)


def test_second_earn_adds_to_the_same_account(shop_app):
    services.points_earn(user_id=USER, points=30, description="a", app=shop_app)
    posting = services.points_earn(user_id=USER, points=12, description="b", app=shop_app)

    assert posting.balance.total_points == 42
    assert Account.objects.count() == 1
    assert Reward.objects.filter(user_id=USER).count() == 2


@pytest.mark.parametrize(
    ("amount", "points"),
    [
        (Decimal("0.01"), 0),
        (Decimal("0.49"), 0),
        (Decimal("0.50"), 1),
        (Decimal("10.00"), 20),
        (Decimal("10.99"), 21),
        (Decimal("64.50"), 129),
        (Decimal("500000000.49"), 1_000_000_000),  # the per-entry cap, exactly
    ],
)
def test_purchase_points_are_floor_of_amount_times_two(shop_app, amount, points):
    earned = services.purchase_record(user_id=USER, amount=amount, description="Shoes", app=shop_app)
    [posting] = earned.postings

    assert earned.points_awarded == posting.reward.points_earned == points
    assert posting.reward.kind == RewardKind.PURCHASE
    assert account_balance(user_id=USER).total_points == points


def test_purchase_rate_comes_from_the_base_purchase_rule(shop_app):
    base = Rule.objects.get(trigger=RuleTrigger.PURCHASE)
    services.rule_edit(rule_id=base.pk, changes={"effect": {"type": "rate", "value": "1.5"}}, by="test")

    earned = services.purchase_record(user_id=USER, amount=Decimal("3.33"), description="x", app=shop_app)

    assert earned.points_awarded == earned.postings[0].reward.points_earned == 4  # floor(4.995)
    assert earned.postings[0].reward.rule_version == 2


def test_feedback_is_a_flat_ten_points(shop_app):
    services.feedback_submit(user_id=USER, description="Great", app=shop_app)
    [posting] = services.feedback_submit(user_id=USER, description="Again", app=shop_app).postings

    assert posting.reward.points_earned == 10
    assert posting.reward.kind == RewardKind.FEEDBACK
    assert posting.balance.total_points == 20


def test_coupon_redemption_debits_and_creates_an_active_coupon(shop_app):
    services.points_earn(user_id=USER, points=120, description="seed", app=shop_app)

    posting = services.coupon_redeem(
        user_id=USER, points=100, amount=Decimal("10.00"), description="My coupon", app=shop_app
    )

    assert (posting.balance.total_points_earned, posting.balance.total_points_redeemed) == (120, 100)
    assert posting.balance.total_points == 20
    reward = Reward.objects.get(kind=RewardKind.COUPON)
    assert (reward.points_earned, reward.points_redeemed, reward.is_active) == (0, 100, True)
    assert reward.redeemed_date is not None and reward.earned_date is None
    item = reward.redeemed_item
    assert (item.kind, item.amount, item.item_description) == ("coupon", Decimal("10.00"), "$10 coupon")
    assert len(item.item_code) == 16 and item.item_code.isalnum()


def test_donation_is_recorded_inactive(shop_app):
    services.points_earn(user_id=USER, points=50, description="seed", app=shop_app)

    posting = services.donation_redeem(user_id=USER, points=50, amount=Decimal("5"), description="Give", app=shop_app)

    assert posting.balance.total_points == 0
    assert posting.reward.is_active is False
    assert posting.redeemed_item.kind == "donation"


def test_exact_balance_redeem_leaves_zero_and_next_one_is_refused(shop_app):
    services.points_earn(user_id=USER, points=50, description="seed", app=shop_app)
    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5.00"), description="c", app=shop_app)
    before = ledger_counts()

    with pytest.raises(services.InsufficientPoints) as error:
        services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5.00"), description="c", app=shop_app)

    assert error.value.message == "You do not have enough points to redeem this reward."
    assert ledger_counts() == before
    assert account_balance(user_id=USER).total_points == 0


def test_redeem_for_unknown_user_is_refused_and_writes_nothing(shop_app):
    with pytest.raises(services.InsufficientPoints):
        services.donation_redeem(user_id=USER, points=50, amount=Decimal("5.00"), description="d", app=shop_app)
    assert ledger_counts() == (0, 0, 0)


@pytest.mark.parametrize(("points", "amount"), [(50, "10.00"), (49, "5.00"), (100, "5.00"), (60, "6.00")])
def test_redemption_must_match_an_active_catalog_item(shop_app, points, amount):
    services.points_earn(user_id=USER, points=500, description="seed", app=shop_app)
    before = ledger_counts()

    with pytest.raises(services.NoMatchingCatalogItem):
        services.coupon_redeem(user_id=USER, points=points, amount=Decimal(amount), description="c", app=shop_app)

    assert ledger_counts() == before
    assert account_balance(user_id=USER).total_points == 500


def test_retired_catalog_item_cannot_be_redeemed(shop_app):
    from rewards.models import CatalogItem

    services.points_earn(user_id=USER, points=500, description="seed", app=shop_app)
    CatalogItem.objects.filter(kind="coupon", points_cost=50).update(is_active=False)

    with pytest.raises(services.NoMatchingCatalogItem):
        services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5.00"), description="c", app=shop_app)


def test_coupon_use_marks_it_inactive_once(shop_app):
    services.points_earn(user_id=USER, points=50, description="seed", app=shop_app)
    code = services.coupon_redeem(
        user_id=USER, points=50, amount=Decimal("5.00"), description="c", app=shop_app
    ).redeemed_item.item_code

    item = services.coupon_use(item_code=code)

    assert item.reward.is_active is False
    assert Reward.objects.get(kind="coupon").is_active is False
    with pytest.raises(services.CouponAlreadyUsed):
        services.coupon_use(item_code=code)
    # Using a coupon moves no points.
    assert account_balance(user_id=USER).total_points == 0
    assert Reward.objects.count() == 2


def test_unknown_or_donation_code_is_not_a_coupon(shop_app):
    services.points_earn(user_id=USER, points=50, description="seed", app=shop_app)
    code = services.donation_redeem(
        user_id=USER, points=50, amount=Decimal("5.00"), description="d", app=shop_app
    ).redeemed_item.item_code

    for bad in (code, "NOSUCHCODE000000"):
        with pytest.raises(services.CouponNotFound):
            services.coupon_use(item_code=bad)


def test_take_back_may_go_below_zero(shop_app):
    services.points_earn(user_id=USER, points=10, description="seed", app=shop_app)

    posting = services.points_take_back(
        user_id=USER, points=25, kind=RewardKind.ORDER_RETURN, description="Order 7 returned", app=shop_app
    )

    assert posting.balance.total_points == -15
    with pytest.raises(services.InsufficientPoints):
        services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5.00"), description="c", app=shop_app)


def test_ledger_rows_are_append_only(shop_app):
    from rewards.models import ImmutableRowError

    row = services.points_earn(user_id=USER, points=5, description="x", app=shop_app).reward
    row.points_earned = 500
    with pytest.raises(ImmutableRowError):
        row.save()
    with pytest.raises(ImmutableRowError):
        row.delete()
    assert Reward.objects.get().points_earned == 5


def test_check_ledger_is_clean_then_reports_drift(shop_app, capsys):
    services.points_earn(user_id=USER, points=70, description="x", app=shop_app)
    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5.00"), description="c", app=shop_app)
    call_command("check_ledger")
    assert "Ledger clean: 1 account(s)" in capsys.readouterr().out
    assert ledger_drift() == []

    Account.objects.filter(user_id=USER).update(total_points_earned=71)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"in 1 account\(s\)"):
        call_command("check_ledger")
    out = capsys.readouterr().out
    assert f"user {USER}: total_points_earned = sum of points_earned: account/lots say 71, expected 70" in out
    assert f"user {USER}: available = remaining of available lots - points owed: account/lots say 21" in out


def test_check_ledger_reports_rows_without_account(shop_app):
    services.points_earn(user_id=USER, points=70, description="x", app=shop_app)
    Account.objects.all().delete()

    drift = ledger_drift()

    assert (USER, "account row exists", None, USER) in [(d.user_id, d.check, d.found, d.expected) for d in drift]


def test_item_code_collision_is_drawn_again_and_writes_once(shop_app, monkeypatch):
    services.points_earn(user_id=USER, points=100, description="seed", app=shop_app)
    first = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5.00"), description="c", app=shop_app)
    codes = iter([first.redeemed_item.item_code, "FRESHCODE0000001"])
    monkeypatch.setattr(services.ledger, "item_code_generate", lambda: next(codes))

    second = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5.00"), description="c", app=shop_app)

    assert second.redeemed_item.item_code == "FRESHCODE0000001"
    assert Reward.objects.filter(kind="coupon").count() == 2
    assert RedeemedItem.objects.count() == 2
    assert account_balance(user_id=USER).total_points == 0
    assert ledger_drift() == []


def test_a_refused_redemption_is_one_call_of_the_ledger_and_writes_nothing(shop_app):
    """The balance does not cover it: the ledger function refuses on the locked account row,
    in the same one round trip a redemption that succeeds takes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.points_earn(user_id=8080, points=10, description="seed", app=shop_app)
    rows, events = Reward.objects.count(), Event.objects.count()
    with CaptureQueriesContext(connection) as queries, pytest.raises(services.InsufficientPoints):
        services.coupon_redeem(user_id=8080, points=50, amount=Decimal("5.00"), description="c", app=shop_app)

    # (The test runs inside a transaction, so the redemption adds its savepoint around the call.)
    savepoint = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(savepoint)]
    writes = [sql for sql in statements if "catalogitem" not in sql]
    assert len(writes) == 1 and "ledger_debit" in writes[0]
    assert (Reward.objects.count(), Event.objects.count()) == (rows, events)
    assert account_balance(user_id=8080).total_points == 10


def test_a_redemption_answers_its_item_with_the_row_it_belongs_to(shop_app):
    services.points_earn(user_id=8081, points=60, description="seed", app=shop_app)
    posting = services.coupon_redeem(user_id=8081, points=50, amount=Decimal("5.00"), description="c", app=shop_app)
    assert posting.redeemed_item.reward_id == posting.reward.id is not None
