"""Which database a read goes to: the replica only for lag-tolerant reads of an application,
while the replica answers within the lag bound; the primary for everything else."""

import pytest
from django.test import RequestFactory

from core import db_router
from core.db_router import PRIMARY, REPLICA, PrimaryReplicaRouter, ReplicaState, replica_reads
from loyalty.models import Application
from rewards.models import Account, CatalogItem, IdempotencyKey

router = PrimaryReplicaRouter()


@pytest.fixture
def replica(monkeypatch):
    """A configured replica whose state the test sets."""
    state = {"value": "ok"}
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    monkeypatch.setattr(
        db_router, "replica_state", lambda: ReplicaState(state=state["value"], lag_seconds=0.0, checked_at=0.0)
    )
    return state


def test_lag_tolerant_reads_go_to_the_replica_and_the_rest_to_the_primary(replica):
    assert router.db_for_read(Account) == PRIMARY  # outside replica_reads()
    with replica_reads():
        assert router.db_for_read(Account) == REPLICA
        assert router.db_for_read(CatalogItem) == REPLICA
        # Tokens and Idempotency-Keys are read where a revocation or a use is seen at once.
        assert router.db_for_read(Application) == PRIMARY
        assert router.db_for_read(IdempotencyKey) == PRIMARY
    with replica_reads(enabled=False):
        assert router.db_for_read(Account) == PRIMARY


def test_after_a_write_the_rest_of_the_request_reads_the_primary(replica):
    with replica_reads():
        assert router.db_for_read(Account) == REPLICA
        assert router.db_for_write(Account) == PRIMARY
        assert router.db_for_read(Account) == PRIMARY
    with replica_reads():
        assert router.db_for_read(Account) == REPLICA  # a new request starts afresh


@pytest.mark.parametrize("state", ["lagging", "down"])
def test_a_lagging_or_dead_replica_is_not_read(replica, state):
    replica["value"] = state
    with replica_reads():
        assert router.db_for_read(Account) == PRIMARY


def test_customer_sessions_read_their_own_writes():
    request = RequestFactory().get("/")
    request.user = type("Customer", (), {"customer_user_id": 7})()
    assert db_router.lag_tolerant(request) is False
    request.user = type("App", (), {})()
    assert db_router.lag_tolerant(request) is True


def test_without_a_replica_everything_reads_the_primary():
    with replica_reads():
        assert router.db_for_read(Account) == PRIMARY
    assert db_router.replica_state().state == "none"
    assert router.allow_migrate(REPLICA, "rewards") is False and router.allow_migrate(PRIMARY, "rewards") is True
