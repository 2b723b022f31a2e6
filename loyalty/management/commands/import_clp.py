import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from loyalty.services import CLIENT_ACCESS_LEVELS
from loyalty.services.clp import clp_import
from rewards.importers import ImportRefused


class Command(BaseCommand):
    help = (
        "Take over the CLP API's customers, balances, orders and order counters from SOURCE (a "
        "PostgreSQL URL): one transaction, rows imported before are skipped, and a report. "
        "Applications are listed; --applications LEVEL creates them with fresh tokens."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", help="postgresql://user@host:port/dbname of the CLP database.")
        parser.add_argument("--dry-run", action="store_true", help="Print the report; write nothing.")
        parser.add_argument(
            "--applications",
            choices=CLIENT_ACCESS_LEVELS,
            help="Create the CLP's applications with this access level (the CLP kept levels in its JWTs).",
        )
        parser.add_argument(
            "--tokens-file",
            type=Path,
            default=Path("clp-application-tokens.txt"),
            help="Where the new applications' tokens are written, readable only by you (must not exist).",
        )

    def handle(self, *args, **options) -> None:
        tokens_file = options["tokens_file"] if options["applications"] and not options["dry_run"] else None
        if tokens_file is not None:
            try:
                # Created before anything is imported, only for this user: tokens never sit in a
                # file others can read, and a file left from an earlier run is never overwritten.
                descriptor = os.open(tokens_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as error:
                raise CommandError(f"Cannot create {tokens_file}: {error.strerror}. Nothing was imported.") from error
        try:
            result = clp_import(
                options["source"], dry_run=options["dry_run"], applications_level=options["applications"]
            )
        except BaseException as error:
            if tokens_file is not None:
                os.close(descriptor)
                tokens_file.unlink()
            if isinstance(error, ImportRefused):
                raise CommandError(f"{error} Nothing was imported.") from error
            raise
        if tokens_file is not None:
            with os.fdopen(descriptor, "w") as tokens:
                tokens.write("# app_id  application_name  token (shown once: hand each to its owner)\n")
                for issued in result.tokens:
                    tokens.write(f"{issued.app.app_id}\t{issued.app.name}\t{issued.token}\n")
            result.report.notes.append(f"{len(result.tokens)} new token(s) written to {tokens_file} (mode 600)")
        self.stdout.write("\n".join(result.report.lines()))
