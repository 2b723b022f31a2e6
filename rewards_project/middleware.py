from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from rewards_project.errors import error_response


class ApiBodySizeLimitMiddleware:
    """Refuse an API body over the limit with 413 before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(settings.API_PATH_PREFIXES):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response(400, "bad_request", "Content-Length is not a number.")
            if length > settings.API_MAX_BODY_BYTES:
                return error_response(
                    413,
                    "payload_too_large",
                    f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes.",
                )
        return self.get_response(request)
