"""Run callables at the same moment, each in its own thread with its own database connection."""

import importlib
import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")

_default_catalog = importlib.import_module("rewards.migrations.0002_default_catalog")
_base_rules = importlib.import_module("rewards.migrations.0018_base_rules")


def data_migrations_restore() -> None:
    """transaction=True tests flush the database, data migrations included: the default
    catalog and the base earning rules are put back, as the migrations made them."""
    from django.apps import apps

    from rewards.models import Rule

    _default_catalog.add_default_catalog(apps, None)
    if not Rule.objects.exists():
        _base_rules.seed(apps, None)


def run_concurrently(work: Callable[[int], T], count: int, timeout: float = 60) -> list[T | BaseException]:
    """Call ``work(i)`` for i in range(count) in parallel threads released together.

    Each thread opens its own connection (Django connections are per thread) and
    closes it at the end. Returns each call's result or the exception it raised.
    """
    barrier = threading.Barrier(count)
    results: list[T | BaseException | None] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait(timeout)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a concurrent call hung"
    return results  # type: ignore[return-value]
