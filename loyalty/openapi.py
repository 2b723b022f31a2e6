"""The application token scheme in the OpenAPI schema (imported when the app is ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
