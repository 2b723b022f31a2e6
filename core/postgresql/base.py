"""Django's PostgreSQL backend with a health check that costs no round trip.

Django checks a persistent connection before its first use in each request (with
``CONN_HEALTH_CHECKS``) by running ``SELECT 1``: one more round trip on every request, a
third of a balance read's. A connection the server has closed (a restart, an idle
timeout, ``pg_terminate_backend``, PgBouncer letting go of a client) always leaves
something to read on its socket: the server's last message or the end of the stream.
So a quiet socket is a usable connection, and only a socket with input pending gets
Django's own check, which reads it and decides.
"""

import select

from django.db.backends.postgresql import base


def has_pending_input(fileno: int) -> bool:
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        try:
            quiet = not has_pending_input(self.connection.fileno())
        except (OSError, ValueError):
            quiet = False
        return quiet or super().is_usable()
