"""Who changed what: the audit record, written by database triggers (django-pghistory).

A model decorated with :func:`audited` gets an audit table (``<app>_<model>audit``) and three
row triggers on its own table: every INSERT, UPDATE and DELETE, whatever made it (the API,
admin, a management command, plain SQL), writes one audit row with the row's values
(after the change; before it for a delete), the operation, the time of the transaction and
the actor. The triggers are declared here and in the models, and pgtrigger installs them
through migrations: that declaration is their one home.

The actor is the pghistory context of the request: :class:`AuditContextMiddleware` opens it
for every request that may write and names the staff user of an admin request;
:func:`audit_actor` adds the application, from the one place an API request is authenticated.
A change made outside any request (plain SQL, a command, a job) is recorded with no actor.

Audit rows are append-only (a trigger refuses UPDATE and DELETE on every audit table), and
their ids come from one sequence, ``audit_event_id``, shared by every audit table: the id
orders every change recorded, across subjects, for whatever reads them in order.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import pghistory
import pgtrigger
from django.db import connection, models
from django.http import HttpRequest, HttpResponse
from pghistory.models import Event

ModelT = TypeVar("ModelT", bound=type[models.Model])

AUDIT_ID_SEQUENCE = "audit_event_id"

# The subject name of each audited model (its label, "rewards.Rule"), as the API names it.
AUDIT_SUBJECTS: dict[str, str] = {}

# Requests with these methods write nothing, so they open no context.
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class AuditEvent(Event):
    """The base of every audit table: pghistory's event columns, with the id drawn from the
    one sequence every audit table shares (the trigger leaves it to this default)."""

    pgh_id = models.BigIntegerField(
        primary_key=True,
        db_default=models.Func(models.Value(AUDIT_ID_SEQUENCE), function="nextval"),
    )
    # The entry's link in the audit chain (its trigger, audit_chain_link: rewards/sql/audit.sql):
    # its place in the one chain of every audit table, 1, 2, 3 … with no gap, and SHA-256 of
    # the entry before it and its canonical form. NULL only for an entry written with the
    # trigger off, which verify_ledger names.
    pgh_seq = models.BigIntegerField(null=True)
    pgh_hash = models.BinaryField(null=True)

    class Meta:
        abstract = True


def audited(subject: str, *, exclude: Iterable[str] = ()) -> Callable[[ModelT], ModelT]:
    """Record every insert, update and delete of the model's rows, as ``subject``.

    ``exclude``: columns never copied into the record (secrets, token hashes) or that move on
    their own with no one changing anything (counters, cursors, last-used times); an UPDATE
    that changes only those is not recorded.
    """

    def decorate(model: ModelT) -> ModelT:
        AUDIT_SUBJECTS[model._meta.label] = subject
        return pghistory.track(
            pghistory.InsertEvent(trigger_name="audit_insert"),
            pghistory.UpdateEvent(trigger_name="audit_update"),
            pghistory.DeleteEvent(trigger_name="audit_delete"),
            exclude=list(exclude),
            model_name=f"{model.__name__}Audit",
            # The (pgh_obj_id, pgh_id) index below serves the object's lookups: no index of its own.
            obj_field=pghistory.ObjForeignKey(related_name="+", related_query_name="+", db_index=False),
            meta={
                "verbose_name": f"{model._meta.verbose_name} audit entry",
                # Each entry is the next link of the one audit chain, chained as it is written
                # (docs/VERIFY.md): its id is drawn again under the chain's lock, so ids, the
                # chain and commits are in one order.
                "triggers": [
                    pgtrigger.Trigger(
                        name="chain",
                        when=pgtrigger.Before,
                        operation=pgtrigger.Insert,
                        func=(
                            "SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash "
                            f"FROM audit_chain_link(NEW, '{subject}') link; RETURN NEW;"
                        ),
                    ),
                    # At commit, the chain's head moves to the transaction's last link: once,
                    # for the transaction's first entry.
                    pgtrigger.Trigger(
                        name="chain_head",
                        when=pgtrigger.After,
                        operation=pgtrigger.Insert,
                        timing=pgtrigger.Deferred,
                        condition=pgtrigger.Condition("NEW.pgh_id::text = current_setting('audit_chain.first', true)"),
                        func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    ),
                ],
                # A page is read by the primary key (the id cursor) or by time, then each of its
                # entries finds the one before it for the same object: never a scan of the table.
                "indexes": [
                    models.Index(fields=["pgh_obj", "pgh_id"], name=f"{subject}_pgh_obj"),
                    models.Index(fields=["pgh_created_at"], name=f"{subject}_pgh_at"),
                ],
            },
        )(model)

    return decorate


def audit_models() -> list[type[models.Model]]:
    """Every audit table's model, in the order their subjects were declared."""
    from django.apps import apps

    found = []
    for label in AUDIT_SUBJECTS:
        tracked = apps.get_model(label)
        found.extend(m for m in set(tracked.pgh_event_models.values()) if m not in found)
    return found


def audit_actor(**actor: Any) -> None:
    """Name who acts in this request (an application, once its token is checked): every change
    recorded from now on in the request carries it. Outside a request, nothing happens."""
    pghistory.context(**actor)


def staff_actor(request: HttpRequest) -> dict[str, Any]:
    """The staff user of a site (admin) request, if one is logged in."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"actor": "staff", "staff_user_id": user.pk, "staff_username": user.get_username()}


class AuditContextMiddleware:
    """Every request that may write runs in one audit context: the changes it makes are
    grouped under one context id and carry its path and, once known, its actor. Placed after
    the authentication of site requests, so an admin request's staff user is known here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in _READ_METHODS:
            return self.get_response(request)
        with pghistory.context(path=request.path, method=request.method, **staff_actor(request)):
            return self.get_response(request)


# ---- reading the record ---------------------------------------------------------------------------

AUDIT_PAGE_MAX = 1000


@dataclass(frozen=True)
class AuditEntry:
    """One recorded change: what (subject, object, action), when, who, and the values."""

    id: int
    at: datetime
    subject: str
    object_id: str | None
    action: str  # insert, update, delete; "existing": the row as it was when the record began
    actor: dict[str, Any] | None
    path: str | None
    context_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "subject": self.subject,
            "object_id": self.object_id,
            "action": self.action,
            "actor": self.actor,
            "path": self.path,
            "context_id": self.context_id,
            "before": self.before,
            "after": self.after,
        }


def _actor(context: dict[str, Any] | None) -> dict[str, Any] | None:
    context = context or {}
    if context.get("actor") == "staff":
        return {"type": "staff", "user_id": context["staff_user_id"], "username": context["staff_username"]}
    if context.get("actor") == "application":
        return {"type": "application", "app_id": context["app_id"], "name": context["app_name"]}
    return None


def _recorded_columns(audit_model: type[models.Model]) -> list[str]:
    """The pghistory columns of an audit table (``pgh_*``): what an entry's data leaves out."""
    return [f.column for f in audit_model._meta.concrete_fields if f.column.startswith("pgh_")]


def _entry_sql(audit_model: type[models.Model], subject: str) -> str:
    """The entries of one audit table whose ids are in ``page``, each with its data and the data
    of the entry before it for the same object (one step back on (pgh_obj_id, pgh_id))."""
    table = connection.ops.quote_name(audit_model._meta.db_table)
    dropped = ", ".join(f"'{column}'" for column in _recorded_columns(audit_model))
    return f"""
        SELECT '{subject}', e.pgh_id, e.pgh_created_at, e.pgh_label, e.pgh_obj_id::text, e.pgh_context_id,
               e.pgh_context::text, (to_jsonb(e) - ARRAY[{dropped}])::text,
               (SELECT (to_jsonb(p) - ARRAY[{dropped}])::text FROM {table} p
                WHERE p.pgh_obj_id = e.pgh_obj_id AND p.pgh_id < e.pgh_id ORDER BY p.pgh_id DESC LIMIT 1)
        FROM {table} e WHERE e.pgh_id IN (SELECT pgh_id FROM page)"""


def _read(
    models_read: list[type[models.Model]],
    conditions: list[str],
    params: dict[str, Any],
    *,
    limit: int,
    newest_first: bool,
) -> list[AuditEntry]:
    """The first ``limit`` entries meeting ``conditions`` (SQL over an audit table's own columns),
    in id order (newest first if asked), across the audit tables given.

    Each table gives its own first ``limit`` ids by its indexes (the primary key, pgh_created_at)
    before anything is joined; the page is the first ``limit`` of those, and only its entries
    are read whole, each with the one entry before it (the (pgh_obj_id, pgh_id) index): a page
    costs what it holds, not what the record holds."""
    if not models_read:
        return []
    order = "DESC" if newest_first else ""
    where = " AND ".join(conditions) or "true"
    candidates = " UNION ALL ".join(
        f"(SELECT pgh_id FROM {connection.ops.quote_name(m._meta.db_table)} WHERE {where} "
        f"ORDER BY pgh_id {order} LIMIT %(limit)s)"
        for m in models_read
    )
    entries = " UNION ALL ".join(_entry_sql(m, AUDIT_SUBJECTS[m.pgh_tracked_model._meta.label]) for m in models_read)
    sql = (
        f"WITH page AS MATERIALIZED (SELECT pgh_id FROM ({candidates}) candidates ORDER BY pgh_id {order} "
        f"LIMIT %(limit)s) {entries} ORDER BY 2 {order}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "limit": limit})
        return [_entry(*record) for record in cursor.fetchall()]


def _entry(
    subject: str,
    entry_id: int,
    at: datetime,
    action: str,
    object_id: str | None,
    context_id: Any,
    context: str | None,
    data: str,
    previous: str | None,
) -> AuditEntry:
    """An entry from its row: ``before`` is, for an update, the row with the values the entry
    before it (for the same object) held for the columns that changed."""
    context_values = json.loads(context) if context else None
    values = json.loads(data)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = values
    if action == "delete":
        before, after = values, None
    elif action == "update" and previous is not None:
        earlier = json.loads(previous)
        changed = {name: earlier[name] for name, value in values.items() if name in earlier and earlier[name] != value}
        before = {**values, **changed} if changed else None
    return AuditEntry(
        id=entry_id,
        at=at,
        subject=subject,
        object_id=object_id,
        action=action,
        actor=_actor(context_values),
        path=(context_values or {}).get("path"),
        context_id=str(context_id) if context_id else None,
        before=before,
        after=after,
    )


def _subject_models(subject: str | None) -> list[type[models.Model]]:
    found = audit_models()
    if subject is None:
        return found
    return [m for m in found if AUDIT_SUBJECTS[m.pgh_tracked_model._meta.label] == subject]


def audit_entries(
    *, start: date, end: date, subject: str | None = None, after_id: int = 0, limit: int = 100
) -> list[AuditEntry]:
    """The changes recorded from the start of ``start`` to the end of ``end`` (UTC days), of one
    subject or all, in id order, the first ``limit`` after ``after_id`` (the cursor)."""
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    conditions = ["pgh_created_at >= %(since)s", "pgh_created_at < %(until)s", "pgh_id > %(after)s"]
    params = {"since": since, "until": until, "after": after_id}
    return _read(_subject_models(subject), conditions, params, limit=limit, newest_first=False)


def audit_latest(*, subject: str | None = None, before_id: int | None = None, limit: int = 100) -> list[AuditEntry]:
    """The latest changes recorded (of one subject or all), newest first, before the entry
    ``before_id`` when given: what admin lists, page by page."""
    conditions = [] if before_id is None else ["pgh_id < %(before)s"]
    return _read(_subject_models(subject), conditions, {"before": before_id}, limit=limit, newest_first=True)


# ---- checking the record against the rows -------------------------------------------------------


@dataclass(frozen=True)
class AuditProblem:
    """A watched row the record does not account for: changed, made or removed with the
    triggers off (``session_replication_role = replica``, a disabled trigger)."""

    subject: str
    object_id: str
    problem: str

    def __str__(self) -> str:
        return f"{self.subject} {self.object_id}: {self.problem}"


def _drift_sql(audit_model: type[models.Model]) -> str:
    tracked = audit_model.pgh_tracked_model
    table, record, pk = tracked._meta.db_table, audit_model._meta.db_table, tracked._meta.pk.column
    tracked_columns = {f.column for f in tracked._meta.concrete_fields}
    recorded_columns = [f.column for f in audit_model._meta.concrete_fields if not f.name.startswith("pgh_")]
    columns = [column for column in recorded_columns if column in tracked_columns]
    now = ", ".join(f't."{c}"' for c in columns)
    recorded = ", ".join(f'e."{c}"' for c in columns)
    return f"""
        SELECT t."{pk}"::text, CASE WHEN e.pgh_id IS NULL THEN 'no entry in the record'
                                    WHEN e.pgh_label = 'delete' THEN 'recorded as deleted, but there'
                                    ELSE 'differs from its last entry' END
        FROM "{table}" t
        LEFT JOIN LATERAL (
            SELECT * FROM "{record}" x WHERE x.pgh_obj_id = t."{pk}" ORDER BY x.pgh_id DESC LIMIT 1
        ) e ON true
        WHERE e.pgh_id IS NULL OR e.pgh_label = 'delete' OR ROW({now}) IS DISTINCT FROM ROW({recorded})
        UNION ALL
        SELECT e.pgh_obj_id::text, 'gone, with no delete recorded'
        FROM (SELECT DISTINCT ON (pgh_obj_id) pgh_obj_id, pgh_label FROM "{record}" ORDER BY pgh_obj_id, pgh_id DESC) e
        WHERE e.pgh_label <> 'delete' AND NOT EXISTS (SELECT 1 FROM "{table}" t WHERE t."{pk}" = e.pgh_obj_id)
    """


def audit_drift() -> list[AuditProblem]:
    """Every watched row whose values are not those of its last audit entry, that has none, or
    that is gone with no delete recorded: one query per watched table, inside PostgreSQL."""
    problems = []
    with connection.cursor() as cursor:
        for audit_model in audit_models():
            subject = AUDIT_SUBJECTS[audit_model.pgh_tracked_model._meta.label]
            cursor.execute(_drift_sql(audit_model) + " ORDER BY 1")
            problems += [AuditProblem(subject, object_id, problem) for object_id, problem in cursor.fetchall()]
    return problems
