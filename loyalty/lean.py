"""Hot reads in one round trip: a DRF read's plain case (its ``lean``, a ``core.lean.LeanRead``)
served by a plain Django view, behind the same middleware, with the same answer.

The plain case is a GET whose query the ``LeanRead`` takes, with an application token (no
replica configured: with one, the DRF view's reads go there). It costs one Redis call (the
throttle, by the token's bucket, before the database) and one statement on the primary: the
token's check (``application_and_read``, so a revocation applies at once) with the answer,
which PostgreSQL builds and the view hands on as bytes. Whatever that case does not cover (a
POST, another parameter, a customer session, a bad or missing token, too low an access level,
a throttled call) is the DRF view's, unchanged, errors included; a number the lean path took
is handed to DRF's throttle, so a request counts once.

A view opts in with ``lean = LeanRead(...)`` on its class and ``lean_view(ViewClass)`` in the
URLs (rewards/urls.py).
"""

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.db_router import replica_configured
from core.lean import LeanQuery, LeanRead
from loyalty.authentication import app_remember, token_from_request
from loyalty.customers import is_customer_token
from loyalty.selectors import application_and_read
from loyalty.services import application_touch
from loyalty.throttling import (
    TAKE_ATTRIBUTE,
    Take,
    application_bucket,
    throttle_forget,
    throttle_give_back,
    throttle_take,
)
from loyalty.tokens import token_hash


def lean_view(view_class: type[APIView]) -> Callable[..., HttpResponse]:
    """``view_class.as_view()``, with its ``lean`` plain case served in one round trip."""
    read: LeanRead = view_class.lean
    query = LeanQuery(read, view_class.input_serializer)
    delegate = view_class.as_view()
    # The answer as DRF would finish it: its renderer, its content type, its headers.
    renderer = view_class.renderer_classes[0]()
    content_type = (
        renderer.media_type if renderer.charset is None else f"{renderer.media_type}; charset={renderer.charset}"
    )
    instance = view_class()
    instance.setup(HttpRequest())  # as Django sets up each view: HEAD is allowed where GET is
    headers = instance.default_response_headers
    required_access = view_class.required_access

    def handed_over(request: HttpRequest, take: Take | None, *args: Any, **kwargs: Any) -> HttpResponse:
        """The DRF view's answer, with the number this request took (if any) for its throttle.
        A number its throttle never used goes back; after a 401, its counter goes."""
        if take is None:
            return delegate(request, *args, **kwargs)
        setattr(request, TAKE_ATTRIBUTE, take)
        response = delegate(request, *args, **kwargs)
        if request.__dict__.pop(TAKE_ATTRIBUTE, None) is not None:
            (throttle_forget if response.status_code == 401 else throttle_give_back)(take)
        return response

    def failed(request: HttpRequest, exc: Exception) -> HttpResponse:
        """An error as the DRF view answers it (the database down: a 503 with Retry-After)."""
        response = api_settings.EXCEPTION_HANDLER(exc, {"view": view_class(), "request": request})
        if response is None:
            raise exc
        response.accepted_renderer, response.accepted_media_type = renderer, renderer.media_type
        response.renderer_context = {"response": response}
        for name, value in headers.items():
            response[name] = value
        return response

    @functools.wraps(delegate)  # keeps .cls and .initkwargs: the schema and tests see the DRF view
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        params = query.params(request.META.get("QUERY_STRING", "")) if request.method == "GET" else None
        token = _application_token(request) if params is not None and not replica_configured() else None
        if token is None:
            return delegate(request, *args, **kwargs)
        take = None
        try:
            take = throttle_take(application_bucket(token_hash(token)))
            if take is not None and not take.allowed:
                return handed_over(request, take, *args, **kwargs)
            app, row = application_and_read(token=token, read=read.sql, params=[params[name] for name in read.query])
            if app is None or not app.grants(required_access):
                return handed_over(request, take, *args, **kwargs)
            application_touch(app=app)
            app_remember(request, app)
            body = renderer.render(read.answer(params, row))
        except Exception as exc:  # noqa: BLE001 - every error is answered as the DRF view answers it
            if take is not None:  # DRF checks the token before its throttle: a failed one does not count
                throttle_give_back(take)
            return failed(request, exc)
        return HttpResponse(body, headers={"Content-Type": content_type, **headers})

    return view


def _application_token(request: HttpRequest) -> str | None:
    """The application token the request carries; None for none, a malformed header or a
    customer session (DRF's authentication answers those)."""
    try:
        token = token_from_request(request)
    except AuthenticationFailed:
        return None
    return None if token is None or is_customer_token(token) else token
