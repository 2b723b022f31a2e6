from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from rewards.importers import ImportRefused, balances_csv_import


class Command(BaseCommand):
    help = (
        "Import balances from a CSV file of user_id,points[,description] lines (a header line is "
        "optional): one ledger row per line, one transaction, the same file never twice."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Print the report; write nothing.")

    def handle(self, *args, **options) -> None:
        try:
            report = balances_csv_import(options["file"], dry_run=options["dry_run"])
        except ImportRefused as error:
            raise CommandError(f"{error} Nothing was imported.") from error
        self.stdout.write("\n".join(report.lines()))
