#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")
    if sys.argv[1:2] != ["runserver"]:
        # Commands get no statement timeout and longer lock waits (settings.py); serving does not.
        os.environ.setdefault("LOYALTY_MANAGEMENT_COMMAND", "1")
        os.environ.setdefault("LOYALTY_BACKGROUND", "1")
    from rewards_project.devenv import database_hint, dev_env_load

    # A second terminal next to `make run` reaches its database without being told.
    from_dev_env = dev_env_load()
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as exc:
        # The usual first-hour mistake: a database that does not exist, or is not where looked.
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        sys.exit(database_hint(first_line, from_dev_env=from_dev_env, url=os.environ.get("DATABASE_URL")))


if __name__ == "__main__":
    main()
