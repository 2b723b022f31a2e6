import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.models import AccessLevel, Application
from tests.factories import ApplicationFactory

if TYPE_CHECKING:
    from playwright.sync_api import Browser


class Clock:
    """A clock the tests move: what ``timezone.now()`` answers everywhere in the service. With
    ``now`` None it answers the real time."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now or datetime.now(UTC)

    def at(self, moment: datetime) -> int:
        """Move to ``moment``; its unix seconds (an order's completed_at)."""
        self.now = moment
        return int(moment.timestamp())

    def to(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


@pytest.fixture
def clock_start() -> datetime | None:
    """Where ``clock`` starts: the real time, unless a test module overrides this fixture."""
    return None


@pytest.fixture
def clock(monkeypatch, clock_start: datetime | None) -> Clock:
    frozen = Clock(clock_start)
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen


def client_for(app: Application | None) -> APIClient:
    client = APIClient()
    if app is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {app.token}")
    return client


@pytest.fixture(autouse=True)
def _data_migrations(request: pytest.FixtureRequest) -> None:
    """Every test that uses the database starts with what the data migrations put there (the
    default catalog, the base earning rules), even after a transaction=True test flushed it."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not names & {"db", "transactional_db"}:
        return
    transactional = "transactional_db" in names or bool(marker and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    from tests.concurrency import data_migrations_restore

    data_migrations_restore()


@pytest.fixture
def shop_app(db) -> Application:
    return ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS)


@pytest.fixture
def reader_app(db) -> Application:
    return ApplicationFactory(access_level=AccessLevel.CAN_READ)


@pytest.fixture
def master_app(db) -> Application:
    return ApplicationFactory(access_level=AccessLevel.MASTER_APP, name="MasterApp")


@pytest.fixture
def committed_shop_app(transactional_db) -> Application:
    """A Can_Modify_Orders app for transaction=True tests, which flush the database,
    data migrations included: the default catalog is put back first."""
    from tests.concurrency import data_migrations_restore

    data_migrations_restore()
    return ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS)


@pytest.fixture
def shop(shop_app: Application) -> APIClient:
    """A client calling as a Can_Modify_Orders application."""
    return client_for(shop_app)


@pytest.fixture
def reader(reader_app: Application) -> APIClient:
    return client_for(reader_app)


@pytest.fixture
def master(master_app: Application) -> APIClient:
    return client_for(master_app)


@pytest.fixture
def post_json(shop: APIClient) -> Callable:
    """POST a JSON body as the shop app."""

    def post(path: str, body: dict | list | str | int | None = None, client: APIClient | None = None):
        return (client or shop).post(path, body, format="json")

    return post


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """STATIC_ROOT filled by collectstatic, as a production start does."""
    from tests.live import collectstatic

    root = tmp_path_factory.mktemp("staticfiles")
    collectstatic(root)
    return root


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, collected_static) -> Iterator[str]:
    """A gunicorn serving the test database in production mode (DEBUG off); its base URL."""
    from tests.live import gunicorn_serving

    with django_db_blocker.unblock(), gunicorn_serving(collected_static) as base:
        yield base


@pytest.fixture
def source_database() -> Iterator[tuple[str, object]]:
    """An empty PostgreSQL database beside the test database, as a predecessor system's: yields
    its URL and an autocommit connection to build and fill it; dropped afterwards."""
    import os

    import psycopg2
    from django.conf import settings

    from tests.live import database_url

    db = settings.DATABASES["default"]

    def connect(dbname: str):
        connection = psycopg2.connect(
            dbname=dbname,
            user=db["USER"],
            host=db["HOST"] or db["OPTIONS"].get("host"),
            port=db["PORT"] or None,
            password=db["PASSWORD"] or None,
        )
        connection.autocommit = True
        return connection

    name = f"import_source_{os.getpid()}"
    admin = connect("postgres")
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    source = connect(name)
    try:
        yield database_url(name), source
    finally:
        source.close()
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator["Browser"]:
    """The system Chromium, headless, for the rewards page and admin tests."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}: `apt-get install chromium` (make test does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One test id per API operation for schemathesis's tests.

    schemathesis names each operation's test ``test_x[GET /path/]``, but pytest 9 builds an
    item's id from its parametrization alone, and schemathesis's items carry none: all 51
    operations shared the id ``test_x``, so a failure did not say which operation failed.
    Each gets the id its name says (nothing changes once the two agree again)."""
    from schemathesis.pytest.plugin import SchemathesisFunction

    for item in items:
        if isinstance(item, SchemathesisFunction) and item.name != item.originalname and "[" not in item.nodeid:
            operation = item.name[len(item.originalname) + 1 : -1]
            item._id = item.parent.id.child(item.originalname).with_params(operation)
