from django.core.management.base import BaseCommand

from rewards.services import coupons_expire


class Command(BaseCommand):
    help = (
        "Mark the coupons whose valid_until has passed expired; with COUPON_EXPIRY_REFUND on, give "
        "their points back as a void does. Idempotent and safe beside the API and another run (run it hourly)."
    )

    def handle(self, *args, **options) -> None:
        report = coupons_expire()
        self.stdout.write(f"{report.expired} coupon(s) expired, {report.refunded_points} point(s) given back")
        if report.failed:
            self.stdout.write(f"not expired (see the log): {len(report.failed)}")
