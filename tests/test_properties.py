"""Property tests (hypothesis): the points policy, and the ledger under any sequence of operations."""

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from loyalty.models import AccessLevel
from loyalty.services import OrderAlreadyReturned, order_coefficient, order_points, order_record, order_return
from rewards import services
from rewards.selectors import account_balance, ledger_drift
from tests.factories import ApplicationFactory

counts = st.integers(min_value=0, max_value=10**6)


@given(data=st.data(), cost=st.integers(min_value=0, max_value=10**12))
def test_order_points_are_the_exact_floor(data, cost):
    placed = data.draw(counts)
    returned = data.draw(st.integers(min_value=0, max_value=placed))

    result = order_points(total_cost=cost, placed=placed, returned=returned)

    scaled = min(Decimal(placed + 1), Decimal("1.2") * (placed + 1) - returned)  # coef * (placed + 1), exact
    assert result.points == int(Decimal(cost) * Decimal("0.05") * scaled // (placed + 1))
    assert 0 <= result.points <= cost // 20
    assert Fraction(1, 5) < result.coefficient <= 1


@given(data=st.data(), cost=st.integers(min_value=0, max_value=10**9), more=st.integers(min_value=0, max_value=10**6))
def test_order_points_grow_with_cost_and_shrink_with_returns(data, cost, more):
    placed = data.draw(st.integers(min_value=1, max_value=10**6))
    returned = data.draw(st.integers(min_value=0, max_value=placed - 1))

    base = order_points(total_cost=cost, placed=placed, returned=returned).points
    assert order_points(total_cost=cost + more, placed=placed, returned=returned).points >= base
    assert order_points(total_cost=cost, placed=placed, returned=returned + 1).points <= base
    assert order_coefficient(placed=placed, returned=returned + 1) <= order_coefficient(
        placed=placed, returned=returned
    )


@given(amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2))
def test_purchase_points_are_floor_of_twice_the_amount(amount):
    assert services.purchase_points(amount) == int(amount * 2)


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
