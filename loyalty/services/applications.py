"""Client applications and their tokens: create, change, revoke, rotate; the MasterApp."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.access import AccessLevel
from core.exceptions import DomainError, NotFound
from loyalty.models import Application
from loyalty.tokens import token_generate, token_hash
from rewards.models import EventType
from rewards.services.events import event_record

# last_used_at is for humans ("is this app still calling us?"); writing it on
# every request would add a write to every read.
LAST_USED_RESOLUTION = timedelta(minutes=1)
CLIENT_ACCESS_LEVELS = (AccessLevel.CAN_READ, AccessLevel.CAN_MODIFY_ORDERS, AccessLevel.CAN_MANAGE_PROGRAM)


class MasterAppImmutable(DomainError):
    status_code = 403
    code = "master_app_immutable"
    default_message = "A MasterApp cannot be created, changed or deleted through the API."


@dataclass(frozen=True)
class IssuedToken:
    """An application and its raw token; the token exists only in this object."""

    app: Application
    token: str


def application_touch(*, app: Application) -> None:
    now = timezone.now()
    if app.last_used_at is None or now - app.last_used_at >= LAST_USED_RESOLUTION:
        Application.objects.filter(pk=app.pk).update(last_used_at=now)
        app.last_used_at = now


def application_create(*, name: str, access_level: str) -> IssuedToken:
    """Create a client application and return its token, which is never stored."""
    if access_level not in CLIENT_ACCESS_LEVELS:
        raise MasterAppImmutable()
    token = token_generate()
    app = Application.objects.create(name=name, access_level=access_level, token_hash=token_hash(token))
    return IssuedToken(app=app, token=token)


def _client_application_for_update(*, app_id: object) -> Application:
    app = Application.objects.active().select_for_update().filter(pk=app_id).first()
    if app is None:
        raise NotFound("No active application has this app_id.")
    if app.access_level == AccessLevel.MASTER_APP:
        raise MasterAppImmutable()
    return app


@transaction.atomic
def application_set_access_level(*, app_id: object, access_level: str) -> Application:
    if access_level not in CLIENT_ACCESS_LEVELS:
        raise MasterAppImmutable()
    app = _client_application_for_update(app_id=app_id)
    app.access_level = access_level
    app.save(update_fields=["access_level"])
    return app


@transaction.atomic
def application_revoke(*, app_id: object) -> Application:
    """Revoke at once: the token stops working on the very next request."""
    app = _client_application_for_update(app_id=app_id)
    app.revoked_at = timezone.now()
    app.save(update_fields=["revoked_at"])
    event_record(
        type=EventType.APPLICATION_REVOKED,
        user_id=None,
        now=app.revoked_at,
        app=app,
        extra={"application": {"app_id": str(app.pk), "application_name": app.name}},
    )
    return app


@transaction.atomic
def application_token_rotate(*, app: Application) -> IssuedToken:
    token = token_generate()
    app.token_hash = token_hash(token)
    app.save(update_fields=["token_hash"])
    return IssuedToken(app=app, token=token)


@transaction.atomic
def master_app_ensure(*, name: str, token: str | None = None) -> tuple[Application, str | None, bool]:
    """Make sure an active MasterApp exists; idempotent.

    Returns ``(app, token_to_show, created)``. A generated token is returned only
    when the app is created, since only its hash is kept. A given ``token`` (from
    ``MASTER_APP_TOKEN``) becomes the app's token, so a container can start with a
    known one; it is never echoed back.
    """
    app = (
        Application.objects.active().select_for_update().filter(access_level=AccessLevel.MASTER_APP, name=name).first()
    )
    if app is None:
        raw = token or token_generate()
        app = Application.objects.create(name=name, access_level=AccessLevel.MASTER_APP, token_hash=token_hash(raw))
        return app, (None if token else raw), True
    if token and app.token_hash != token_hash(token):
        app.token_hash = token_hash(token)
        app.save(update_fields=["token_hash"])
    return app, None, False
