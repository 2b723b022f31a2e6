"""Every existing credit becomes a lot, available now and never expiring.

Each customer's rows are replayed in order: a credit opens a lot (first paying any points
owed), a debit consumes the oldest lots first and owes what they cannot cover. The
result satisfies the lot invariants that check_ledger verifies.
"""

from django.db import migrations
from django.utils import timezone

BATCH = 2000


class _Customer:
    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.open_lots: list = []  # lots with points left, oldest first
        self.owed = 0


def _flush(apps, lots: list, consumptions: list, owed: dict[int, int]) -> None:
    PointLot = apps.get_model("rewards", "PointLot")
    LotConsumption = apps.get_model("rewards", "LotConsumption")
    Account = apps.get_model("rewards", "Account")
    PointLot.objects.bulk_create(lots, batch_size=BATCH)
    LotConsumption.objects.bulk_create(
        [
            LotConsumption(lot_id=lot.pk, debit_id=debit_id, points=points, created_at=at)
            for lot, debit_id, points, at in consumptions
        ],
        batch_size=BATCH,
    )
    for user_id, points in owed.items():
        Account.objects.filter(user_id=user_id).update(points_owed=points)
    lots.clear()
    consumptions.clear()
    owed.clear()


def create_lots(apps, schema_editor):
    Reward = apps.get_model("rewards", "Reward")
    PointLot = apps.get_model("rewards", "PointLot")
    now = timezone.now()
    customer = None
    lots: list = []
    consumptions: list = []  # (lot, debit id or None, points, time)
    owed: dict[int, int] = {}

    def take(amount: int, debit_id, at) -> int:
        """Consume up to ``amount`` from the customer's oldest open lots; returns what was not covered."""
        while amount and customer.open_lots:
            lot = customer.open_lots[0]
            used = min(lot.remaining, amount)
            lot.remaining -= used
            amount -= used
            consumptions.append((lot, debit_id, used, at))
            if lot.remaining == 0:
                customer.open_lots.pop(0)
        return amount

    rows = Reward.objects.order_by("user_id", "id").values_list(
        "id", "user_id", "points_earned", "points_redeemed", "created_at"
    )
    for row_id, user_id, earned, redeemed, created_at in rows.iterator(chunk_size=BATCH):
        if customer is None or customer.user_id != user_id:
            if customer is not None and customer.owed:
                owed[customer.user_id] = customer.owed
            if len(lots) >= BATCH:
                _flush(apps, lots, consumptions, owed)
            customer = _Customer(user_id)
        if earned:
            lot = PointLot(
                user_id=user_id,
                credit_id=row_id,
                points=earned,
                remaining=earned,
                pending=False,
                available_at=created_at or now,
                created_at=now,
            )
            lots.append(lot)
            paid = min(customer.owed, earned)
            if paid:
                lot.remaining -= paid
                customer.owed -= paid
                consumptions.append((lot, None, paid, created_at or now))
            if lot.remaining:
                customer.open_lots.append(lot)
        elif redeemed:
            customer.owed += take(redeemed, row_id, created_at or now)
    if customer is not None and customer.owed:
        owed[customer.user_id] = customer.owed
    _flush(apps, lots, consumptions, owed)


class Migration(migrations.Migration):
    dependencies = [("rewards", "0007_point_lots")]

    operations = [migrations.RunPython(create_lots, migrations.RunPython.noop)]
