from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The web pieces both apps share (errors, fields, parsers, middleware, logging, the
    database router and backend, health checks, limits). It imports no other app."""

    name = "core"
