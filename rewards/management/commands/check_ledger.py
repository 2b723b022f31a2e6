from django.core.management.base import BaseCommand, CommandError

from core.audit import audit_drift
from rewards.models import Account, PointLot, RuleCapCount
from rewards.selectors import ledger_drift


class Command(BaseCommand):
    help = (
        "Check every account against its ledger rows and its lots, every lot against its "
        "consumptions, every earning rule's cap counts against its awards, and the tiers' qualifying "
        "points against their credits, every challenge's progress against its events and every "
        "completion against its award, and every audited row against its last audit entry; report "
        "anything that disagrees and exit 1 if there is some."
    )

    def handle(self, *args, **options) -> None:
        problems = ledger_drift()
        unrecorded = audit_drift()
        for problem in [*problems, *unrecorded]:
            self.stdout.write(str(problem))
        if problems:
            customers = len({problem.user_id for problem in problems})
            raise CommandError(f"Ledger drift: {len(problems)} problem(s) in {customers} account(s).")
        if unrecorded:
            raise CommandError(f"Audit drift: {len(unrecorded)} row(s) changed without the audit record.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Ledger clean: {Account.objects.count()} account(s), {PointLot.objects.count()} lot(s) and "
                f"{RuleCapCount.objects.count()} rule cap count(s) match their rows; every audited row is "
                "in the audit record as it is."
            )
        )
