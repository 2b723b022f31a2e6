"""rewards-api/ views: validate, call one service or selector, shape the answer."""

import calendar
import hashlib
import json
import re
from typing import Any

import orjson
from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import AccessLevel
from core.apis import money_text, points_text, validated
from core.db_router import lag_tolerant, replica_reads
from core.lean import LeanRead
from core.openapi import IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_PATTERN, errors, read_schema
from rewards import reports, selectors, services
from rewards.models import RedeemedItemState
from rewards.program.engine import program_time
from rewards.serializers import (
    ActivityInput,
    ActivityOutput,
    AllHistoryOutput,
    BalanceAsOfOutput,
    BalanceOutput,
    BalanceQueryInput,
    BirthdayInput,
    BirthdayOutput,
    CatalogItemOutput,
    CatalogOutput,
    ContactInput,
    ContactOutput,
    CustomerAttributesOutput,
    CustomerChallengesOutput,
    DigestsOutput,
    DigestsQueryInput,
    EarnedOutput,
    EarnPointsInput,
    EventsOutput,
    EventsQueryInput,
    FeedbackInput,
    HistoryQueryInput,
    PostingOutput,
    PublicKeyOutput,
    PurchaseInput,
    RedeemCouponInput,
    RedeemDonationInput,
    RedemptionOutput,
    RedemptionsOutput,
    TierLadderOutput,
    UseCouponInput,
    UseCouponOutput,
    UserInfoOutput,
    UserQueryInput,
    VoidCouponInput,
    VoidCouponOutput,
)
from rewards.services.attributes import attributes_merge, attributes_read
from rewards.services.birthdays import birthday_first_rewarded, birthday_next
from rewards.services.challenges import customer_challenges
from rewards.services.digests import digest_fields, public_key
from rewards.services.messages import contact_fields, contact_get, contact_set
from rewards.services.redeemable import catalog_shown
from rewards.shapes import (
    balance_fields,
    event_fields,
    iso,
    redeemed_item_fields,
    reward_row_fields,
)

CAN_READ = AccessLevel.CAN_READ
CAN_MODIFY = AccessLevel.CAN_MODIFY_ORDERS


def posting_response(posting: services.Posting, message: str) -> Response:
    body: dict[str, Any] = {
        "success": True,
        "message": message,
        **balance_fields(posting.balance),
        **reward_row_fields(posting.reward),
    }
    if posting.redeemed_item is not None:
        body["item_code"] = posting.redeemed_item.item_code
        body["redeemed_item"] = redeemed_item_fields(posting.redeemed_item)
    return Response(body, status=status.HTTP_201_CREATED)


def earned_response(earned: services.Earned, message: str) -> Response:
    """An event's answer: its first ledger row, the balance after all it wrote, and its awards."""
    response = posting_response(services.Posting(reward=earned.postings[0].reward, balance=earned.balance), message)
    response.data.update(earned.answer_fields())
    return response


IDEMPOTENCY_KEY_FORMAT = re.compile(IDEMPOTENCY_KEY_PATTERN)


class WriteAPIView(APIView):
    """A rewards-api/ write. With an ``Idempotency-Key`` header, a retry replays the
    first response instead of writing again (see ``services.idempotent_call``)."""

    required_access = CAN_MODIFY

    def perform(self, request: Request) -> Response:
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        # From META: request.headers would build a dict of every header for this one.
        key = request.META.get("HTTP_IDEMPOTENCY_KEY")
        if key is None:
            return self.perform(request)
        if not IDEMPOTENCY_KEY_FORMAT.fullmatch(key):
            raise ValidationError({"Idempotency-Key": ["1 to 255 printable ASCII characters, no spaces."]})
        body = json.dumps(request.data, sort_keys=True, default=str)
        path = request.path.rstrip("/")  # with or without the optional slash, one endpoint
        fingerprint = hashlib.sha256(f"{request.method} {path}\n{body}".encode()).hexdigest()

        def work() -> tuple[int, dict]:
            response = self.perform(request)
            # Stored as rendered, so a replay is the same JSON as the first answer.
            return response.status_code, json.loads(self.renderer_classes[0]().render(response.data))

        result = services.idempotent_call(
            app=request.auth,
            customer_user_id=getattr(request.user, "customer_user_id", None),
            key=key,
            fingerprint=fingerprint,
            work=work,
        )
        response = Response(result.body, status=result.status)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


def acting_app(request: Request, user_id: int) -> Any:
    """The application a request acts through, once the caller may act for ``user_id``.

    A customer session (``request.user.customer_user_id``) may act only for its own
    customer; an application token may act for any.
    """
    own = getattr(request.user, "customer_user_id", None)
    if own is not None and own != user_id:
        raise PermissionDenied("A customer session can act only for its own customer.")
    return request.auth


class CustomerAPIView(APIView):
    """Also open to a customer session, for that customer only (docs/API.md, Access)."""

    customer_access = True


class ReadAPIView(CustomerAPIView):
    """A read that answers POST with a JSON body (as the system this service replaces did) and GET with a query."""

    required_access = CAN_READ
    input_serializer: type[serializers.Serializer] = UserQueryInput

    def read(self, params: dict[str, Any]) -> Any:
        """The answer's data: a dict, or JSON PostgreSQL built (``orjson.Fragment``)."""
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        return self.respond(request, validated(self.input_serializer, request.query_params, query=True))

    def post(self, request: Request) -> Response:
        return self.respond(request, validated(self.input_serializer, request.data))

    def respond(self, request: Request, params: dict[str, Any]) -> Response:
        acting_app(request, params["user_id"])
        with replica_reads(lag_tolerant(request)):
            return Response(self.read(params))


@extend_schema(
    tags=["rewards-api"],
    request=EarnPointsInput,
    parameters=[IDEMPOTENCY_KEY],
    responses={201: PostingOutput, **errors(422)},
    summary="Give points for any event",
)
class EarnPointsApi(WriteAPIView):
    def perform(self, request: Request) -> Response:
        data = validated(EarnPointsInput, request.data)
        posting = services.points_earn(
            user_id=data["user_id"],
            points=data["points_earned"],
            description=data["reward_description"],
            app=request.auth,
        )
        return posting_response(posting, f"Earned {points_text(posting.reward.points_earned)}.")


@extend_schema(
    tags=["rewards-api"],
    request=PurchaseInput,
    parameters=[IDEMPOTENCY_KEY],
    responses={201: EarnedOutput, **errors(422)},
    summary="Give points for a purchase, by the purchase rules (base: floor(amount x 2))",
)
class PurchaseApi(WriteAPIView):
    def perform(self, request: Request) -> Response:
        data = validated(PurchaseInput, request.data)
        earned = services.purchase_record(
            user_id=data["user_id"],
            amount=data["amount"],
            description=data["reward_description"],
            app=request.auth,
        )
        return earned_response(
            earned, f"Earned {points_text(earned.points_awarded)} for a purchase of {money_text(data['amount'])}."
        )


@extend_schema(
    tags=["rewards-api"],
    request=FeedbackInput,
    parameters=[IDEMPOTENCY_KEY],
    responses={201: EarnedOutput, **errors(422)},
    summary="Give points for feedback, by the feedback rules (base: 10)",
)
class SubmitFeedbackApi(WriteAPIView):
    def perform(self, request: Request) -> Response:
        data = validated(FeedbackInput, request.data)
        earned = services.feedback_submit(
            user_id=data["user_id"], description=data["reward_description"], app=request.auth
        )
        return earned_response(earned, f"Thank you for your feedback: {points_text(earned.points_awarded)}.")


@extend_schema(
    tags=["rewards-api"],
    request=ActivityInput,
    responses={201: ActivityOutput, 200: ActivityOutput, **errors(409)},
    summary="Record a custom activity and award what the activity rules give for it",
    description="Keyed by activity_id per application: the same activity again answers 200 with the first "
    "answer; the same activity_id with another body answers 409 (once the customer's personal data is "
    "erased, the body is compared on user_id, name and occurred_at only). An activity no rule rewards is "
    "recorded with 0 points.",
)
class ActivitiesApi(APIView):
    required_access = CAN_MODIFY

    def post(self, request: Request) -> Response:
        data = validated(ActivityInput, request.data)
        outcome = services.activity_record(app=request.auth, **data)
        activity = outcome.activity
        message = (
            f"Activity {activity.name} earned {points_text(activity.points_awarded)}."
            if outcome.created
            else f"Activity {activity.activity_id} was already recorded; nothing changed."
        )
        return Response(
            {"success": True, "message": message, **activity.answer},
            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
        )


@extend_schema(
    tags=["rewards-api"],
    request=BirthdayInput,
    responses={200: BirthdayOutput, **errors()},
    summary="Set a customer's birthday, for the birthday rules (a customer session may set its own)",
)
class BirthdayApi(CustomerAPIView):
    required_access = CAN_MODIFY

    def put(self, request: Request) -> Response:
        data = validated(BirthdayInput, request.data)
        acting_app(request, data["user_id"])
        birthday = services.birthday_set(**data)
        today = program_time(timezone.now()).date()
        return Response(
            {
                "success": True,
                "message": f"Birthday saved: {calendar.month_name[birthday.month]} {birthday.day}.",
                "user_id": birthday.user_id,
                "month": birthday.month,
                "day": birthday.day,
                "next_birthday": birthday_next(month=birthday.month, day=birthday.day, today=today),
                "first_rewarded": birthday_first_rewarded(birthday),
            }
        )


@extend_schema(
    tags=["rewards-api"],
    request=RedeemCouponInput,
    parameters=[IDEMPOTENCY_KEY],
    responses={201: PostingOutput, **errors(409, 422)},
    summary="Redeem a catalog coupon; answers with its code",
)
class RedeemCouponApi(WriteAPIView, CustomerAPIView):
    def perform(self, request: Request) -> Response:
        data = validated(RedeemCouponInput, request.data)
        posting = services.coupon_redeem(
            user_id=data["user_id"],
            points=data["points_redeemed"],
            amount=data["coupon_amount"],
            description=data["reward_description"],
            app=acting_app(request, data["user_id"]),
        )
        return posting_response(posting, f"Your coupon code is {posting.redeemed_item.item_code}.")


@extend_schema(
    tags=["rewards-api"],
    request=RedeemDonationInput,
    parameters=[IDEMPOTENCY_KEY],
    responses={201: PostingOutput, **errors(409, 422)},
    summary="Redeem a catalog donation",
)
class RedeemDonationApi(WriteAPIView, CustomerAPIView):
    def perform(self, request: Request) -> Response:
        data = validated(RedeemDonationInput, request.data)
        posting = services.donation_redeem(
            user_id=data["user_id"],
            points=data["points_redeemed"],
            amount=data["donation_amount"],
            description=data["reward_description"],
            app=acting_app(request, data["user_id"]),
        )
        amount, points = posting.redeemed_item.amount, posting.reward.points_redeemed
        return posting_response(posting, f"Thank you: {money_text(amount)} donated for {points_text(points)}.")


@extend_schema(
    tags=["rewards-api"],
    request=UseCouponInput,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: UseCouponOutput, **errors(404, 409, 422)},
    summary="Mark a coupon used",
)
class UseCouponApi(WriteAPIView):
    def perform(self, request: Request) -> Response:
        data = validated(UseCouponInput, request.data)
        item = services.coupon_use(item_code=data["item_code"], app=request.auth)
        return Response(
            {
                "success": True,
                "message": f"Coupon {item.item_code} has been used.",
                "user_id": item.reward.user_id,
                "is_active": item.reward.is_active,
                **redeemed_item_fields(item),
            }
        )


@extend_schema(
    tags=["rewards-api"],
    responses={200: CatalogOutput, **errors()},
    summary="The active catalog (to a customer session: what its tier and today allow, with limit_left)",
)
class CatalogApi(CustomerAPIView):
    required_access = CAN_READ

    def get(self, request: Request) -> Response:
        customer = getattr(request.user, "customer_user_id", None)
        with replica_reads():
            shown = catalog_shown(customer_user_id=customer)
        items = [
            {**CatalogItemOutput(entry.item).data, **({"limit_left": entry.limit_left} if customer else {})}
            for entry in shown
        ]
        return Response({"success": True, "catalog": items})


@extend_schema(
    tags=["rewards-api"],
    request=VoidCouponInput,
    parameters=[IDEMPOTENCY_KEY],
    responses={200: VoidCouponOutput, **errors(404, 409)},
    summary="Void an unused coupon: its points go back to the lots they came from, its unit to the stock",
)
class VoidCouponApi(WriteAPIView):
    def perform(self, request: Request) -> Response:
        data = validated(VoidCouponInput, request.data)
        refunded = services.coupon_void(item_code=data["item_code"], reason=data["reason"], app=request.auth)
        item = refunded.item
        # A coupon past its valid_until is expired as the expiry job does it, not voided.
        done = "voided" if item.state == RedeemedItemState.VOIDED else f"expired ({item.refund_reason})"
        return Response(
            {
                "success": True,
                "message": f"Coupon {item.item_code} {done}; {points_text(refunded.points_refunded)} given back.",
                "user_id": item.reward.user_id,
                "points_refunded": refunded.points_refunded,
                "points_expired": refunded.points_expired,
                **redeemed_item_fields(item),
                **balance_fields(refunded.posting.balance),
                "reward": reward_row_fields(refunded.posting.reward),
            }
        )


@extend_schema(tags=["rewards-api"], responses={200: TierLadderOutput, **errors()}, summary="The tier ladder")
class TiersApi(CustomerAPIView):
    required_access = CAN_READ

    def get(self, request: Request) -> Response:
        return Response({"success": True, **services.ladder_fields()})


@extend_schema(
    tags=["rewards-api"],
    parameters=[UserQueryInput],
    responses={200: CustomerChallengesOutput, **errors()},
    summary="A customer's challenges now, with progress and what is left, and their badges "
    "(a customer session may read its own)",
)
class CustomerChallengesApi(CustomerAPIView):
    required_access = CAN_READ

    def get(self, request: Request) -> Response:
        user_id = validated(UserQueryInput, request.query_params, query=True)["user_id"]
        acting_app(request, user_id)
        return Response(
            {
                "success": True,
                "user_id": user_id,
                "challenges": [standing.fields() for standing in customer_challenges(user_id=user_id)],
                "badges": selectors.badges_held_shown(user_id=user_id),
            }
        )


def balance_as_of_fields(points: reports.CustomerAsOf) -> dict[str, Any]:
    """A customer's points at a moment, as get-points with ``as_of`` and loyalty-api's
    ``customers/<user_id>/balance`` answer them."""
    return {"success": True, "user_id": points.user_id, "as_of": iso(points.at), **points.fields()}


@read_schema(
    query=BalanceQueryInput,
    answer=PolymorphicProxySerializer(
        component_name="BalanceNowOrAsOf",
        serializers=[BalanceOutput, BalanceAsOfOutput],
        resource_type_field_name=None,
    ),
    summary="A customer's points; with as_of, the available, pending and owed points at that moment",
    tag="rewards-api",
)
class GetPointsApi(ReadAPIView):
    input_serializer = BalanceQueryInput
    # GET ?user_id=N with an application token, in one round trip (loyalty/lean.py).
    lean = LeanRead(
        query=("user_id",),
        sql=services.POINTS_ANSWER_READ,
        answer=lambda params, row: services.points_answer_of(params["user_id"], row),
    )

    def read(self, params: dict[str, Any]) -> Any:
        if "as_of" in params:
            at = reports.moment_of(params["as_of"])
            return balance_as_of_fields(reports.customer_as_of(user_id=params["user_id"], at=at))
        return services.points_answer(user_id=params["user_id"])


def page_fields(page: selectors.HistoryPage) -> dict[str, Any]:
    return {"has_more": page.has_more, "next_cursor": page.next_cursor}


@read_schema(
    query=HistoryQueryInput, answer=RedemptionsOutput, summary="Redemption history, newest first", tag="rewards-api"
)
class GetRedemptionsApi(ReadAPIView):
    input_serializer = HistoryQueryInput

    def read(self, params: dict[str, Any]) -> dict[str, Any]:
        page = selectors.redemption_history(
            user_id=params["user_id"], limit=params["limit"], before_id=params.get("cursor")
        )
        return {
            "success": True,
            "user_id": params["user_id"],
            "redemption_history": RedemptionOutput(page.rows, many=True).data,
            **page_fields(page),
        }


@read_schema(
    query=HistoryQueryInput, answer=UserInfoOutput, summary="Totals and ledger history, newest first", tag="rewards-api"
)
class GetUserInfoApi(ReadAPIView):
    input_serializer = HistoryQueryInput
    # GET ?user_id=N[&limit=L] (the first page) with an application token, in one round trip.
    lean = LeanRead(
        query=("user_id", "limit"),
        sql=services.USER_INFO_FIRST_PAGE_READ,
        answer=lambda params, row: services.user_info_answer_of(params["user_id"], row),
    )

    def read(self, params: dict[str, Any]) -> Any:
        return services.user_info_answer(
            user_id=params["user_id"], limit=params["limit"], before_id=params.get("cursor")
        )


@read_schema(
    query=HistoryQueryInput,
    answer=AllHistoryOutput,
    summary="Ledger history, newest first, without the totals",
    tag="rewards-api",
)
class GetAllHistoryApi(ReadAPIView):
    input_serializer = HistoryQueryInput

    def read(self, params: dict[str, Any]) -> Any:
        page = {"limit": params["limit"], "before_id": params.get("cursor")}
        return orjson.Fragment(selectors.all_history_answer(user_id=params["user_id"], **page))


@extend_schema(
    tags=["rewards-api"],
    parameters=[EventsQueryInput],
    responses={200: EventsOutput, **errors()},
    summary="Events after an id, oldest first, for consumers that poll",
)
class EventsApi(APIView):
    required_access = CAN_READ

    def get(self, request: Request) -> Response:
        params = validated(EventsQueryInput, request.query_params, query=True)
        page = selectors.events_after(after=params["after"], limit=params["limit"], application_id=request.auth.pk)
        return Response(
            {
                "success": True,
                "events": [event_fields(event) for event in page.events],
                "has_more": page.has_more,
                "next_after": page.next_after,
            }
        )


def _path_user_id(raw: str) -> int:
    """A user_id from the path, checked as a body's is (400 when it is no positive integer)."""
    return validated(UserQueryInput, {"user_id": raw}, query=True)["user_id"]


@extend_schema(
    tags=["rewards-api"],
    request=ContactInput,
    responses={200: ContactOutput, **errors()},
    summary="A customer's contact and consent: email, language and the topics they hear about "
    "(a customer session may read and set its own)",
)
class ContactApi(CustomerAPIView):
    @property
    def required_access(self) -> str:
        return CAN_READ if self.request.method == "GET" else CAN_MODIFY

    def get(self, request: Request, user_id: str) -> Response:
        user = _path_user_id(user_id)
        acting_app(request, user)
        return Response({"success": True, **contact_fields(contact_get(user), user_id=user)})

    def put(self, request: Request, user_id: str) -> Response:
        user = _path_user_id(user_id)
        acting_app(request, user)
        data = validated(ContactInput, request.data)
        return Response({"success": True, **contact_fields(contact_set(user_id=user, **data), user_id=user)})


@extend_schema(
    methods=["GET"],
    responses={200: CustomerAttributesOutput, **errors()},
    summary="A customer's attributes (what segments select on)",
)
@extend_schema(
    methods=["PATCH"],
    request={"application/json": {"type": "object", "additionalProperties": True}},
    responses={200: CustomerAttributesOutput, **errors()},
    summary="Merge attributes into a customer's (a null removes a key); answers them all",
)
class CustomerAttributesApi(APIView):
    """Read by any application that reads balances, written by one that changes points; not
    open to customer sessions (a customer must not place themselves in a segment)."""

    @property
    def required_access(self) -> str:
        return CAN_READ if self.request.method in ("GET", "HEAD") else CAN_MODIFY

    def get(self, request: Request, user_id: str) -> Response:
        customer = _path_user_id(user_id)
        return Response({"success": True, "user_id": customer, "attributes": attributes_read(user_id=customer)})

    def patch(self, request: Request, user_id: str) -> Response:
        customer = _path_user_id(user_id)
        attributes = attributes_merge(user_id=customer, changes=request.data)
        return Response({"success": True, "user_id": customer, "attributes": attributes})


@extend_schema(
    tags=["rewards-api"],
    parameters=[DigestsQueryInput],
    responses={200: DigestsOutput, **errors()},
    summary="The ledger's signed digests, oldest first (docs/VERIFY.md)",
)
class LedgerDigestsApi(APIView):
    required_access = CAN_READ

    def get(self, request: Request) -> Response:
        params = validated(DigestsQueryInput, request.query_params, query=True)
        page = selectors.digests_page(
            after=params["after"], limit=params["limit"], cut_from=params.get("from"), cut_to=params.get("to")
        )
        return Response(
            {
                "success": True,
                "digests": [digest_fields(digest) for digest in page.digests],
                "has_more": page.has_more,
                "next_after": page.next_after,
            }
        )


@extend_schema(
    tags=["rewards-api"],
    responses={200: PublicKeyOutput, **errors()},
    summary="The public key the ledger's digests are signed with",
)
class LedgerPublicKeyApi(APIView):
    required_access = CAN_READ

    def get(self, request: Request) -> Response:
        current = public_key()
        return Response(
            {
                "success": True,
                "algorithm": "Ed25519",
                "public_key": current.hex() if current else None,
                "retired_public_keys": [key.lower() for key in settings.LEDGER_RETIRED_PUBLIC_KEYS],
            }
        )
