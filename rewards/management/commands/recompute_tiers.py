from django.core.management.base import BaseCommand

from rewards.services import tiers_recompute


class Command(BaseCommand):
    help = (
        "After a tier ladder change: move up the customers whose qualifying points now reach a higher "
        "tier, and place those whose tier the ladder no longer has. Nobody moves down before their "
        "requalification date. --dry-run shows who would move and writes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Show who would move; write nothing.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        moves = tiers_recompute(dry_run=dry_run)
        for move in moves:
            self.stdout.write(
                f"{move.user_id}: {move.from_code} -> {move.to_code} ({move.qualifying_points} qualifying points)"
            )
        verb = "would move" if dry_run else "moved"
        self.stdout.write(f"{len(moves)} customer(s) {verb}.")
