from django.core.management.base import BaseCommand

from rewards.services.digests import ledger_digest_cut
from rewards.verify import chain_time


class Command(BaseCommand):
    help = (
        "Cut a signed digest of the ledger now: every customer chain head that moved since the last "
        "digest (the beat job does it hourly)."
    )

    def handle(self, *args, **options) -> None:
        digest = ledger_digest_cut()
        self.stdout.write(
            f"Digest {digest.id} cut at {chain_time(digest.cut_at)}: {digest.heads_count} head(s), "
            f"hash {bytes(digest.hash).hex()}"
        )
