"""The deployment past one machine, built and driven: ``deploy/cluster.sh up`` (primary, streaming
replica, PgBouncer, three app servers, HAProxy), mixed load through HAProxy while one app server
is stopped and started again, then every acknowledged write checked on the primary and the
replica; and the database router against a real replica.

Marked ``cluster``: CI runs it; ``pytest -m "not screenshots and not cluster"`` skips it locally.
"""

import json
import os
import random
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest

from tests.live import slow_clients

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parent.parent
APP_SERVERS = 3


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports() -> dict[str, str]:
    """Ports nothing listens on, so a cluster left up (by a developer or a killed run) cannot
    answer in this one's place: a block of APP_SERVERS + 5 in a row."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000)  # below Linux's ephemeral ports
        if all(port_is_free(base + offset) for offset in range(APP_SERVERS + 5)):
            return {
                "CLUSTER_PRIMARY_PORT": str(base),
                "CLUSTER_REPLICA_PORT": str(base + 1),
                "CLUSTER_PGBOUNCER_PORT": str(base + 2),
                "CLUSTER_HAPROXY_PORT": str(base + 3),
                "CLUSTER_APP_PORT_BASE": str(base + 4),  # app I on base + 4 + I
            }
    raise RuntimeError("no free block of ports for the cluster")


LOAD_SECONDS = 12
THREADS = 8


@dataclass
class Cluster:
    env: dict
    url: str
    master_token: str
    app_token: str = ""

    def script(self, *args: str) -> str:
        done = subprocess.run(
            ["bash", "deploy/cluster.sh", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def sql(self, which: str, query: str) -> list[tuple]:
        port = self.env["CLUSTER_PRIMARY_PORT" if which == "primary" else "CLUSTER_REPLICA_PORT"]
        with psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="loyalty") as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(query)
                return cursor.fetchall() if cursor.description else []


def call(url: str, method: str = "GET", body: dict | None = None, token: str = "") -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return error.code, json.loads(payload)
        except ValueError:
            return error.code, {"raw": payload[:200].decode(errors="replace")}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    ports = free_ports()
    env = os.environ | ports | {"CLUSTER_DIR": f"/tmp/loyalty-cluster-test-{os.getpid()}", "CLUSTER_WORKERS": "2"}
    for name in ("DATABASE_URL", "DATABASE_REPLICA_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    running = Cluster(env=env, url=f"http://127.0.0.1:{ports['CLUSTER_HAPROXY_PORT']}", master_token="")
    try:
        out = running.script("up", str(APP_SERVERS))
        running.master_token = out.split("MasterApp token:")[1].split()[0]
        status, created = call(
            f"{running.url}/loyalty-api/application",
            "POST",
            {"application_name": "load", "access_level": "Can_Modify_Orders"},
            running.master_token,
        )
        assert status == 201, created
        running.app_token = created["token"]
        yield running
    finally:
        subprocess.run(["bash", "deploy/cluster.sh", "down"], cwd=ROOT, env=env, capture_output=True, timeout=120)


@dataclass
class Load:
    """What the load did and what the service acknowledged."""

    earned: list = field(default_factory=list)  # descriptions of 2xx earn-points
    coupons: list = field(default_factory=list)  # codes of 2xx redemptions
    orders: list = field(default_factory=list)  # order_ids of 2xx orders
    returned: list = field(default_factory=list)  # order_ids of 2xx returns
    statuses: dict = field(default_factory=dict)
    server_errors: list = field(default_factory=list)
    # Writes answered 503 resource_busy: the customer's row stayed locked past the API's short
    # lock wait (two cores run the whole cluster here); nothing of them may be written.
    busy: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, status: int, body: dict, what: object = None) -> None:
        with self.lock:
            self.statuses[(kind, status)] = self.statuses.get((kind, status), 0) + 1
            if status == 503 and body.get("error", {}).get("code") == "resource_busy":
                self.busy.append((kind, what))
            elif status >= 500:
                self.server_errors.append((kind, status, body))


def drive(cluster: Cluster, load: Load, worker: int, until: float) -> None:
    rng = random.Random(worker)
    mine: list[int] = []
    n = 0
    while time.monotonic() < until:
        n += 1
        user = 1000 + rng.randrange(20)
        choice = rng.random()
        if choice < 0.35:
            description = f"load {worker}-{n}"
            status, body = call(
                f"{cluster.url}/rewards-api/earn-points/",
                "POST",
                {"user_id": user, "points_earned": 60, "reward_description": description},
                cluster.app_token,
            )
            load.note("earn", status, body, description)
            if status == 201:
                load.earned.append(description)
        elif choice < 0.5:
            body_in = {"user_id": user, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "load"}
            status, body = call(f"{cluster.url}/rewards-api/redeem-coupon/", "POST", body_in, cluster.app_token)
            load.note("redeem", status, body)
            if status == 201:
                load.coupons.append(body["item_code"])
        elif choice < 0.65:
            order_id = worker * 1_000_000 + n
            status, body = call(
                f"{cluster.url}/loyalty-api/orders",
                "POST",
                {"user_id": user, "order_id": order_id, "total_cost": 1000, "completed_at": 1_700_000_000},
                cluster.app_token,
            )
            load.note("order", status, body, order_id)
            if status == 201:
                load.orders.append(order_id)
                mine.append(order_id)
        elif choice < 0.72 and mine:
            order_id = mine.pop(0)
            status, body = call(f"{cluster.url}/loyalty-api/orders/{order_id}", "DELETE", None, cluster.app_token)
            load.note("return", status, body)
            if status == 200:
                load.returned.append(order_id)
        else:
            path = rng.choice(["get-points/", "get-user-info/?limit=5&", "catalog/"])
            sep = "" if path.endswith("&") or path == "catalog/" else "?"
            query = "" if path == "catalog/" else f"{sep}user_id={user}"
            status, body = call(f"{cluster.url}/rewards-api/{path}{query}", token=cluster.app_token)
            load.note("read", status, body)


def replica_caught_up(cluster: Cluster, timeout: float = 30) -> None:
    target = cluster.sql("primary", "SELECT pg_current_wal_lsn()")[0][0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.sql("replica", f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0][0]:
            return
        time.sleep(0.2)
    pytest.fail("the replica did not catch up")


def test_no_acknowledged_write_is_lost_when_an_app_server_stops_mid_load(cluster):
    load = Load()
    until = time.monotonic() + LOAD_SECONDS
    threads = [threading.Thread(target=drive, args=(cluster, load, i, until)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS / 3)
    cluster.script("app", "stop", "2")
    time.sleep(LOAD_SECONDS / 3)
    cluster.script("app", "start", "2")
    for thread in threads:
        thread.join()

    acknowledged = sum(count for (kind, status), count in load.statuses.items() if status < 300)
    assert acknowledged > 200, load.statuses
    # The stopped server finished what it had (a graceful stop), and HAProxy sent the rest
    # elsewhere: at most the requests in flight on it could have failed.
    assert len(load.server_errors) <= THREADS, load.server_errors
    assert {status for (_, status) in load.statuses} <= {200, 201, 409, 502, 503}, load.statuses

    descriptions = {row[0] for row in cluster.sql("primary", "SELECT reward_description FROM rewards_reward")}
    assert set(load.earned) <= descriptions
    # A write refused as busy wrote nothing.
    assert not {what for kind, what in load.busy if kind == "earn"} & descriptions
    codes = {row[0] for row in cluster.sql("primary", "SELECT item_code FROM rewards_redeemeditem")}
    assert set(load.coupons) <= codes
    orders = dict(cluster.sql("primary", "SELECT order_id, returned_at IS NOT NULL FROM loyalty_order"))
    assert all(order_id in orders for order_id in load.orders)
    assert not {what for kind, what in load.busy if kind == "order"} & set(orders)
    assert all(orders[order_id] for order_id in load.returned)

    checked = subprocess.run(
        [".venv/bin/python", "manage.py", "check_ledger"],
        cwd=ROOT,
        env=cluster.env
        | {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{cluster.env['CLUSTER_PRIMARY_PORT']}/loyalty"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    replica_caught_up(cluster)
    totals = (
        "SELECT (SELECT count(*) FROM rewards_reward), (SELECT sum(points_earned) FROM rewards_reward),"
        " (SELECT sum(points_redeemed) FROM rewards_reward), (SELECT count(*) FROM loyalty_order),"
        " (SELECT sum(total_points_earned - total_points_redeemed) FROM rewards_account),"
        " (SELECT count(*) FROM rewards_event)"
    )
    assert cluster.sql("replica", totals) == cluster.sql("primary", totals)


def points(cluster: Cluster, token: str, user_id: int) -> int:
    status, body = call(f"{cluster.url}/rewards-api/get-points/?user_id={user_id}", token=token)
    assert status == 200, body
    return body["total_points"]


def test_applications_read_the_replica_customers_the_primary_and_lag_falls_back(cluster):
    user = 4242
    earn = {"user_id": user, "points_earned": 100, "reward_description": "before the pause"}
    assert call(f"{cluster.url}/rewards-api/earn-points/", "POST", earn, cluster.app_token)[0] == 201
    replica_caught_up(cluster)
    status, session = call(f"{cluster.url}/rewards-api/customer-session/", "POST", {"user_id": user}, cluster.app_token)
    assert status == 201, session
    cluster.sql("replica", "SELECT pg_wal_replay_pause()")
    try:
        earn["reward_description"] = "while the replica is paused"
        assert call(f"{cluster.url}/rewards-api/earn-points/", "POST", earn, cluster.app_token)[0] == 201
        # An application's read may be a moment old: the replica has not replayed the write...
        assert points(cluster, cluster.app_token, user) == 100
        # ...but a customer always sees their own balance, from the primary.
        assert points(cluster, session["token"], user) == 200
        # Once the replica lags past the bound, every read goes to the primary.
        time.sleep(7)
        assert points(cluster, cluster.app_token, user) == 200
        status, ready = call(f"{cluster.url}/readyz")
        assert (status, ready["replica"]) == (200, "lagging")
    finally:
        cluster.sql("replica", "SELECT pg_wal_replay_resume()")
    replica_caught_up(cluster)
    time.sleep(1.5)
    assert call(f"{cluster.url}/readyz")[1]["replica"] == "ok"


def test_stalled_clients_at_the_cluster_edge_delay_no_one(cluster):
    # Three app servers with two workers each: without the edge six stalled clients would
    # hold every worker.
    with slow_clients(cluster.url, count=16):
        time.sleep(0.5)
        started = time.monotonic()
        earn = {"user_id": 4343, "points_earned": 5, "reward_description": "past the stalled clients"}
        status, body = call(f"{cluster.url}/rewards-api/earn-points/", "POST", earn, cluster.app_token)
        elapsed = time.monotonic() - started
    assert status == 201, body
    assert elapsed < 1, elapsed
