"""OpenAPI pieces shared by both APIs: the error body and the token auth scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. validation_error, insufficient_points.")
    message = serializers.CharField(help_text="For humans.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per-field messages for validation errors; empty otherwise.",
    )


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    error = ErrorDetailSerializer()


_ERROR_TEXT = {
    400: "Invalid input (validation_error, malformed_json, …); nothing was written.",
    401: "No token, or an unknown, revoked or expired one.",
    403: "The token's access level does not allow this.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict with the current state; nothing was written.",
    413: "Body over 64 KiB.",
    415: "Body is not JSON.",
    422: "The Idempotency-Key was already used with a different request.",
    429: "Rate limit reached; see the Retry-After header.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error responses an endpoint can give, all with the SPEC 7 body."""
    common = (400, 401, 403, 405, 413, 415, 429)
    return {
        status: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[status])
        for status in sorted({*common, *statuses})
    }


class AppTokenScheme(OpenApiAuthenticationExtension):
    target_class = "loyalty.authentication.AppTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An application token (or a customer session token, `cs_…`) as "
                "`Authorization: Bearer <token>`. The header `Token: <token>` is accepted too."
            ),
        }


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Optional. The same key with the same request within 24 hours replays the first response "
        "(header Idempotent-Replayed: true) and writes nothing; with another request it is 422."
    ),
)
