from django.apps import AppConfig
from pghistory.apps import PGHistoryConfig


class CoreConfig(AppConfig):
    """The web pieces both apps share (errors, fields, parsers, middleware, logging, the
    database router and backend, health checks, limits). It imports no other app."""

    name = "core"
    default = True  # the app's own config; AuditConfig below is pghistory's


class AuditConfig(PGHistoryConfig):
    """django-pghistory, named in admin for what it holds here: the audit record (core/audit.py)."""

    verbose_name = "Audit"
