from django.core.management.base import BaseCommand

from rewards.services import birthdays_award


class Command(BaseCommand):
    help = (
        "Give today's birthdays (in PROGRAM_TIME_ZONE) the active birthday rules' awards, each "
        "customer once a year. Idempotent and safe beside the API and another run (run it hourly)."
    )

    def handle(self, *args, **options) -> None:
        report = birthdays_award()
        self.stdout.write(f"{report.day}: {report.awarded} birthday(s) rewarded, {report.points} point(s)")
        if report.failed:
            self.stdout.write(f"not rewarded (see the log): {', '.join(map(str, sorted(report.failed)))}")
