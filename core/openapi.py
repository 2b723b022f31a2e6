"""OpenAPI pieces shared by both APIs: the error body, the Idempotency-Key header, the links."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
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
    414: "Request line (path and query string) over 8190 bytes; refused by the server before the API.",
    415: "Body is not JSON.",
    422: "The Idempotency-Key was already used with a different request.",
    429: "Rate limit reached; see the Retry-After header.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error responses an endpoint can give, all with the API's error body (docs/API.md, Errors)."""
    common = (400, 401, 403, 405, 413, 414, 415, 429)
    return {
        status: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[status])
        for status in sorted({*common, *statuses})
    }


def read_schema(*, query: type[serializers.Serializer], answer: type[serializers.Serializer], summary: str, tag: str):
    """The schema of a read endpoint that answers GET with its query string and POST with the
    same fields in a JSON body (the seed's read endpoints take both)."""
    return extend_schema_view(
        get=extend_schema(tags=[tag], parameters=[query], responses={200: answer, **errors()}, summary=summary),
        post=extend_schema(tags=[tag], request=query, responses={200: answer, **errors()}, summary=summary),
    )


IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN, "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description=(
        "Optional. The same key with the same request within 24 hours replays the first response "
        "(header Idempotent-Replayed: true) and writes nothing; with another request it is 422. "
        "1 to 255 printable ASCII characters, no spaces."
    ),
)


# Input schemas that need one field of a set, which a serializer cannot say by itself.
ANY_OF_REQUIRED = {"PurchaseInput": ("amount", "price")}

# OpenAPI links: what a client (or a stateful fuzzer) can do next with a response's
# fields. (operationId, status) -> {link name: (target operationId, {parameter: expression})}.
_CUSTOMER = {"user_id": "$response.body#/user_id"}
_CUSTOMER_BODY = {"requestBody": {"user_id": "$response.body#/user_id"}}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict]]] = {
    **{
        (credit, "201"): {
            "GetPoints": ("rewards_api_get_points_retrieve", {"parameters": _CUSTOMER}),
            "GetUserInfo": ("rewards_api_get_user_info_retrieve", {"parameters": _CUSTOMER}),
            "RedeemCoupon": ("rewards_api_redeem_coupon_create", _CUSTOMER_BODY),
            "IssueCustomerSession": ("rewards_api_customer_session_create", _CUSTOMER_BODY),
        }
        for credit in (
            "rewards_api_earn_points_create",
            "rewards_api_purchase_create",
            "rewards_api_submit_feedback_create",
        )
    },
    ("rewards_api_redeem_coupon_create", "201"): {
        "UseCoupon": ("rewards_api_use_coupon_create", {"requestBody": {"item_code": "$response.body#/item_code"}}),
        "GetRedemptions": ("rewards_api_get_redemptions_retrieve", {"parameters": _CUSTOMER}),
    },
    ("loyalty_api_orders_create", "201"): {
        "ReturnOrder": ("loyalty_api_order_return_by_path", {"parameters": {"order_id": "$response.body#/order_id"}}),
        "GetUser": ("loyalty_api_user_retrieve", {"parameters": _CUSTOMER}),
    },
}


def schema_postprocessing_hook(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: ``anyOf`` required fields, the 404 of every path with
    a parameter, and response links."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, fields in ANY_OF_REQUIRED.items():
        if name in schemas:
            schemas[name]["anyOf"] = [{"required": [field]} for field in fields]
    operations = {
        operation["operationId"]: operation
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    # A path parameter holding a control character names nothing: 404 on every such path
    # (core.urlpatterns), also where the operation has no not-found of its own.
    for operation in operations.values():
        if any(parameter.get("in") == "path" for parameter in operation.get("parameters", [])):
            operation["responses"].setdefault(
                "404",
                {
                    "description": "No endpoint: a path parameter with a control character in it.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            )
            operation["responses"] = dict(sorted(operation["responses"].items()))
    for (operation_id, status), links in LINKS.items():
        response = operations.get(operation_id, {}).get("responses", {}).get(status)
        if response is not None:
            response["links"] = {
                name: {"operationId": target, **values}
                for name, (target, values) in links.items()
                if target in operations
            }
    return result
