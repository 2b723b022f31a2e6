import os

from django.core.management.base import BaseCommand

from loyalty.services import master_app_ensure


class Command(BaseCommand):
    help = (
        "Create the MasterApp if it does not exist (idempotent) and print its token once. "
        "With MASTER_APP_TOKEN set, that token is used instead of a generated one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", default="MasterApp", help="Name of the MasterApp (default: MasterApp).")

    def handle(self, *args, name: str, **options) -> None:
        token = os.environ.get("MASTER_APP_TOKEN") or None
        app, shown, created = master_app_ensure(name=name, token=token)
        if not created:
            note = " Its token was set from MASTER_APP_TOKEN." if token else ""
            self.stdout.write(f"MasterApp '{app.name}' already exists (app_id {app.app_id}).{note}")
            return
        self.stdout.write(f"Created MasterApp '{app.name}' (app_id {app.app_id}).")
        if shown:
            self.stdout.write(f"Token (shown once, store it now): {shown}")
        else:
            self.stdout.write("Its token is the one in MASTER_APP_TOKEN.")
