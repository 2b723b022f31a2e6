"""The CLP points policy, as the base order rule gives it: floor(total_cost * 0.05 * coef),
coef = min(1, 1.2 - returned / (placed + 1))."""

import math
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

import pytest

from loyalty.services import order_coefficient
from tests.factories import base_order_points

COSTS = [20, 100, 700, 1000, 1400, 2000]
# Every reachable pair: a customer cannot have returned more orders than they placed.
PAIRS = [(placed, returned) for placed in range(11) for returned in range(placed + 1)]


def decimal_points(cost: int, placed: int, returned: int) -> int:
    """The reference in Decimal, exact: coef * (placed + 1) is a finite decimal, so the
    only division is the last one, an integer division (Decimal's ``//``)."""
    scaled_coef = min(Decimal(placed + 1), Decimal("1.2") * (placed + 1) - returned)
    return int(Decimal(cost) * Decimal("0.05") * scaled_coef // (placed + 1))


def test_reference_is_not_naive_decimal():
    # Decimal's 28-digit 2/3 rounds up, so 1.2 - 2/3 comes out low and floor loses a point.
    naive = Decimal(375) * Decimal("0.05") * (Decimal("1.2") - Decimal(2) / Decimal(3))
    assert naive.to_integral_value(rounding=ROUND_FLOOR) == 9
    assert decimal_points(375, 2, 2) == 10


@pytest.mark.parametrize(("placed", "returned"), PAIRS)
def test_points_match_decimal_formula_for_every_pair_and_cost(placed, returned):
    for cost in COSTS:
        assert base_order_points(total_cost=cost, placed=placed, returned=returned) == decimal_points(
            cost, placed, returned
        ), (cost, placed, returned)


@pytest.mark.parametrize(
    ("placed", "returned", "cost", "points"),
    [
        (4, 2, 100, 4),  # float: 100 * 0.05 * (1.2 - 0.4) = 3.9999999999999996
        (3, 3, 2000, 45),  # float: 2000 * 0.05 * (1.2 - 0.75) = 44.99999999999999
        (2, 2, 375, 10),  # 28-digit Decimal: 18.75 * 0.5333...3 = 9.999...9; exact 375 * 8/300 = 10
        (10, 6, 2750, 90),  # the same, with 6/11
        (0, 0, 1000, 50),
        (0, 0, 19, 0),
        (0, 0, 0, 0),
    ],
)
def test_cases_where_inexact_arithmetic_rounds_down_wrongly(placed, returned, cost, points):
    assert base_order_points(total_cost=cost, placed=placed, returned=returned) == points


def test_float_really_is_wrong_for_the_documented_cases():
    # Guards the cases above: if float were right here they would prove nothing.
    assert math.floor(100 * 0.05 * (1.2 - 2 / 5)) == 3
    assert math.floor(2000 * 0.05 * (1.2 - 3 / 4)) == 44


@pytest.mark.parametrize(("placed", "returned"), PAIRS)
def test_penalty_starts_only_past_twenty_percent_returned(placed, returned):
    coefficient = order_coefficient(placed=placed, returned=returned)
    if Fraction(returned, placed + 1) <= Fraction(1, 5):
        assert coefficient == 1
    else:
        assert coefficient == Fraction(6, 5) - Fraction(returned, placed + 1) < 1


def test_more_returns_than_orders_is_refused():
    with pytest.raises(ValueError):
        order_coefficient(placed=2, returned=3)


def test_coefficient_examples():
    assert order_coefficient(placed=4, returned=1) == 1  # 1/5 returned: no penalty yet
    assert order_coefficient(placed=4, returned=2) == Fraction(4, 5)
    assert order_coefficient(placed=3, returned=3) == Fraction(9, 20)
    assert order_coefficient(placed=9, returned=3) == Fraction(9, 10)
