"""Fuzz every operation from the project's own OpenAPI schema (schemathesis), bounded.

No 500s, and every response matches the schema: status code, content type and body;
Then the stateful mode: sequences of calls linked through their responses (a user_id
earned, then read, then redeemed). Negative-data and positive-data checks run in the
command-line run against a live server (docs/BENCHMARKS.md has the command): here every
call carries a fixed token, which undoes the header mutations those checks make.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from loyalty.models import AccessLevel
from rewards_project.wsgi import application
from tests.factories import ApplicationFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def keep_test_connection():
    """Calling the WSGI app directly would close the test's connection after each
    request; Django's own test client disconnects the same handler."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(db, settings) -> dict[str, str]:
    """A shop token for the API, a MasterApp token for the application endpoints and a
    Can_Manage_Program token for the rules."""
    settings.API_THROTTLE_RATES = {"application": None, "customer": None}
    cache.clear()
    return {
        "shop": ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS).token,
        "master": ApplicationFactory(access_level=AccessLevel.MASTER_APP, name="MasterApp").token,
        "program": ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program").token,
    }


def auth_for(path: str, tokens: dict[str, str]) -> dict[str, str]:
    if path.startswith("/loyalty-api/application"):
        token = tokens["master"]
    elif path.startswith(("/loyalty-api/rules", "/loyalty-api/segments")) or path.endswith("/segments/"):
        token = tokens["program"]
    else:
        token = tokens["shop"]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, tokens):
    case.call_and_validate(headers=auth_for(case.path, tokens), checks=CHECKS)


def test_each_operation_is_a_test_of_its_own():
    """A failure names its operation: every operation of the schema is collected under an id
    of its own, ``test_api_conforms_to_its_schema[GET /loyalty-api/tiers/]``, and none is left
    out (pytest's own collection, as a run sees it)."""
    operations = [result.ok().label for result in schema.get_all_operations()]
    here = Path(__file__)
    collected = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            f"tests/{here.name}::{NAME}",
        ],
        cwd=here.parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.splitlines()

    ids = [line.split("::", 1)[1] for line in collected if f"::{NAME}" in line]
    assert len(operations) > 40  # every endpoint of both APIs, each of its methods
    assert ids == [f"{NAME}[{label}]" for label in operations]


NAME = test_api_conforms_to_its_schema.__name__


@pytest.mark.django_db
def test_call_sequences_conform_to_the_schema(tokens):
    """Stateful mode: schemathesis chains calls through the links it infers."""

    class Workflow(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": auth_for(case.path, tokens)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
