from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Loyalty (CLP API)"

    def ready(self) -> None:
        # Registers the token auth scheme with drf-spectacular.
        import rewards_project.openapi  # noqa: F401
