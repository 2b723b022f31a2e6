#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")
    if sys.argv[1:2] != ["runserver"]:
        # Commands get no statement timeout (see DB_COMMAND_STATEMENT_TIMEOUT_MS); serving does.
        os.environ.setdefault("LOYALTY_MANAGEMENT_COMMAND", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
