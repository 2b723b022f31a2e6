from django.core.management.base import BaseCommand

from rewards.services import points_lifecycle_run
from rewards.services.lifecycle import BATCH_SIZE


class Command(BaseCommand):
    help = (
        "One pass of the points lifecycle: pending points whose time has come become available, "
        "expired points are debited, points entering the expiry notice window are marked. "
        "Idempotent and safe to run beside the API and beside another run (run it hourly)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="Lots per transaction.")

    def handle(self, *args, batch_size: int, **options) -> None:
        report = points_lifecycle_run(batch_size=batch_size)
        for name, result in (("released", report.released), ("expired", report.expired), ("noticed", report.noticed)):
            line = f"{name}: {result.done} lot(s) of {len(result.customers)} customer(s)"
            if result.skipped:
                line += f"; {result.skipped} left for the next pass (their accounts were busy)"
            self.stdout.write(line)
