"""Where one request's time goes, per kind of request, inside the server process.

Calls the project's WSGI application directly (no socket, no gunicorn) against the
benchmark database that bench/run.sh or bench/profile.sh seeded, the way gunicorn would:
a warm-up, then REQUESTS requests timed without a profiler (wall and CPU time per request:
the difference is waiting, mostly for PostgreSQL), then the same again under cProfile,
whose self-times are grouped by layer. The database layer is the time spent inside
psycopg2's calls, which wait for PostgreSQL.

    BENCH_TOKEN=... DATABASE_URL=... python bench/request_profile.py [requests per kind]
"""

import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")

from rewards_project.wsgi import application

TOKEN = os.environ["BENCH_TOKEN"]
REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
WARM_UP = 200
BATCHES = 10


def environ(method: str, path: str, body: dict | None = None) -> dict:
    path, _, query = path.partition("?")
    payload = json.dumps(body).encode() if body is not None else b""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8077",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8077",
        "HTTP_AUTHORIZATION": f"Bearer {TOKEN}",
        "CONTENT_TYPE": "application/json" if body is not None else "",
        "CONTENT_LENGTH": str(len(payload)) if body is not None else "",
        "wsgi.input": io.BytesIO(payload),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


class Counter:
    def __init__(self, start: int = 0) -> None:
        self.n = start

    def __call__(self) -> int:
        self.n += 1
        return self.n


customer = Counter()
# New order ids in every run (a run after another on the same database would post the same
# orders again, which is the replay path, not the first post's).
order = Counter(int(time.time() * 1000) % 10**9 * 10)
seeded_order = Counter()  # bench/seed.py's orders 1..50,000, each returned once


def kinds() -> dict[str, Callable[[], dict]]:
    def user() -> int:
        return 1000 + customer() % 10000

    return {
        "healthz": lambda: environ("GET", "/healthz"),
        "get-points": lambda: environ("GET", "/rewards-api/get-points/?user_id=2"),
        "get-user-info": lambda: environ("GET", f"/rewards-api/get-user-info/?user_id={user()}"),
        "earn-points": lambda: environ(
            "POST",
            "/rewards-api/earn-points/",
            {"user_id": user(), "points_earned": 10, "reward_description": "profile"},
        ),
        "redeem-coupon": lambda: environ(
            "POST",
            "/rewards-api/redeem-coupon/",
            {"user_id": user(), "points_redeemed": 50, "coupon_amount": 5, "reward_description": "profile"},
        ),
        "orders-post": lambda: environ(
            "POST",
            "/loyalty-api/orders",
            {"user_id": user(), "order_id": 2_000_000_000 + order(), "total_cost": 1999, "completed_at": 1700000000},
        ),
        "orders-delete": lambda: environ("DELETE", f"/loyalty-api/orders/{seeded_order()}"),
    }


def call(make: Callable[[], dict]) -> None:
    statuses = []
    body = b"".join(application(make(), lambda status, headers, exc_info=None: statuses.append(status)))
    if not statuses[0].startswith("2"):
        raise SystemExit(f"{statuses[0]}: {body[:300]!r}")


# Where a function's self-time is counted, by the file it lives in (first match wins).
LAYERS = (
    ("database (psycopg2, waiting for PostgreSQL)", ("psycopg2",)),
    ("Django ORM and backend", ("django/db/",)),
    ("DRF (request, auth, permissions, serializers, rendering)", ("rest_framework/",)),
    ("Django request cycle and middleware", ("django/", "whitenoise/", "corsheaders/")),
    ("our code", ("/rewards/", "/loyalty/", "/core/", "/rewards_project/")),
    ("Python standard library and builtins", ("",)),
)


def layer_of(filename: str, name: str) -> str:
    where = f"{filename}:{name}"
    for layer, markers in LAYERS:
        if any(marker in where for marker in markers):
            return layer
    return LAYERS[-1][0]


def timed(make: Callable[[], dict]) -> tuple[float, float]:
    """Per request, in ms: wall time and this process's CPU time, each the least over
    batches (the machine is shared; the least is the least disturbed)."""
    batch = max(REQUESTS // BATCHES, 1)
    walls, cpus = [], []
    for _ in range(BATCHES):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(batch):
            call(make)
        walls.append((time.perf_counter() - wall) * 1000 / batch)
        cpus.append((time.process_time() - cpu) * 1000 / batch)
    return min(walls), min(cpus)


def profile(name: str, make: Callable[[], dict]) -> None:
    for _ in range(WARM_UP):
        call(make)
    per_request_ms, cpu_ms = timed(make)

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(REQUESTS):
        call(make)
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_layer: dict[str, float] = defaultdict(float)
    by_function: dict[str, float] = defaultdict(float)
    for (filename, _line, function), (_cc, _nc, self_time, _cum, _callers) in stats.stats.items():
        by_layer[layer_of(filename, function)] += self_time
        short = filename.split("site-packages/")[-1].split("/main/")[-1]
        by_function[f"{short}:{function}"] += self_time
    total = sum(by_layer.values())
    print(
        f"\n## {name}: {per_request_ms:.3f} ms per request, {cpu_ms:.3f} ms of it on this process's CPU"
        f" (without the profiler; the least of {BATCHES} batches of {REQUESTS // BATCHES})"
    )
    calls = sum(primitive for (primitive, _nc, _tt, _ct, _callers) in stats.stats.values()) / REQUESTS
    print(f"  {calls:,.0f} Python function calls per request (a count: the same in every run)")
    print("  split of the profiled run by layer (self time):")
    for layer, _markers in LAYERS:
        share = by_layer.get(layer, 0.0) / total
        print(f"  {share:6.1%}  {layer}")
    print("  top functions by self time:")
    for function, self_time in sorted(by_function.items(), key=lambda item: -item[1])[:12]:
        print(f"    {self_time / total:6.1%}  {function}")


def main() -> None:
    only = os.environ.get("PROFILE_ONLY", "").split()
    for name, make in kinds().items():
        if not only or name in only:
            profile(name, make)


if __name__ == "__main__":
    main()
