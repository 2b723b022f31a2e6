"""The live SQL in rewards/sql/ is what the migrations installed: installing the live files on
the migrated database changes no function, and each function and type is defined once."""

from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from rewards.sqlfiles import LIVE_DIR, LIVE_FILES, defined_keys, install_sql, live_sql

pytestmark = pytest.mark.django_db


def installed() -> dict[str, tuple[str, str]]:
    """Every function of the schema that no extension owns: its signature, and its result and
    body (``prosrc``); and every composite type the project created, with its attributes.

    Not the audit's: its triggers and their functions are declared with the models they record
    (``core/audit.py``; ``tests/test_audit.py`` checks they are installed as declared), and
    pghistory's ``_pgh_attach_context`` and pgtrigger's ``_pgtrigger_should_ignore`` come
    with those packages."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.oid::regprocedure::text, pg_get_function_result(p.oid), p.prosrc
            FROM pg_proc p
            WHERE p.pronamespace = current_schema()::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
              AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgfoid = p.oid AND t.tgname LIKE 'pgtrigger\\_%%')
              AND p.proname NOT IN ('_pgh_attach_context', '_pgtrigger_should_ignore')
            """
        )
        functions = {signature: (result, body) for signature, result, body in cursor.fetchall()}
        cursor.execute(
            """
            SELECT t.typname, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                                         ORDER BY a.attnum)
            FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
            WHERE t.typnamespace = current_schema()::regnamespace
            GROUP BY t.typname
            """
        )
        types = {f"type {name}": ("", attributes) for name, attributes in cursor.fetchall()}
        # The audit's triggers (``pgtrigger_*``) are declared with their models, as their functions.
        cursor.execute(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger"
            " WHERE NOT tgisinternal AND tgname NOT LIKE 'pgtrigger\\_%%'"
        )
        triggers = {f"trigger {name}": ("", definition) for name, definition in cursor.fetchall()}
    return functions | types | triggers


def test_every_function_and_type_is_defined_once_in_the_live_files():
    keys = [key for name in LIVE_FILES for key in defined_keys((LIVE_DIR / name).read_text())]
    twice = [key for key, count in Counter(keys).items() if count > 1]
    assert twice == [], f"defined more than once in rewards/sql/: {twice}"
    assert sorted(p.name for p in LIVE_DIR.glob("*.sql")) == sorted(LIVE_FILES), "LIVE_FILES lists every file"
    names = {signature.split("(")[0] for signature in installed() if not signature.startswith(("type ", "trigger "))}
    assert names == {key for key in keys if not key.startswith(("type ", "trigger "))}, (
        "the database's functions are the live files'"
    )
    for kind in ("type ", "trigger "):
        assert {key for key in installed() if key.startswith(kind)} == {key for key in keys if key.startswith(kind)}


def test_the_migrations_leave_nothing_to_snapshot():
    """``sql_snapshot`` reads the same state from the migrations' files as the database holds."""
    with pytest.raises(CommandError, match="nothing to snapshot"):
        call_command("sql_snapshot", "anything")


def test_installing_the_live_files_on_the_migrated_database_changes_nothing():
    before = installed()
    with connection.cursor() as cursor:
        cursor.execute(install_sql(live_sql()))
    after = installed()
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert changed == [], (
        f"rewards/sql/ and the migrations disagree on {changed}: a live file was changed without "
        "`manage.py sql_snapshot <name>`, or a snapshot was edited"
    )


def test_a_live_body_the_migrations_do_not_have_is_caught():
    """The comparison sees a change of one function's body (so the test above can fail)."""
    before = installed()
    edited = live_sql().replace(
        "SELECT * FROM rewards_rule WHERE trigger = p_trigger",
        "SELECT * FROM rewards_rule WHERE trigger = p_trigger AND true",
    )
    with connection.cursor() as cursor:
        cursor.execute(install_sql(edited))
    after = installed()
    assert [name for name in before if before[name] != after.get(name)] == ["program_rules_active(text)"]
