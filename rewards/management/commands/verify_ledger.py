import time

from django.core.management.base import BaseCommand, CommandError

from rewards.selectors import ledger_verify
from rewards.services.digests import trusted_public_keys


class Command(BaseCommand):
    help = (
        "Recompute every customer's hash chain from its rows, check every account's head, every "
        "digest (its chain, root, hash, key and signature) and every head a digest holds, and the audit "
        "record's chain and the audit head each digest holds; name the "
        "first row that does not match and exit 1 if anything does (docs/VERIFY.md)."
    )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        keys = trusted_public_keys()
        if keys is None:
            self.stderr.write("No LEDGER_SIGNING_KEY: each digest is checked against the key it names only.")
        result = ledger_verify(trusted_keys=keys)
        for problem in result.problems:
            self.stdout.write(str(problem))
        if result.problems:
            raise CommandError(
                f"Ledger NOT verified: {len(result.problems)} problem(s); the first: {result.problems[0]}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Ledger verified: {result.rows} row(s) of {result.customers} customer(s), {result.digests} "
                f"digest(s), {result.audit_entries} audit entries, in {time.monotonic() - started:.1f} s."
            )
        )
