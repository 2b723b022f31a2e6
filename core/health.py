"""Health checks, answered by ``HealthCheckMiddleware`` before host validation and routing."""

from django.db import connection
from django.http import JsonResponse

from core.db_router import replica_state
from core.errors import error_response


def healthz() -> JsonResponse:
    """Liveness: the process is up and serving. Touches nothing else."""
    return JsonResponse({"status": "ok"})


def readyz() -> JsonResponse:
    """Readiness: the primary answers a query; 503 when it does not. The replica's state is
    reported but does not make a server unready: reads then go to the primary."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return error_response(503, "database_unavailable", "The database does not answer.")
    replica = replica_state()
    return JsonResponse(
        {"status": "ok", "database": "ok", "replica": replica.state, "replica_lag_seconds": replica.lag_seconds}
    )
