import re
import textwrap

from django.core.management.base import BaseCommand, CommandError
from django.db.migrations.loader import MigrationLoader

from rewards.sqlfiles import MIGRATIONS_DIR, REMOVED_MARK, SNAPSHOT_MARK, changes, order_key

MIGRATION = '''"""{doc}

Installs {sql_name}: a frozen snapshot of what changed in rewards/sql/, written by
``manage.py sql_snapshot`` and never edited (the live definitions are in rewards/sql/). Going
back puts back the definitions the migrations before it installed."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import snapshot_install


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "{parent}"),
    ]

    operations = [
        snapshot_install(Path(__file__).with_suffix(".sql")),
    ]
'''


class Command(BaseCommand):
    help = (
        "Write the next rewards migration from the live SQL in rewards/sql/: a frozen snapshot of the "
        "functions and types that changed, were added or went away since the migrations installed them."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="the migration's name, e.g. owed_points_paid_once")
        parser.add_argument("--why", default="The ledger's functions as rewards/sql/ now defines them.")

    def handle(self, *args, name: str, why: str, **options) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise CommandError("The name is lower-case letters, digits and underscores.")
        changed, removed = changes()
        if not changed and not removed:
            raise CommandError("The migrations already install what rewards/sql/ defines: nothing to snapshot.")
        leaves = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("rewards")
        if len(leaves) != 1:
            raise CommandError(f"rewards has {len(leaves)} latest migrations; merge them first.")
        parent = leaves[0][1]
        stem = f"{int(parent[:4]) + 1:04d}_{name}"
        # Types first (a function may take or return one), then the functions in the live files'
        # order, then triggers.
        ordered = sorted(changed, key=order_key)
        body = "\n\n".join(f"{changed[key]};" for key in ordered)
        header = f"{SNAPSHOT_MARK} ({stem}): what changed there; never edited.\n"
        if removed:
            header += f"{REMOVED_MARK} {', '.join(removed)}\n"
        (MIGRATIONS_DIR / f"{stem}.sql").write_text(f"{header}\n{body}\n")
        (MIGRATIONS_DIR / f"{stem}.py").write_text(
            MIGRATION.format(doc=textwrap.fill(why, 96), sql_name=f"{stem}.sql", parent=parent)
        )
        names = ", ".join([*ordered, *(f"{key} (removed)" for key in removed)])
        self.stdout.write(f"Wrote rewards/migrations/{stem}.py and {stem}.sql: {names}")
