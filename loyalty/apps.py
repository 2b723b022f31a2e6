from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Loyalty (CLP API)"

    def ready(self) -> None:
        # Registers the token auth scheme with drf-spectacular.
        # Connects the webhook queueing to the outbox's "events committed" signal.
        import loyalty.openapi
        import loyalty.tasks  # noqa: F401
