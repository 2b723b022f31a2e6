"""The ledger's rules as PostgreSQL functions (0015_ledger_functions.sql), called by every
posting. The account's ``version`` goes: it only proved a one-statement redemption's snapshot
current, and the functions read the lots under the account row lock instead.

The SQL sits beside this migration and is never edited: a later change to a rule is a later
migration with its own file, so every database reaches the same functions by migrating."""

from pathlib import Path

from django.db import migrations

FUNCTIONS = (Path(__file__).with_suffix(".sql")).read_text()
DROP = """
DROP FUNCTION ledger_import, ledger_notice, ledger_expire, ledger_release, ledger_take_back, ledger_debit,
    ledger_credit, ledger_lots_consume, ledger_lot_make_available, ledger_next_available, ledger_credit_description,
    ledger_next_expiry, ledger_posted, ledger_answer, ledger_row, ledger_account_save, ledger_account_lock, ledger_event,
    ledger_item_json, ledger_lot_json, ledger_row_json, ledger_balance_json, ledger_iso;
DROP TYPE ledger_posting;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0014_ledger_entries_plural"),
    ]

    operations = [
        migrations.RemoveField(model_name="account", name="version"),
        migrations.RunSQL(FUNCTIONS, DROP),
    ]
