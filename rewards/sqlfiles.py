"""The ledger's rules in SQL: their one live home, and the frozen snapshots migrations install.

``rewards/sql/*.sql`` hold the live definition of every function and type the project owns in
PostgreSQL, one file per subject, each once: that is where a rule is read and changed.

A migration never reads those files (a later change to them must not rewrite what an old
migration did). ``manage.py sql_snapshot <name>`` compares them with what the migrations have
installed so far (the last definition of each function in ``rewards/migrations/*.sql``, in
order) and writes a new migration whose own ``.sql`` file is a frozen snapshot of the
definitions that changed, were added or went away; it is never edited again. Installing a
snapshot drops every overload of the functions it names and creates them from it; going back
puts back each one's definition from the migration before (and drops those it added).

``tests/rewards/test_sql_source.py`` installs the live files on the migrated test database and
checks that no function's body or signature changes: a live file edited without a snapshot, or
a snapshot edited by hand, fails it.
"""

import re
from pathlib import Path

from django.db import migrations

LIVE_DIR = Path(__file__).resolve().parent / "sql"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Installed in this order: a LANGUAGE sql function is checked against what it calls when it is
# created, so the shapes in ledger.sql come first.
LIVE_FILES = (
    "ledger.sql",
    "lifecycle.sql",
    "imports.sql",
    "catalog.sql",
    "program.sql",
    "tiers.sql",
    "digests.sql",
    "audit.sql",
    "messages.sql",
    "challenges.sql",
    "answers.sql",
)
SNAPSHOT_MARK = "-- A frozen snapshot of rewards/sql/"
REMOVED_MARK = "-- Removed:"

# A definition: the comment lines right above it, then the statement (without its ";"). A
# function ends with the line that closes its body (``$$;`` or ``END $$;``), a type with ``);``.
_COMMENT = r"^(?P<comment>(?:--[^\n]*\n)*)"
_FUNCTION = re.compile(
    _COMMENT + r"(?P<statement>CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(?P<name>\w+)\b.*?^(?:END\s+)?\$\$)(?=;)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)
_TYPE = re.compile(
    _COMMENT + r"(?P<statement>CREATE\s+TYPE\s+(?P<name>\w+)\b.*?^\))(?=;)", re.IGNORECASE | re.MULTILINE | re.DOTALL
)
# A trigger (``CREATE OR REPLACE TRIGGER``, PostgreSQL 14+) ends with its statement's ";".
_TRIGGER = re.compile(
    _COMMENT + r"(?P<statement>CREATE\s+(?:OR\s+REPLACE\s+)?TRIGGER\s+(?P<name>\w+)\b[^;]*?)(?=;)",
    re.IGNORECASE | re.MULTILINE,
)
_DROP = re.compile(r"^DROP\s+(FUNCTION|TYPE)\s+(?:IF\s+EXISTS\s+)?(\w+)", re.IGNORECASE | re.MULTILINE)


def _key(kind: str, name: str) -> str:
    """How definitions are named here: a function by its name, a type as ``type <name>``, a
    trigger as ``trigger <name>``."""
    return name.lower() if kind.upper() == "FUNCTION" else f"{kind.lower()} {name.lower()}"


def _found(sql: str) -> list[tuple[int, str, re.Match[str]]]:
    """Each definition of a script, in order: where it starts, its key and its match."""
    found = [(m.start("statement"), _key("FUNCTION", m["name"]), m) for m in _FUNCTION.finditer(sql)]
    found += [(m.start("statement"), _key("TYPE", m["name"]), m) for m in _TYPE.finditer(sql)]
    found += [(m.start("statement"), _key("TRIGGER", m["name"]), m) for m in _TRIGGER.finditer(sql)]
    return sorted(found, key=lambda entry: entry[0])


def definitions(sql: str) -> dict[str, str]:
    """The functions and types a script creates, by key (``type <name>`` for a type), each as
    its statement; the last one wins."""
    return {key: match["statement"] for _, key, match in _found(sql)}


def defined_keys(sql: str) -> list[str]:
    """Every definition's key, in order, repeats included."""
    return [key for _, key, _ in _found(sql)]


def live_sql() -> str:
    """The live files, in the order they are installed."""
    return "\n".join((LIVE_DIR / name).read_text() for name in LIVE_FILES)


def migrated(*, before: str | None = None) -> dict[str, str]:
    """What the migrations' SQL files install, replayed in order (only those named before
    ``before``, a migration's name, when it is given): each function and type's last
    definition; one a later file drops, or lists as removed, is gone."""
    state: dict[str, str] = {}
    for path in sorted(MIGRATIONS_DIR.glob("[0-9]*.sql")):
        if before is not None and path.stem >= before:
            break
        sql = path.read_text()
        drops = [(m.start(), _key(m.group(1), m.group(2)), None) for m in _DROP.finditer(sql)]
        for _, key, match in sorted([*drops, *_found(sql)], key=lambda entry: entry[0]):
            if match is None:
                state.pop(key, None)
            else:
                state[key] = match["statement"]
        for key in removed_in(sql):
            state.pop(key, None)
    return state


def _same(a: str | None, b: str | None) -> bool:
    """Two statements alike but for ``OR REPLACE`` and white space."""

    def folded(text: str | None) -> str | None:
        return None if text is None else " ".join(re.sub(r"(?i)^CREATE\s+OR\s+REPLACE", "CREATE", text).split())

    return folded(a) == folded(b)


def changes() -> tuple[dict[str, str], list[str]]:
    """What the live files define differently from the migrations (changed or new, with the
    live file's comment above each), and what the migrations have that they no longer define."""
    installed = migrated()
    changed: dict[str, str] = {}
    for _, key, match in _found(live_sql()):
        if not _same(installed.get(key), match["statement"]):
            changed[key] = match["comment"] + match["statement"]
    live = definitions(live_sql())
    return changed, sorted(name for name in installed if name not in live)


def order_key(name: str) -> int:
    """Types first (a function may take or return one), then functions, then triggers (which
    execute functions)."""
    return 0 if name.startswith("type ") else 2 if name.startswith("trigger ") else 1


def install_sql(sql: str, *, removed: list[str] = ()) -> str:
    """A script that installs the definitions of ``sql``: the triggers ``removed`` names are
    dropped, then every overload of each function it defines (or ``removed`` names), then each
    type, then ``sql`` runs. A function a trigger uses (its function, or one its WHEN calls) is
    not dropped but replaced in place (``CREATE OR REPLACE``; a trigger function's signature is
    always the same); a trigger is created or replaced by its own statement. A DROP that
    something else depends on (an index, a function on a changed type) fails loudly."""
    found = definitions(sql)
    functions = sorted({name for name in found if " " not in name} | {n for n in removed if " " not in n})
    types = [name[len("type ") :] for name in [*found, *removed] if name.startswith("type ")]
    triggers = [name[len("trigger ") :] for name in removed if name.startswith("trigger ")]
    names = ", ".join(f"'{name}'" for name in functions)
    trigger_names = ", ".join(f"'{name}'" for name in triggers)
    drops = f"""
DO $install$
DECLARE
    f regprocedure;
    t record;
BEGIN
    FOR t IN
        SELECT tgname, tgrelid::regclass AS relation FROM pg_trigger
        WHERE NOT tgisinternal AND tgname = ANY(ARRAY[{trigger_names}]::text[])
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.relation);
    END LOOP;
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace AND p.proname = ANY(ARRAY[{names}]::text[])
          AND NOT EXISTS (
              SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_trigger'::regclass AND d.refclassid = 'pg_proc'::regclass AND d.refobjid = p.oid
          )
    LOOP
        EXECUTE 'DROP FUNCTION ' || f;
    END LOOP;
END $install$;
"""
    drop_types = "".join(f"DROP TYPE IF EXISTS {name};\n" for name in dict.fromkeys(types))
    return f"{drops}{drop_types}\n{sql}"


def removed_in(sql: str) -> list[str]:
    """What a snapshot says it removes: its ``-- Removed: a, type b`` lines."""
    return [
        name.strip()
        for line in sql.splitlines()
        if line.startswith(REMOVED_MARK)
        for name in line[len(REMOVED_MARK) :].split(",")
    ]


def snapshot_install(snapshot: Path) -> migrations.RunSQL:
    """The operation of a snapshot migration: install what ``snapshot`` defines and drop what
    it lists as removed; going back, put back each one's definition as the migrations before it
    left it (and drop what it added). Computed from the frozen migration files only."""
    sql = snapshot.read_text()
    removed = removed_in(sql)
    previous = migrated(before=snapshot.stem)
    touched = [*definitions(sql), *removed]
    # Types first, then functions in the order the snapshot named them, then triggers.
    restored = [previous[name] for name in sorted(touched, key=order_key) if name in previous]
    added = [name for name in touched if name not in previous]
    return migrations.RunSQL(
        install_sql(sql, removed=removed),
        install_sql(";\n\n".join(restored) + ";\n" if restored else "", removed=added),
    )


def function_definition(sql_file: Path, name: str) -> str:
    """One function's definition as an old migration's file created it (``CREATE OR
    REPLACE``): what a migration that later replaced it puts back when it is reversed."""
    statement = definitions(sql_file.read_text()).get(name)
    if statement is None:
        raise LookupError(f"{sql_file.name} defines no function {name}")
    return re.sub(r"(?i)^CREATE\s+FUNCTION", "CREATE OR REPLACE FUNCTION", statement) + ";"
