from django.urls import URLPattern, re_path


def api_path(route: str, view, name: str) -> URLPattern:
    """A route that answers with and without its trailing slash.

    Clients of server-to-server APIs rarely follow redirects for POST, so the
    slash is optional rather than redirected (APPEND_SLASH would also answer 500
    to a POST in DEBUG).
    """
    return re_path(rf"^{route.strip('/')}/?$", view, name=name)
