"""Property tests (hypothesis): the points policy, and the ledger under any sequence of operations."""

import itertools
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from loyalty.models import AccessLevel, Order
from loyalty.services import OrderAlreadyReturned, order_coefficient, order_record, order_return
from rewards import services
from rewards.models import PointLot
from rewards.selectors import account_balance, ledger_drift
from tests.factories import ApplicationFactory, base_order_points, base_purchase_points

counts = st.integers(min_value=0, max_value=10**6)


@given(data=st.data(), cost=st.integers(min_value=0, max_value=10**12))
def test_order_points_are_the_exact_floor(data, cost):
    placed = data.draw(counts)
    returned = data.draw(st.integers(min_value=0, max_value=placed))

    points = base_order_points(total_cost=cost, placed=placed, returned=returned)

    scaled = min(Decimal(placed + 1), Decimal("1.2") * (placed + 1) - returned)  # coef * (placed + 1), exact
    assert points == int(Decimal(cost) * Decimal("0.05") * scaled // (placed + 1))
    assert 0 <= points <= cost // 20
    assert Fraction(1, 5) < order_coefficient(placed=placed, returned=returned) <= 1


@given(data=st.data(), cost=st.integers(min_value=0, max_value=10**9), more=st.integers(min_value=0, max_value=10**6))
def test_order_points_grow_with_cost_and_shrink_with_returns(data, cost, more):
    placed = data.draw(st.integers(min_value=1, max_value=10**6))
    returned = data.draw(st.integers(min_value=0, max_value=placed - 1))

    base = base_order_points(total_cost=cost, placed=placed, returned=returned)
    assert base_order_points(total_cost=cost + more, placed=placed, returned=returned) >= base
    assert base_order_points(total_cost=cost, placed=placed, returned=returned + 1) <= base
    assert order_coefficient(placed=placed, returned=returned + 1) <= order_coefficient(
        placed=placed, returned=returned
    )


@given(amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2))
def test_purchase_points_are_floor_of_twice_the_amount(amount):
    assert base_purchase_points(amount) == int(amount * 2)


_users = itertools.count(700_000)
_orders = itertools.count(900_000)


class LedgerMachine(RuleBasedStateMachine):
    """Any sequence of earn, redeem, order and return keeps the books straight."""

    def __init__(self) -> None:
        super().__init__()
        self.app = LedgerMachine.app
        self.users = [next(_users) for _ in range(2)]
        self.expected = dict.fromkeys(self.users, 0)
        self.open_orders: list[tuple[int, int, int]] = []  # (order_id, user, points)
        self.returned: list[int] = []

    @rule(user=st.sampled_from([0, 1]), points=st.integers(min_value=1, max_value=300))
    def earn(self, user, points):
        services.points_earn(user_id=self.users[user], points=points, description="e", app=self.app)
        self.expected[self.users[user]] += points

    @rule(user=st.sampled_from([0, 1]), kind=st.sampled_from(["coupon", "donation"]), big=st.booleans())
    def redeem(self, user, kind, big):
        user_id, cost = self.users[user], 100 if big else 50
        redeem = services.coupon_redeem if kind == "coupon" else services.donation_redeem
        try:
            redeem(user_id=user_id, points=cost, amount=Decimal(cost // 10), description="r", app=self.app)
        except services.InsufficientPoints:
            assert self.expected[user_id] < cost
        else:
            assert self.expected[user_id] >= cost, "a redemption overdrew"
            self.expected[user_id] -= cost

    @rule(user=st.sampled_from([0, 1]), cost=st.integers(min_value=0, max_value=5000))
    def order(self, user, cost):
        order_id = next(_orders)
        outcome = order_record(
            order_id=order_id, user_id=self.users[user], total_cost=cost, completed_at=0, app=self.app
        )
        self.expected[self.users[user]] += outcome.order.points_awarded
        self.open_orders.append((order_id, self.users[user], outcome.order.points_awarded))

    @rule(data=st.data())
    def return_order(self, data):
        if not self.open_orders:
            return
        order_id, user_id, points = self.open_orders.pop(data.draw(st.integers(0, len(self.open_orders) - 1)))
        outcome = order_return(order_id=order_id, app=self.app)
        assert outcome.points_taken_back == points
        self.expected[user_id] -= points
        self.returned.append(order_id)

    @rule(data=st.data())
    def return_again(self, data):
        if not self.returned:
            return
        with pytest.raises(OrderAlreadyReturned):
            order_return(order_id=data.draw(st.sampled_from(self.returned)), app=self.app)

    @invariant()
    def books_balance(self):
        for user_id, expected in self.expected.items():
            assert account_balance(user_id=user_id).total_points == expected
        assert ledger_drift() == []


@pytest.mark.django_db
def test_ledger_state_machine():
    LedgerMachine.app = ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS)
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )


class LifecycleMachine(RuleBasedStateMachine):
    """With a return window and expiring points, any sequence of credits, redemptions, orders,
    partial returns and lifecycle passes at any time keeps every lot and every account
    consistent (check_ledger), never spends pending points and never overdraws by redeeming."""

    def __init__(self) -> None:
        super().__init__()
        self.app = LifecycleMachine.app
        self.user = next(_users)
        self.now = timezone.now()
        self.orders: list[int] = []

    @rule(points=st.integers(min_value=1, max_value=200))
    def earn(self, points):
        services.points_earn(user_id=self.user, points=points, description="e", app=self.app)

    @rule(big=st.booleans())
    def redeem(self, big):
        cost = 100 if big else 50
        available = account_balance(user_id=self.user).total_points
        try:
            services.coupon_redeem(
                user_id=self.user, points=cost, amount=Decimal(cost // 10), description="r", app=self.app
            )
        except services.InsufficientPoints:
            assert available < cost
        else:
            assert available >= cost, "a redemption spent pending points or overdrew"

    @rule(cost=st.integers(min_value=0, max_value=4000), days_ago=st.integers(min_value=0, max_value=40))
    def order(self, cost, days_ago):
        order_id = next(_orders)
        completed = int((self.now - timedelta(days=days_ago)).timestamp())
        order_record(order_id=order_id, user_id=self.user, total_cost=cost, completed_at=completed, app=self.app)
        self.orders.append(order_id)

    @rule(data=st.data())
    def partial_return(self, data):
        if not self.orders:
            return
        order_id = data.draw(st.sampled_from(self.orders))
        order = Order.objects.get(order_id=order_id)
        left = order.total_cost - order.returned_cost
        if left == 0:
            return
        part = data.draw(st.one_of(st.none(), st.integers(min_value=1, max_value=left)))
        order_return(order_id=order_id, returned_cost=part, app=self.app)
        order.refresh_from_db()
        assert order.points_taken_back == order.points_awarded * order.returned_cost // max(order.total_cost, 1)

    @rule(days=st.integers(min_value=1, max_value=30))
    def time_passes(self, days):
        self.now += timedelta(days=days)
        services.points_lifecycle_run(now=self.now)

    @invariant()
    def books_balance(self):
        assert ledger_drift() == []
        assert not PointLot.objects.filter(remaining__lt=0).exists()


@pytest.mark.django_db
def test_lifecycle_state_machine(lifecycle_settings):
    LifecycleMachine.app = ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS)
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=25, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )


@pytest.fixture
def lifecycle_settings(settings):
    settings.ORDER_POINTS_PENDING_DAYS = 14
    settings.POINTS_VALIDITY_DAYS = 45
    settings.EXPIRY_NOTICE_DAYS = 30
    return settings


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bonuses=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=4),
    cost=st.integers(min_value=1, max_value=100_000),
    cuts=st.lists(st.integers(min_value=1, max_value=100_000), max_size=6),
)
def test_returns_take_back_each_award_in_proportion_and_a_whole_return_all_of_them(bonuses, cost, cuts):
    """Several awards on one order, pending, then partial returns: after each, every award's
    own lot has had exactly floor(award x returned so far / total_cost) cancelled, and the
    order's total is their sum; the last return (the rest) cancels every award whole."""
    app = ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS)
    rules = [
        services.rule_create(
            definition={
                "name": f"+{points}",
                "trigger": "order",
                "status": "active",
                "effect": {"type": "fixed", "points": points},
            },
            by="test",
        )
        for points in bonuses
    ]
    user, order_id = next(_users), next(_orders)
    try:
        with override_settings(ORDER_POINTS_PENDING_DAYS=14):
            now = int(timezone.now().timestamp())
            recorded = order_record(order_id=order_id, user_id=user, total_cost=cost, completed_at=now, app=app).order
        bonus_lots = PointLot.objects.filter(user_id=user, credit__rule__in=rules).order_by("credit__rule_id")
        assert [lot.points for lot in bonus_lots] == bonuses
        lots = PointLot.objects.filter(user_id=user)  # the base rule's award and the bonuses
        returned = 0
        for cut in [*cuts, None]:
            left = cost - returned
            if left == 0:
                break
            part = left if cut is None else min(cut, left)
            outcome = order_return(order_id=order_id, returned_cost=part, app=app)
            returned += part
            assert all(lot.cancelled_points == lot.points * returned // cost for lot in lots.all())
            assert outcome.order.points_taken_back == sum(lot.cancelled_points for lot in lots.all())
            assert (
                account_balance(user_id=user).pending_points
                == recorded.points_awarded - outcome.order.points_taken_back
            )
        assert returned == cost and all(lot.remaining == 0 for lot in lots.all())
        assert account_balance(user_id=user).pending_points == 0
        assert ledger_drift() == []
    finally:
        for rule in rules:
            services.rule_archive(rule_id=rule.pk, by="test")
