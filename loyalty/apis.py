"""loyalty-api/ (the CLP API) views: validate, call one service or selector, shape the answer."""

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.access import AccessLevel
from core.apis import points_text, validated
from core.audit import AuditEntry, audit_entries
from core.db_router import replica_reads
from core.exceptions import NotFound
from core.limits import MAX_BIGINT
from core.openapi import errors
from core.renderers import CSVRenderer, csv_filename
from loyalty import services
from loyalty.customers import customer_session_issue
from loyalty.models import Application, Order
from loyalty.serializers import (
    MAX_RULES_LISTED,
    SIMULATED_EVENT_INPUTS,
    ApplicationChangedOutput,
    ApplicationCreatedOutput,
    ApplicationCreateInput,
    ApplicationDeletedOutput,
    ApplicationDeleteInput,
    ApplicationOutput,
    ApplicationUpdateInput,
    AuditOutput,
    AuditQueryInput,
    BreakageOutput,
    ChallengeInputDoc,
    ChallengeListOutput,
    ChallengeOutput,
    CustomerExportOutput,
    CustomerSegmentsOutput,
    CustomerSessionInput,
    CustomerSessionOutput,
    LiabilityOutput,
    LiabilityQueryInput,
    OrderCreateInput,
    OrderDeleteInput,
    OrderPartialReturnInput,
    OrderResultOutput,
    OrderReturnOutput,
    PersonalDataErasedOutput,
    ReferralCodeInput,
    ReferralCodeOutput,
    ReferralInput,
    ReferralOutput,
    RollforwardOutput,
    RollforwardQueryInput,
    RuleListOutput,
    RulePatchInput,
    RuleSimulateInput,
    RulesQueryInput,
    RuleVersionInput,
    SegmentAwardInput,
    SegmentAwardOutput,
    SegmentInputDoc,
    SegmentListOutput,
    SegmentMembersOutput,
    SegmentMembersQueryInput,
    SegmentOutput,
    UserBalanceOutput,
    UserQueryInput,
    WebhookChangeInput,
    WebhookCreatedOutput,
    WebhookDeletedOutput,
    WebhookInput,
    WebhookListOutput,
    WebhookOutput,
)
from loyalty.services.personal_data import (
    CustomerNotFound,
    customer_export,
    customer_points_as_of,
    personal_data_erase,
)
from loyalty.services.webhooks import webhook_change, webhook_create, webhook_delete
from rewards import reports
from rewards import services as rewards_services
from rewards.apis import acting_app, balance_as_of_fields
from rewards.errors import BadgeNotFound, CatalogItemNotFound
from rewards.models import CatalogItem, Rule, RuleTrigger
from rewards.segments import membership
from rewards.selectors import (
    Balance,
    account_find,
    badge_find,
    badges_all,
    catalog_item_find,
    catalog_items_all,
    rule_find,
    rules_listed,
)
from rewards.serializers import (
    AsOfQueryInput,
    AwardsOutput,
    BadgeInput,
    BadgeListOutput,
    BadgeOutput,
    BadgePatchInput,
    BalanceAsOfOutput,
    CatalogInput,
    CatalogItemOutput,
    CatalogItemSavedOutput,
    CatalogOutput,
    RuleInput,
    RuleOutput,
    TierLadderInput,
    TierLadderOutput,
)
from rewards.services import challenges as challenge_services
from rewards.services import segments as segment_services
from rewards.services.badges import badge_create, badge_edit
from rewards.services.catalog import catalog_item_create, catalog_item_edit
from rewards.shapes import badge_fields, balance_fields, iso


def order_fields(order: Order) -> dict[str, Any]:
    """As ``OrderOutput``, built directly (hot path)."""
    return {
        "order_id": order.order_id,
        "user_id": order.user_id,
        "total_cost": order.total_cost,
        "completed_at": int(order.completed_at.timestamp()),
        "coefficient": order.coefficient,
        "points_awarded": order.points_awarded,
        "breakdown": order.breakdown,
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
        return Response(
            {
                "success": True,
                "user_id": balance.user_id,
                **customer_balance_fields(balance),
                **rewards_services.tier_fields(balance.user_id),
            }
        )


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


def _path_id(raw: str, not_found: NotFound) -> int:
    """An id from the path: a positive bigint, else ``not_found`` (there is nothing by that id)."""
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_BIGINT:
        raise not_found
    return int(raw)


def _webhook_id(raw: str) -> int:
    return _path_id(raw, NotFound("No webhook has this id."))


# ---- the program: earning rules (Can_Manage_Program) -----------------------------------------


def _rule_id(raw: str) -> int:
    return _path_id(raw, rewards_services.RuleNotFound())


def _editor(request: Request) -> str:
    return f"application {request.auth.name}"


def rule_fields(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "version": rule.version,
        **rewards_services.rule_definition(rule),
        "updated_at": iso(rule.updated_at),
        "updated_by": rule.updated_by,
    }


@extend_schema_view(
    get=extend_schema(
        parameters=[RulesQueryInput],
        responses={200: RuleListOutput, **errors()},
        summary="List the earning rules (archived ones with ?status=archived)",
    ),
    post=extend_schema(
        request=RuleInput,
        responses={201: RuleOutput, **errors()},
        summary="Create an earning rule (version 1)",
    ),
)
class RulesApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request) -> Response:
        query = validated(RulesQueryInput, request.query_params, query=True)
        rules = rules_listed(status=query.get("status"), trigger=query.get("trigger"), limit=MAX_RULES_LISTED)
        return Response({"success": True, "rules": [rule_fields(rule) for rule in rules]})

    def post(self, request: Request) -> Response:
        rule = rewards_services.rule_create(definition=_object_body(request), by=_editor(request))
        return Response({"success": True, **rule_fields(rule)}, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses={200: RuleOutput, **errors(404)}, summary="Read an earning rule"),
    patch=extend_schema(
        request=RulePatchInput,
        responses={200: RuleOutput, **errors(404, 409)},
        summary="Edit an earning rule: any of its keys; a change makes a new version",
    ),
    delete=extend_schema(
        responses={200: RuleOutput, **errors(404)},
        summary="Archive an earning rule: it awards nothing more; its awards and versions stay",
    ),
)
class RuleDetailApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request, rule_id: str) -> Response:
        rule = rule_find(rule_id=_rule_id(rule_id))
        if rule is None:
            raise rewards_services.RuleNotFound()
        return Response({"success": True, **rule_fields(rule)})

    def patch(self, request: Request, rule_id: str) -> Response:
        rule_id = _rule_id(rule_id)
        changes = _object_body(request)
        # A rule read, changed and sent back whole is an edit: what the answer carries beside the
        # definition is not the editor's to set; its version, when sent, must still be current.
        if changes.pop("id", rule_id) != rule_id:
            raise ValidationError({"id": ["The rule's id is the one in the path."]})
        for read_only in ("success", "updated_at", "updated_by"):
            changes.pop(read_only, None)
        from_version = validated(RuleVersionInput, {"version": changes.pop("version", None)})["version"]
        rule = rewards_services.rule_edit(
            rule_id=rule_id, changes=changes, by=_editor(request), from_version=from_version
        )
        return Response({"success": True, **rule_fields(rule)})

    def delete(self, request: Request, rule_id: str) -> Response:
        rule = rewards_services.rule_archive(rule_id=_rule_id(rule_id), by=_editor(request))
        return Response({"success": True, **rule_fields(rule)})


@extend_schema_view(
    get=extend_schema(responses={200: TierLadderOutput, **errors()}, summary="The tier ladder"),
    put=extend_schema(
        request=TierLadderInput,
        responses={200: TierLadderOutput, **errors()},
        summary="Set the tier ladder (replaces it whole; no tiers removes it)",
    ),
)
class TiersApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request) -> Response:
        return Response({"success": True, **rewards_services.ladder_fields()})

    def put(self, request: Request) -> Response:
        rewards_services.ladder_set(definition=_object_body(request), by=_editor(request))
        return Response({"success": True, **rewards_services.ladder_fields()})


def _catalog_item_id(raw: str) -> int:
    return _path_id(raw, CatalogItemNotFound())


def _catalog_fields(item: CatalogItem) -> dict[str, Any]:
    return {"success": True, **CatalogItemOutput(item).data}


@extend_schema_view(
    get=extend_schema(
        responses={200: CatalogOutput, **errors()}, summary="Every catalog item, active or not, with its stock left"
    ),
    post=extend_schema(
        request=CatalogInput,
        responses={201: CatalogItemSavedOutput, **errors(409)},
        summary="Create a catalog item (stock, a per-customer limit, dates, tiers, the coupons' validity)",
    ),
)
class CatalogManageApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request) -> Response:
        return Response({"success": True, "catalog": CatalogItemOutput(catalog_items_all(), many=True).data})

    def post(self, request: Request) -> Response:
        item = catalog_item_create(definition=_object_body(request))
        return Response(_catalog_fields(item), status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses={200: CatalogItemSavedOutput, **errors(404)}, summary="A catalog item"),
    patch=extend_schema(
        request=CatalogInput(partial=True),
        responses={200: CatalogItemSavedOutput, **errors(404, 409)},
        summary="Edit a catalog item: any of its keys (coupons already issued keep theirs)",
    ),
)
class CatalogItemApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request, item_id: str) -> Response:
        item = catalog_item_find(item_id=_catalog_item_id(item_id))
        if item is None:
            raise CatalogItemNotFound()
        return Response(_catalog_fields(item))

    def patch(self, request: Request, item_id: str) -> Response:
        changes = _object_body(request)
        for read_only in ("success", "id", "stock_left"):
            changes.pop(read_only, None)
        item = catalog_item_edit(item_id=_catalog_item_id(item_id), changes=changes)
        return Response(_catalog_fields(item))


@extend_schema_view(
    get=extend_schema(responses={200: BadgeListOutput, **errors()}, summary="Every badge"),
    post=extend_schema(
        request=BadgeInput, responses={201: BadgeOutput, **errors(409)}, summary="Create a badge (a code is set once)"
    ),
)
class BadgesApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request) -> Response:
        return Response({"success": True, "badges": [badge_fields(badge) for badge in badges_all()]})

    def post(self, request: Request) -> Response:
        badge = badge_create(definition=_object_body(request))
        return Response({"success": True, **badge_fields(badge)}, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses={200: BadgeOutput, **errors(404)}, summary="A badge"),
    patch=extend_schema(
        request=BadgePatchInput(partial=True),
        responses={200: BadgeOutput, **errors(404)},
        summary="Change a badge's name, description or picture (its holders keep it)",
    ),
)
class BadgeDetailApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request, code: str) -> Response:
        badge = badge_find(code=code)
        if badge is None:
            raise BadgeNotFound()
        return Response({"success": True, **badge_fields(badge)})

    def patch(self, request: Request, code: str) -> Response:
        changes = _object_body(request)
        for read_only in ("success", "created_at", "updated_at"):
            changes.pop(read_only, None)
        badge = badge_edit(code=code, changes=changes)
        return Response({"success": True, **badge_fields(badge)})


class ReportApi(APIView):
    """A report: JSON, or its table as CSV with ``?format=csv`` (or ``Accept: text/csv``)."""

    required_access = AccessLevel.CAN_MANAGE_PROGRAM
    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, CSVRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF's answer to an unknown ?format=: a 400 that says what is known
            self.renderer_classes = api_settings.DEFAULT_RENDERER_CLASSES
            request.accepted_renderer, request.accepted_media_type = super().perform_content_negotiation(
                request, force=True
            )
            raise ValidationError({"format": ["json or csv."]}) from None

    def answer(self, request: Request, fields: dict[str, Any], table: list[list[Any]], filename: str) -> Response:
        if request.accepted_renderer.format == CSVRenderer.format:
            return Response({"csv": table, "filename": filename})
        return Response({"success": True, **fields})


@extend_schema(
    parameters=[LiabilityQueryInput],
    responses={200: LiabilityOutput, **errors()},
    summary="What the points are worth: available, pending and owed points as of a day, by expiry",
)
class LiabilityReportApi(ReportApi):
    def get(self, request: Request) -> Response:
        query = validated(LiabilityQueryInput, request.query_params, query=True)
        report = reports.liability(as_of=query["as_of"])
        return self.answer(request, report.fields(), report.table(), csv_filename("liability", report.as_of))


@extend_schema(
    parameters=[RollforwardQueryInput],
    responses={200: RollforwardOutput, **errors()},
    summary="Opening, the movement of each ledger kind, closing: the available points over days",
)
class RollforwardReportApi(ReportApi):
    def get(self, request: Request) -> Response:
        query = validated(RollforwardQueryInput, request.query_params, query=True)
        report = reports.rollforward(start=query["from"], end=query["to"])
        return self.answer(
            request, report.fields(), report.table(), csv_filename("rollforward", report.start, report.end)
        )


@extend_schema(
    responses={200: BreakageOutput, **errors()},
    summary="Breakage: the lots credited each month, and what became of their points",
)
class BreakageReportApi(ReportApi):
    def get(self, request: Request) -> Response:
        months = reports.breakage()
        return self.answer(
            request,
            {"months": [month.fields() for month in months]},
            reports.breakage_table(months),
            csv_filename("breakage", datetime.now(UTC).date()),
        )


AUDIT_CSV_HEADER = ["id", "at", "subject", "object_id", "action", "actor_type", "actor", "path", "before", "after"]


def _audit_row(entry: AuditEntry) -> list[Any]:
    actor = entry.actor or {}
    who = actor.get("username") or actor.get("name") or ""
    values = [json.dumps(v, sort_keys=True) if v is not None else "" for v in (entry.before, entry.after)]
    return [
        entry.id,
        iso(entry.at),
        entry.subject,
        entry.object_id,
        entry.action,
        actor.get("type", ""),
        who,
        entry.path,
        *values,
    ]


@extend_schema(
    parameters=[AuditQueryInput],
    responses={200: AuditOutput, **errors()},
    summary="Who changed what: the program's and its access's changes over days, with the values before and after",
)
class AuditApi(ReportApi):
    def get(self, request: Request) -> Response:
        query = validated(AuditQueryInput, request.query_params, query=True)
        entries = audit_entries(
            start=query["from"],
            end=query["to"],
            subject=query.get("subject"),
            after_id=query["after"],
            limit=query["limit"],
        )
        next_after = entries[-1].id if len(entries) == query["limit"] else None
        fields = {
            "from": query["from"],
            "to": query["to"],
            "subject": query.get("subject"),
            "entries": [{**entry.fields(), "at": iso(entry.at)} for entry in entries],
            "next_after": next_after,
        }
        table = [AUDIT_CSV_HEADER, *(_audit_row(entry) for entry in entries)]
        return self.answer(request, fields, table, csv_filename("audit", query["from"], query["to"]))


def _user_id(raw: str) -> int:
    return _path_id(raw, CustomerNotFound())


@extend_schema(
    responses={200: CustomerExportOutput, **errors(404)},
    summary="A customer's own data: ledger, lots, orders, coupons, tier, referral, birthday",
)
class CustomerExportApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request, user_id: str) -> Response:
        return Response({"success": True, **customer_export(user_id=_user_id(user_id))})


@extend_schema(
    parameters=[AsOfQueryInput],
    responses={200: BalanceAsOfOutput, **errors(404)},
    summary="A customer's available, pending and owed points at a moment, as the liability report counts them",
)
class CustomerBalanceApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request, user_id: str) -> Response:
        query = validated(AsOfQueryInput, request.query_params, query=True)
        points = customer_points_as_of(user_id=_user_id(user_id), at=reports.moment_of(query["as_of"]))
        return Response(balance_as_of_fields(points))


@extend_schema(
    responses={200: PersonalDataErasedOutput, **errors(404)},
    summary="Erase a customer's personal data (birthday, referral links, free text); balances stay",
)
class CustomerPersonalDataApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def delete(self, request: Request, user_id: str) -> Response:
        erasure = personal_data_erase(user_id=_user_id(user_id), by=_editor(request))
        message = "Personal data erased." if erasure.changed else "Nothing personal was left to erase."
        return Response({"success": True, "message": message, "user_id": erasure.user_id, "erased": erasure.erased})


def _object_body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["A JSON object is required."]})
    return dict(request.data)


@extend_schema(
    request=RuleSimulateInput,
    responses={200: AwardsOutput, **errors()},
    summary="What an event would earn now, caps included; writes nothing",
)
class RulesSimulateApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def post(self, request: Request) -> Response:
        data = validated(RuleSimulateInput, request.data)
        trigger, body = data["trigger"], data["event"]
        try:
            event = validated(SIMULATED_EVENT_INPUTS[trigger], body)
        except ValidationError as error:
            raise ValidationError({"event": error.detail}) from None
        if trigger == RuleTrigger.ORDER:
            earned = services.order_simulate(
                user_id=event["user_id"],
                total_cost=event["total_cost"],
                completed_at=event["completed_at"],
                items=event.get("items", ()),
                channel=event.get("channel", ""),
            )
        else:
            earned = rewards_services.event_simulate(_simulated_event(trigger, event))
        return Response({"success": True, **earned.answer_fields()})


def _simulated_event(trigger: str, event: dict[str, Any]) -> Any:
    if trigger == RuleTrigger.PURCHASE:
        return rewards_services.purchase_event(user_id=event["user_id"], amount=event["amount"])
    if trigger == RuleTrigger.FEEDBACK:
        return rewards_services.feedback_event(user_id=event["user_id"])
    return rewards_services.activity_event(
        user_id=event["user_id"],
        name=event["name"],
        occurred_at=event.get("occurred_at"),
        properties=event["properties"],
    )


# ---- referrals (served under rewards-api/) ---------------------------------------------------


@extend_schema(
    tags=["rewards-api"],
    request=ReferralCodeInput,
    responses={200: ReferralCodeOutput, **errors()},
    summary="A customer's referral code (made once, the same ever after; a customer session may ask for its own)",
)
class ReferralCodeApi(APIView):
    required_access = AccessLevel.CAN_MODIFY_ORDERS
    customer_access = True

    def post(self, request: Request) -> Response:
        data = validated(ReferralCodeInput, request.data)
        acting_app(request, data["user_id"])
        code = services.referral_code_for(user_id=data["user_id"])
        return Response({"success": True, "user_id": code.user_id, "code": code.code})


@extend_schema(
    tags=["rewards-api"],
    request=ReferralInput,
    responses={201: ReferralOutput, **errors(404, 409)},
    summary="Record who referred a new customer (their first order then runs the referral rules)",
)
class ReferralsApi(APIView):
    required_access = AccessLevel.CAN_MODIFY_ORDERS
    customer_access = True

    def post(self, request: Request) -> Response:
        data = validated(ReferralInput, request.data)
        app = acting_app(request, data["user_id"])
        referral = services.referral_record(user_id=data["user_id"], code=data["code"], app=app)
        return Response(
            {
                "success": True,
                "message": "Referral recorded: the first order will reward both customers.",
                "user_id": referral.referee_user_id,
                "code": referral.code,
            },
            status=status.HTTP_201_CREATED,
        )


# ---- segments (Can_Manage_Program) -------------------------------------------------------------


def segment_fields(segment: Any) -> dict[str, Any]:
    return {
        "success": True,
        **segment_services.segment_definition(segment),
        "created_at": iso(segment.created_at),
        "updated_at": iso(segment.updated_at),
        "updated_by": segment.updated_by,
    }


@extend_schema_view(
    get=extend_schema(responses={200: SegmentListOutput, **errors()}, summary="Every segment, by code"),
    post=extend_schema(
        request=SegmentInputDoc,
        responses={201: SegmentOutput, **errors(409)},
        summary="Create a segment: a code, a name and the conditions its members meet",
    ),
)
class SegmentsApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request) -> Response:
        segments = membership.segments_listed()
        return Response({"success": True, "segments": [segment_fields(segment) for segment in segments]})

    def post(self, request: Request) -> Response:
        segment = segment_services.segment_create(definition=_object_body(request), by=_editor(request))
        return Response(segment_fields(segment), status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(responses={200: SegmentOutput, **errors(404)}, summary="A segment"),
    patch=extend_schema(
        request=SegmentInputDoc(partial=True),
        responses={200: SegmentOutput, **errors(404)},
        summary="Edit a segment: its name, description or conditions (its code stays)",
    ),
    delete=extend_schema(
        responses={200: SegmentOutput, **errors(404)},
        summary="Delete a segment (its bulk awards stay, with its code)",
    ),
)
class SegmentDetailApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request, code: str) -> Response:
        return Response(segment_fields(segment_services.segment_find(code=code)))

    def patch(self, request: Request, code: str) -> Response:
        changes = _object_body(request)
        for read_only in ("success", "created_at", "updated_at", "updated_by"):
            changes.pop(read_only, None)
        segment = segment_services.segment_edit(code=code, changes=changes, by=_editor(request))
        return Response(segment_fields(segment))

    def delete(self, request: Request, code: str) -> Response:
        return Response(segment_fields(segment_services.segment_delete(code=code)))


@extend_schema_view(
    get=extend_schema(responses={200: ChallengeListOutput, **errors()}, summary="Every challenge"),
    post=extend_schema(
        request=ChallengeInputDoc,
        responses={201: ChallengeOutput, **errors(409)},
        summary="Create a challenge (a goal, its window and its reward)",
    ),
)
class ChallengesApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request) -> Response:
        listed = challenge_services.challenges_listed()
        return Response({"success": True, "challenges": [challenge_services.challenge_fields(c) for c in listed]})

    def post(self, request: Request) -> Response:
        challenge = challenge_services.challenge_create(definition=_object_body(request), by=_editor(request))
        return Response(
            {"success": True, **challenge_services.challenge_fields(challenge)}, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    get=extend_schema(responses={200: ChallengeOutput, **errors(404)}, summary="A challenge"),
    patch=extend_schema(
        request=ChallengeInputDoc(partial=True),
        responses={200: ChallengeOutput, **errors(404)},
        summary="Edit a challenge: any of its keys but its code",
    ),
    delete=extend_schema(
        responses={200: ChallengeOutput, **errors(404)},
        summary="Archive a challenge: nothing counts toward it any more; its progress and completions stay",
    ),
)
class ChallengeDetailApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request, code: str) -> Response:
        challenge = challenge_services.challenge_find(code=code)
        return Response({"success": True, **challenge_services.challenge_fields(challenge)})

    def patch(self, request: Request, code: str) -> Response:
        changes = _object_body(request)
        for read_only in ("success", "created_at", "updated_at", "updated_by"):
            changes.pop(read_only, None)
        challenge = challenge_services.challenge_edit(code=code, changes=changes, by=_editor(request))
        return Response({"success": True, **challenge_services.challenge_fields(challenge)})

    def delete(self, request: Request, code: str) -> Response:
        challenge = challenge_services.challenge_archive(code=code, by=_editor(request))
        return Response({"success": True, **challenge_services.challenge_fields(challenge)})


@extend_schema(
    parameters=[SegmentMembersQueryInput],
    responses={200: SegmentMembersOutput, **errors(404)},
    summary="A segment's members now, by user_id, a page at a time (every one as CSV with ?format=csv)",
)
class SegmentMembersApi(ReportApi):
    def get(self, request: Request, code: str) -> Response:
        query = validated(SegmentMembersQueryInput, request.query_params, query=True)
        segment = segment_services.segment_find(code=code)
        if request.accepted_renderer.format == CSVRenderer.format:
            members = membership.segment_members(segment)
            table = [["user_id"], *([user_id] for user_id in members)]
            return Response({"csv": table, "filename": csv_filename(f"segment-{code}", datetime.now(UTC).date())})
        limit = query["limit"]
        page = membership.segment_members(segment, after=query.get("cursor"), limit=limit + 1)
        body: dict[str, Any] = {
            "success": True,
            "segment": segment.code,
            "members": [{"user_id": user_id} for user_id in page[:limit]],
            "next_cursor": str(page[limit - 1]) if len(page) > limit else None,
        }
        if query["count"] == "true":
            body["count"] = membership.segment_count(segment)
        return Response(body)


@extend_schema(
    responses={200: CustomerSegmentsOutput, **errors()},
    summary="The segments a customer is in now",
)
class CustomerSegmentsApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request, user_id: str) -> Response:
        customer = validated(UserQueryInput, {"user_id": user_id}, query=True)["user_id"]
        segments = membership.customer_segments(user_id=customer)
        return Response({"success": True, "user_id": customer, "segments": [segment.code for segment in segments]})


@extend_schema(
    request=SegmentAwardInput,
    responses={202: SegmentAwardOutput, **errors(404, 409)},
    summary="Give points to every member of a segment now; the worker credits them (202)",
)
class SegmentAwardsApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def post(self, request: Request, code: str) -> Response:
        data = validated(SegmentAwardInput, request.data)
        asked = segment_services.award_ask(code=code, **data, app=request.auth, by=_editor(request))
        return Response(
            {"success": True, **segment_services.award_fields(asked.award)}, status=status.HTTP_202_ACCEPTED
        )


@extend_schema(
    responses={200: SegmentAwardOutput, **errors(404)},
    summary="A bulk award: its members, how many are credited, its state",
)
class SegmentAwardDetailApi(APIView):
    required_access = AccessLevel.CAN_MANAGE_PROGRAM

    def get(self, request: Request, code: str, award_id: str) -> Response:
        award = segment_services.award_find(code=code, award_id=award_id)
        return Response({"success": True, **segment_services.award_fields(award)})
