"""Domain errors raised by services. No HTTP or DRF imports: services stay plain."""

from typing import Any


class DomainError(Exception):
    """A business rule said no. Carries a machine code, a message and an HTTP status."""

    status_code: int = 400
    code: str = "error"
    default_message: str = "The request could not be completed."

    def __init__(self, message: str | None = None, *, fields: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.fields = fields or {}
        super().__init__(self.message)


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class InvalidInput(DomainError):
    """A body a domain's grammar refuses (``core.validation``): ``fields`` names what is wrong,
    as the API's serializers name it."""

    code = "validation_error"
    default_message = "Invalid input."
