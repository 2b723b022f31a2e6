"""Reads that tolerate a little lag go to the streaming replica; everything else to the primary.

A view opts in with ``replica_reads()`` around reads that may be a moment old (the catalog,
history pages, balances read by an application). Everything else reads the primary: writes,
every read after a write in the same request, a customer session's reads (a customer must see
their own redemption at once), and the tables whose freshness is a security matter
(applications and their tokens, Idempotency-Keys, Django's auth and sessions).

The replica is used only while it answers and its replay lag is within
``DATABASE_REPLICA_MAX_LAG_SECONDS``; its state is checked at most once a second per process
(every ten seconds once it failed, so a dead replica costs one connect timeout per ten seconds,
not one per request). Without ``DATABASE_REPLICA_URL`` everything reads the primary.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connections

REPLICA = "replica"
PRIMARY = "default"
# Read from the primary always: a revoked token or a used key must be seen at once.
_PRIMARY_ONLY_APPS = {"auth", "admin", "contenttypes", "sessions"}
_PRIMARY_ONLY_MODELS = {"loyalty.application", "rewards.idempotencykey"}
_DOWN_RECHECK_SECONDS = 10.0

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)

# On the replica: 0 while it has replayed all it received from a connected primary, else how
# old the last replayed transaction is; NULL when it streams from no one.
_LAG_SQL = """
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN 0
        WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN NULL
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
    END
"""


@dataclass
class ReplicaState:
    state: str  # "none" (not configured), "ok", "lagging", "down"
    lag_seconds: float | None
    checked_at: float


_last = ReplicaState(state="none", lag_seconds=None, checked_at=float("-inf"))


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_state() -> ReplicaState:
    """The replica's state, checked at most once a second (ten once it failed)."""
    global _last
    if not replica_configured():
        return ReplicaState(state="none", lag_seconds=None, checked_at=time.monotonic())
    now = time.monotonic()
    wait = _DOWN_RECHECK_SECONDS if _last.state == "down" else settings.DATABASE_REPLICA_CHECK_SECONDS
    if now - _last.checked_at < wait:
        return _last
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(_LAG_SQL)
            (lag,) = cursor.fetchone()
    except DatabaseError:
        connections[REPLICA].close()
        _last = ReplicaState(state="down", lag_seconds=None, checked_at=now)
        return _last
    lag = None if lag is None else float(lag)
    within = lag is not None and lag <= settings.DATABASE_REPLICA_MAX_LAG_SECONDS
    _last = ReplicaState(state="ok" if within else "lagging", lag_seconds=lag, checked_at=now)
    return _last


def read_alias() -> str:
    """Where a lag-tolerant read goes now."""
    if _replica_reads.get() and replica_configured() and replica_state().state == "ok":
        return REPLICA
    return PRIMARY


@contextmanager
def replica_reads(enabled: bool = True) -> Iterator[None]:
    """Reads inside may be served by the replica (until a write: then the primary)."""
    token = _replica_reads.set(enabled)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def lag_tolerant(request) -> bool:
    """An application may read a moment-old balance; a customer reads their own writes."""
    return getattr(request.user, "customer_user_id", None) is None


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        if model._meta.app_label in _PRIMARY_ONLY_APPS or model._meta.label_lower in _PRIMARY_ONLY_MODELS:
            return PRIMARY
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        # The rest of this request reads what it just wrote: from the primary.
        _replica_reads.set(False)
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db == PRIMARY
