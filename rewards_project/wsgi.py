import os

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")

django_application = get_wsgi_application()

from core.middleware import charset_guard, last_resort  # noqa: E402 - after Django is set up

# An odd charset is dealt with before Django builds its request object; anything that still
# escapes Django is answered in JSON and logged without its query string.
application = last_resort(charset_guard(django_application))

if not settings.DEBUG and settings.SECRET_KEY == settings.INSECURE_DEVELOPMENT_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY: the development key is never served with DEBUG off.")
if not settings.DEBUG and not settings.LEDGER_SIGNING_KEY:
    raise ImproperlyConfigured(
        "Set LEDGER_SIGNING_KEY: the ledger's digests are signed with it (`manage.py ledger_keygen` prints one)."
    )
if isinstance(staticfiles_storage, ManifestFilesMixin) and not staticfiles_storage.exists(
    staticfiles_storage.manifest_name
):
    # Without them the rewards page, Swagger UI and admin would load without their files.
    raise ImproperlyConfigured(
        f"Static files are not collected in {settings.STATIC_ROOT}: run "
        "`python manage.py collectstatic --no-input` before starting the server (`make serve` does)."
    )
