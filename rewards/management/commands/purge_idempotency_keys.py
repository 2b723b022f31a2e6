from django.core.management.base import BaseCommand

from rewards.services import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Keys older than 24 hours (run it from cron, e.g. hourly)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"Purged {idempotency_keys_purge()} expired idempotency key(s).")
