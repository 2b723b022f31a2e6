#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")
    if sys.argv[1:2] != ["runserver"]:
        # Commands get no statement timeout and longer lock waits (settings.py); serving does not.
        os.environ.setdefault("LOYALTY_MANAGEMENT_COMMAND", "1")
        os.environ.setdefault("LOYALTY_BACKGROUND", "1")
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as exc:
        # The usual first-hour mistake: a DATABASE_URL naming a database that does not exist yet.
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        hint = ""
        if "does not exist" in first_line:
            hint = (
                " Create it first (`createdb -h 127.0.0.1 -U postgres <name>`), or unset DATABASE_URL"
                " and use `make run`, which starts an embedded PostgreSQL."
            )
        sys.exit(f"Cannot use the database in DATABASE_URL: {first_line}.{hint}")


if __name__ == "__main__":
    main()
