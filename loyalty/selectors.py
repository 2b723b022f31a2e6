import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Prefetch

from core.limits import MAX_BIGINT
from loyalty.models import AdjustmentSubmission, Application, Order, OrderCounter
from loyalty.tokens import token_hash
from rewards.models import Account, LotConsumption, PointLot, RedeemedItem
from rewards.selectors import Balance, HistoryPage, reward_history

_APPLICATION_FIELDS = Application._meta.concrete_fields
_APPLICATION_NAMES = [field.attname for field in _APPLICATION_FIELDS]
_TOKEN_HASH = _APPLICATION_NAMES.index("token_hash")
_APPLICATION_BY_TOKEN = (
    f"SELECT {', '.join(field.column for field in _APPLICATION_FIELDS)} FROM {Application._meta.db_table}"
    " WHERE token_hash = %s AND revoked_at IS NULL"
)
# The token's check and a read, as one statement: the read runs only for a good token.
_APPLICATION_AND_READ = (
    f"WITH application AS ({_APPLICATION_BY_TOKEN})"
    " SELECT application.*, answer.* FROM application LEFT JOIN LATERAL ({read}) answer ON true"
)


def application_by_token(*, token: str) -> Application | None:
    """The active application holding this token, or None.

    Runs on every API request, so it is one plain indexed SELECT on the primary (a
    revocation applies at once) rather than an ORM or raw query, whose machinery costs
    more than the lookup itself.
    """
    return application_and_read(token=token)[0]


def application_and_read(
    *, token: str, read: str | None = None, params: Sequence[Any] = ()
) -> tuple[Application | None, tuple[Any, ...]]:
    """``application_by_token`` and, in the same statement (one round trip), the row of
    ``read``, a SELECT with ``%s`` parameters run only when the token is good: the application
    (None: no active one holds the token) and that row (empty without a read or an application)."""
    if len(token) > 256:
        return None, ()
    digest = token_hash(token)
    alias = router.db_for_read(Application)
    sql = _APPLICATION_BY_TOKEN if read is None else _APPLICATION_AND_READ.format(read=read)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [digest, *params])
        row = cursor.fetchone()
    if row is None or not hmac.compare_digest(row[_TOKEN_HASH], digest):
        return None, ()
    count = len(_APPLICATION_FIELDS)
    values = [field.to_python(value) for field, value in zip(_APPLICATION_FIELDS, row[:count], strict=True)]
    return Application.from_db(alias, _APPLICATION_NAMES, values), tuple(row[count:])


@dataclass(frozen=True)
class CustomerOverview:
    balance: Balance | None
    points_owed: int
    counter: OrderCounter | None
    orders: list[Order]
    lots: list[PointLot]
    history: HistoryPage


def lot_state(lot: PointLot) -> str:
    """How staff read a lot: pending, available, expiring soon, or what ended it."""
    if lot.remaining:
        if lot.pending:
            return "pending"
        return "expiring soon" if lot.notice_at else "available"
    if lot.expired_points:
        return "expired"
    if lot.cancelled_points == lot.points and lot.points:
        return "cancelled"
    return "spent"


def customer_overview(*, user_id: int, limit: int = 50) -> CustomerOverview:
    """Everything the admin customer page shows, newest first: balance, orders, lots (with
    the ledger rows that moved them) and history."""
    lots = list(
        PointLot.objects.filter(user_id=user_id)
        .select_related("credit")
        .prefetch_related(Prefetch("consumptions", queryset=LotConsumption.objects.select_related("debit")))
        .order_by("-id")[:limit]
    )
    for lot in lots:
        lot.state = lot_state(lot)
    account = Account.objects.filter(user_id=user_id).first()
    return CustomerOverview(
        balance=Balance.of(account) if account is not None else None,
        points_owed=account.points_owed if account is not None else 0,
        counter=OrderCounter.objects.filter(user_id=user_id).first(),
        orders=list(Order.objects.filter(user_id=user_id).order_by("-created_at")[:limit]),
        lots=lots,
        history=reward_history(user_id=user_id, limit=limit),
    )


def customer_ids_for_search(term: str) -> set[int]:
    """The customers a staff search term names: as a user_id, an order_id, or a coupon code."""
    found: set[int] = set()
    if term.isascii() and term.isdigit() and int(term) <= MAX_BIGINT:
        found.add(int(term))
        found.update(Order.objects.filter(order_id=int(term)).values_list("user_id", flat=True))
    found.update(RedeemedItem.objects.filter(item_code=term.upper()).values_list("reward__user_id", flat=True))
    return found


def adjustment_submitted(*, key: str) -> bool:
    """Whether the admin adjustment form with this one-time key was posted already."""
    return AdjustmentSubmission.objects.filter(key=key).exists()
