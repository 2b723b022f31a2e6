from django.core.management.base import BaseCommand

from rewards.services import tiers_requalify


class Command(BaseCommand):
    help = (
        "Requalify the customers whose tier date has come (they keep the highest tier whose retain "
        "points they meet) and end the staff floors whose date has come. Idempotent and safe beside "
        "the API and another run (run it hourly)."
    )

    def handle(self, *args, **options) -> None:
        report = tiers_requalify()
        for user_id, before, after in report.moves:
            self.stdout.write(f"{user_id}: {before} -> {after}")
        self.stdout.write(
            f"{report.checked} customer(s) requalified, {report.downgraded} moved down, "
            f"{report.floors_ended} floor(s) ended"
        )
