from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The web pieces both apps share (errors, fields, parsers, middleware, logging, the
    database router and backend, health checks, limits). It imports no other app."""

    name = "core"

    def ready(self) -> None:
        from django.conf import settings

        from core.locale import catalogues_compile_at_startup

        # Before any request activates a language: its catalogue is read on first use.
        catalogues_compile_at_startup(list(settings.LOCALE_PATHS))
