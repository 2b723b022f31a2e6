from django.core.management.base import BaseCommand

from rewards.services.digests import new_signing_key


class Command(BaseCommand):
    help = (
        "Print a new Ed25519 key for the ledger's digests: LEDGER_SIGNING_KEY (its 32-byte seed, "
        "64 hex characters; keep it secret) and its public key (publish it)."
    )

    def handle(self, *args, **options) -> None:
        seed, public = new_signing_key()
        self.stdout.write(f"LEDGER_SIGNING_KEY={seed}")
        self.stdout.write(f"# public key: {public}")
