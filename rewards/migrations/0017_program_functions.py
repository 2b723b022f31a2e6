"""Earning rules on the ledger (0017_program_functions.sql): an award's row names its rule and
version, the active rules are read by ``program_rules_active``, and a rule's caps are taken
under row locks by ``program_cap_take``.

Going back restores the two functions as 0015 installed them, read from that migration's file."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import function_definition

HERE = Path(__file__).parent
FUNCTIONS = (HERE / "0017_program_functions.sql").read_text()


REVERSE = f"""
DROP FUNCTION program_cap_take, program_cap_count_lock, program_rules_active, ledger_credit, ledger_row;
{function_definition(HERE / "0015_ledger_functions.sql", "ledger_row")}
{function_definition(HERE / "0015_ledger_functions.sql", "ledger_credit")}
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0016_program"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, REVERSE),
    ]
