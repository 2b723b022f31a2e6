from django.core.management.base import BaseCommand

from loyalty.services.webhooks import webhooks_deliver_all


class Command(BaseCommand):
    help = (
        "Deliver webhooks once: new events become deliveries, and every delivery due is sent "
        "(what the Celery worker does; for setups without a broker, and for tests)."
    )

    def handle(self, *args, **options) -> None:
        report = webhooks_deliver_all()
        self.stdout.write(
            f"delivered: {report.delivered}; failed attempts (to retry): {report.failed_attempts}; "
            f"given up: {report.gave_up}"
        )
