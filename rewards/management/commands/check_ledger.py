from django.core.management.base import BaseCommand, CommandError

from rewards.models import Account
from rewards.selectors import ledger_drift


class Command(BaseCommand):
    help = "Recompute every account from the ledger; report any drift and exit 1 if there is some."

    def handle(self, *args, **options) -> None:
        drift = ledger_drift()
        for row in drift:
            if row.account_earned is None:
                self.stdout.write(
                    f"user {row.user_id}: no account row, ledger says "
                    f"earned={row.ledger_earned} redeemed={row.ledger_redeemed}"
                )
            else:
                self.stdout.write(
                    f"user {row.user_id}: account earned={row.account_earned} redeemed={row.account_redeemed}, "
                    f"ledger earned={row.ledger_earned} redeemed={row.ledger_redeemed}"
                )
        if drift:
            raise CommandError(f"Ledger drift in {len(drift)} account(s).")
        self.stdout.write(self.style.SUCCESS(f"Ledger clean: {Account.objects.count()} account(s) match their rows."))
