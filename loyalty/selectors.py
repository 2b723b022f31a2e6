import hmac

from loyalty.models import Application
from loyalty.tokens import token_hash


def application_by_token(*, token: str) -> Application | None:
    """The active application holding this token, or None."""
    if len(token) > 256:
        return None
    digest = token_hash(token)
    app = Application.objects.active().filter(token_hash=digest).first()
    if app is None or not hmac.compare_digest(app.token_hash, digest):
        return None
    return app
