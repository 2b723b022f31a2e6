from django.apps import AppConfig
from pghistory.apps import PGHistoryConfig


class CoreConfig(AppConfig):
    """The web pieces both apps share (errors, fields, parsers, middleware, logging, the
    database router and backend, health checks, limits). It imports no other app."""

    name = "core"
    default = True  # the app's own config; AuditConfig below is pghistory's

    def ready(self) -> None:
        from django.conf import settings

        from core.locale import catalogues_compile_at_startup

        # Before any request activates a language: its catalogue is read on first use.
        catalogues_compile_at_startup(list(settings.LOCALE_PATHS))


class AuditConfig(PGHistoryConfig):
    """django-pghistory, named in admin for what it holds here: the audit record (core/audit.py)."""

    verbose_name = "Audit"
