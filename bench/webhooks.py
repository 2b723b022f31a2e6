"""Webhook delivery under the bench's write load: a receiver on a loopback port, one Celery
worker (solo pool), and wrk posting earn-points for a while. Prints the lag between a write
and its delivery (p50/p99) and the worker's delivery throughput once the writes stop.

Run by bench/webhooks.sh after bench_fresh_database and bench_start_server (bench/lib.sh).
"""

import json
import os
import statistics
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")

import django

django.setup()

from loyalty.models import Application, WebhookDelivery  # noqa: E402
from loyalty.services.webhooks import webhook_create  # noqa: E402

received: list[tuple[float, dict]] = []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.append((time.time(), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    command, duration = sys.argv[1], float(sys.argv[2])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = Application.objects.get(name="bench")
    webhook_create(app=app, url=f"http://127.0.0.1:{server.server_address[1]}/", event_types=["points.earned"])
    load = os.popen(command)  # wrk, in the background of this process
    time.sleep(duration)
    load.read()
    writes_done = time.time()
    deadline = writes_done + 120
    while time.time() < deadline:
        if not WebhookDelivery.objects.filter(status="pending").exists() and len(received) >= 1:
            break
        time.sleep(0.5)
    drained = time.time()
    lags = sorted(
        at - datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).timestamp() for at, event in received
    )
    p50, p99 = statistics.median(lags) * 1000, lags[max(int(len(lags) * 0.99) - 1, 0)] * 1000
    print(f"events delivered: {len(received)} (deliveries: {WebhookDelivery.objects.count()})")
    print(f"lag write -> delivery: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(f"drained {drained - writes_done:.1f} s after the writes stopped")
    span = received[-1][0] - received[0][0] if len(received) > 1 else 0
    if span:
        print(f"throughput, one worker: {len(received) / span:.0f} events/s over {span:.1f} s")
    server.shutdown()


if __name__ == "__main__":
    main()
