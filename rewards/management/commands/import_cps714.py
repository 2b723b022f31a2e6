from django.core.management.base import BaseCommand, CommandError

from rewards.importers import ImportRefused, cps714_import


class Command(BaseCommand):
    help = (
        "Take over the rewards system's customers (rewards_reward, rewards_redeemeditem) from SOURCE, "
        "an SQLite file or a database URL: one transaction, rows imported before are skipped, and a "
        "report of everything found."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", help="An SQLite file path or a database URL (sqlite:///…, postgresql://…).")
        parser.add_argument("--dry-run", action="store_true", help="Print the report; write nothing.")

    def handle(self, *args, **options) -> None:
        try:
            report = cps714_import(options["source"], dry_run=options["dry_run"])
        except ImportRefused as error:
            raise CommandError(f"{error} Nothing was imported.") from error
        self.stdout.write("\n".join(report.lines()))
