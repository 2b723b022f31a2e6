"""loyalty-api/ (the CLP API) views: validate, call one service or selector, shape the answer."""

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.apis import points_text, validated
from core.db_router import replica_reads
from core.exceptions import NotFound
from core.limits import MAX_BIGINT
from core.openapi import errors
from loyalty import services
from loyalty.customers import customer_session_issue
from loyalty.models import AccessLevel, Application, Order
from loyalty.serializers import (
    ApplicationChangedOutput,
    ApplicationCreatedOutput,
    ApplicationCreateInput,
    ApplicationDeletedOutput,
    ApplicationDeleteInput,
    ApplicationOutput,
    ApplicationUpdateInput,
    CustomerSessionInput,
    CustomerSessionOutput,
    OrderCreateInput,
    OrderDeleteInput,
    OrderPartialReturnInput,
    OrderResultOutput,
    OrderReturnOutput,
    UserBalanceOutput,
    UserQueryInput,
    WebhookChangeInput,
    WebhookCreatedOutput,
    WebhookDeletedOutput,
    WebhookInput,
    WebhookListOutput,
    WebhookOutput,
)
from loyalty.services.webhooks import webhook_change, webhook_create, webhook_delete
from rewards.selectors import Balance, account_find
from rewards.shapes import balance_fields, iso


def order_fields(order: Order) -> dict[str, Any]:
    """As ``OrderOutput``, built directly (hot path)."""
    return {
        "order_id": order.order_id,
        "user_id": order.user_id,
        "total_cost": order.total_cost,
        "completed_at": int(order.completed_at.timestamp()),
        "coefficient": order.coefficient,
        "points_awarded": order.points_awarded,
        "returned": order.is_returned,
        "returned_cost": order.returned_cost,
    }


def body_or_query(request: Request) -> Any:
    """DELETE bodies are often dropped by proxies and clients, so the query string works too."""
    return request.data if request.data else request.query_params


@extend_schema_view(
    post=extend_schema(
        request=ApplicationCreateInput,
        responses={201: ApplicationCreatedOutput, **errors()},
        summary="Create a client application (MasterApp)",
    ),
    put=extend_schema(
        request=ApplicationUpdateInput,
        responses={200: ApplicationChangedOutput, **errors(404)},
        summary="Change an application's access level (MasterApp)",
    ),
    delete=extend_schema(
        # A DELETE body is often dropped on the way, so the query string is what the
        # schema shows; a JSON body with the same field works too.
        parameters=[ApplicationDeleteInput],
        request=None,
        responses={200: ApplicationDeletedOutput, **errors(404)},
        summary="Delete (revoke) an application (MasterApp); app_id in the query string or a JSON body",
    ),
)
class ApplicationApi(APIView):
    required_access = AccessLevel.MASTER_APP

    def post(self, request: Request) -> Response:
        data = validated(ApplicationCreateInput, request.data)
        issued = services.application_create(name=data["application_name"], access_level=data["access_level"])
        return Response(
            {
                "success": True,
                "message": "Application created. Store its token now: it is shown only once.",
                **ApplicationOutput(issued.app).data,
                "token": issued.token,
            },
            status=status.HTTP_201_CREATED,
        )

    def put(self, request: Request) -> Response:
        data = validated(ApplicationUpdateInput, request.data)
        app = services.application_set_access_level(app_id=data["app_id"], access_level=data["new_access_level"])
        return Response(
            {"success": True, "message": f"Access level is now {app.access_level}.", **ApplicationOutput(app).data}
        )

    def delete(self, request: Request) -> Response:
        is_query = not request.data
        data = validated(ApplicationDeleteInput, body_or_query(request), query=is_query)
        app = services.application_revoke(app_id=data["app_id"])
        return Response(
            {"success": True, "message": "Application revoked; its token no longer works.", "app_id": str(app.pk)}
        )


@extend_schema(
    parameters=[UserQueryInput], responses={200: UserBalanceOutput, **errors(404)}, summary="A customer's balance"
)
class UserApi(APIView):
    required_access = AccessLevel.CAN_READ

    def get(self, request: Request) -> Response:
        data = validated(UserQueryInput, request.query_params, query=True)
        with replica_reads():
            balance = account_find(user_id=data["user_id"])
        if balance is None:
            raise NotFound("No customer has this user_id.")
        return Response({"success": True, "user_id": balance.user_id, **customer_balance_fields(balance)})


@extend_schema_view(
    post=extend_schema(
        request=OrderCreateInput,
        responses={
            201: OrderResultOutput,
            200: OpenApiResponse(OrderResultOutput, description="A retry of a recorded order; nothing written."),
            **errors(409),
        },
        summary="Record an order and award its points",
    ),
    delete=extend_schema(
        parameters=[OrderDeleteInput],
        request=None,
        responses={200: OrderReturnOutput, **errors(404, 409)},
        summary="Return an order: take its points back; order_id in the query string or a JSON body",
    ),
)
class OrdersApi(APIView):
    required_access = AccessLevel.CAN_MODIFY_ORDERS

    def post(self, request: Request) -> Response:
        data = validated(OrderCreateInput, request.data)
        outcome = services.order_record(**data, app=request.auth)
        order = outcome.order
        message = (
            f"Order {order.order_id} earned {points_text(order.points_awarded)}."
            if outcome.created
            else f"Order {order.order_id} was already recorded; nothing changed."
        )
        body = {
            "success": True,
            "message": message,
            **order_fields(order),
            "points": order.points_awarded,
            "available_at": iso(outcome.available_at),
            # A retry answers with the balance right after the order, as first answered.
            **(customer_balance_fields(outcome.balance) if outcome.created else {}),
            "current_balance": order.balance_after,
            "total_points": order.balance_after,
        }
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)

    def delete(self, request: Request) -> Response:
        data = validated(OrderDeleteInput, body_or_query(request), query=not request.data)
        return order_return_response(**data, app=request.auth)


@extend_schema_view(
    delete=extend_schema(
        operation_id="loyalty_api_order_return_by_path",
        parameters=[
            OpenApiParameter(
                "order_id", {"type": "integer", "minimum": 1, "maximum": MAX_BIGINT}, OpenApiParameter.PATH
            ),
            OrderPartialReturnInput,
        ],
        responses={200: OrderReturnOutput, **errors(404, 409)},
        summary="Return an order: take its points back",
    )
)
class OrderDetailApi(APIView):
    """``DELETE orders/<order_id>``, for clients that cannot send a DELETE body."""

    required_access = AccessLevel.CAN_MODIFY_ORDERS

    def delete(self, request: Request, order_id: str) -> Response:
        path = validated(OrderDeleteInput, {"order_id": order_id}, query=True)
        data = validated(OrderPartialReturnInput, body_or_query(request), query=not request.data)
        return order_return_response(order_id=path["order_id"], **data, app=request.auth)


def customer_balance_fields(balance: Balance) -> dict[str, Any]:
    """The balance parts, with the CLP contract's name for the available points."""
    return {"current_balance": balance.total_points, **balance_fields(balance)}


def order_return_response(*, order_id: int, returned_cost: int | None = None, app: Application) -> Response:
    outcome = services.order_return(order_id=order_id, returned_cost=returned_cost, app=app)
    order = outcome.order
    whole = "returned" if order.is_fully_returned else f"returned in part ({order.returned_cost} of {order.total_cost})"
    return Response(
        {
            "success": True,
            "message": f"Order {order.order_id} {whole}; {points_text(outcome.points_taken_back)} taken back.",
            **order_fields(order),
            "points_taken_back": outcome.points_taken_back,
            **customer_balance_fields(outcome.balance),
        }
    )


def rewards_page_link(request: Request) -> str:
    """The rewards page's address: from PUBLIC_BASE_URL; from the request's Host only in
    DEBUG; otherwise the path alone, for the shop to put behind its own address."""
    path = reverse("rewards-page")
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + path
    if settings.DEBUG:
        return request.build_absolute_uri(path)
    return path


@extend_schema(
    tags=["rewards-api"],
    request=CustomerSessionInput,
    responses={201: CustomerSessionOutput, **errors()},
    summary="Issue a short-lived customer token for the rewards page",
)
class CustomerSessionApi(APIView):
    """``rewards-api/customer-session/``: a short-lived token for one customer's browser."""

    required_access = AccessLevel.CAN_MODIFY_ORDERS

    def post(self, request: Request) -> Response:
        data = validated(CustomerSessionInput, request.data)
        session = customer_session_issue(user_id=data["user_id"], app=request.auth, ttl_seconds=data.get("ttl_seconds"))
        fragment = urlencode({"token": session.token, "user_id": session.user_id})
        return Response(
            {
                "success": True,
                "message": "Customer session created.",
                "token": session.token,
                "user_id": session.user_id,
                "expires_at": session.expires_at,
                "rewards_page_url": f"{rewards_page_link(request)}#{fragment}",
            },
            status=status.HTTP_201_CREATED,
        )


@extend_schema_view(
    get=extend_schema(responses={200: WebhookListOutput, **errors()}, summary="This application's webhooks"),
    post=extend_schema(
        request=WebhookInput,
        responses={201: WebhookCreatedOutput, **errors()},
        summary="Subscribe a webhook; its signing secret is shown once",
    ),
)
class WebhooksApi(APIView):
    required_access = AccessLevel.CAN_READ

    def get(self, request: Request) -> Response:
        webhooks = request.auth.webhooks.order_by("id")
        return Response({"success": True, "webhooks": WebhookOutput(webhooks, many=True).data})

    def post(self, request: Request) -> Response:
        data = validated(WebhookInput, request.data)
        created = webhook_create(app=request.auth, **data)
        body = {"success": True, **WebhookOutput(created.subscription).data, "secret": created.secret}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    patch=extend_schema(
        request=WebhookChangeInput, responses={200: WebhookOutput, **errors(404)}, summary="Change a webhook"
    ),
    delete=extend_schema(responses={200: WebhookDeletedOutput, **errors(404)}, summary="Delete a webhook"),
)
class WebhookDetailApi(APIView):
    required_access = AccessLevel.CAN_READ

    def patch(self, request: Request, webhook_id: str) -> Response:
        data = validated(WebhookChangeInput, request.data)
        subscription = webhook_change(app=request.auth, webhook_id=_webhook_id(webhook_id), **data)
        return Response({"success": True, **WebhookOutput(subscription).data})

    def delete(self, request: Request, webhook_id: str) -> Response:
        webhook_delete(app=request.auth, webhook_id=_webhook_id(webhook_id))
        return Response({"success": True, "message": "Webhook deleted."})


def _webhook_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_BIGINT:
        raise NotFound("No webhook has this id.")
    return int(raw)
