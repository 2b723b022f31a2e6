from django.urls import URLPattern, re_path

# One path segment holding no control character (C0, DEL, C1). No code or id the API hands out
# holds one, and a NUL would reach the database, which refuses it in a string (a 500).
PATH_SEGMENT = r"[^/\x00-\x1f\x7f-\x9f]+"


def api_path(route: str, view, name: str) -> URLPattern:
    """A route that answers with and without its trailing slash.

    Clients of server-to-server APIs rarely follow redirects for POST, so the
    slash is optional rather than redirected (APPEND_SLASH would also answer 500
    to a POST in DEBUG).

    A path parameter is written ``(?P<name>[^/]+)`` (one segment) and matches a segment with no
    control character: a code or an id holding one names nothing, so the path has no endpoint
    and its answer is the API's JSON 404, before a view, its access check or a lookup sees it.
    """
    return re_path(rf"^{route.strip('/').replace('[^/]+', PATH_SEGMENT)}/?$", view, name=name)
