from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.access import AccessLevel
from loyalty.customers import customer_session_issue
from loyalty.models import Application
from loyalty.services import application_create, application_token_rotate, master_app_ensure
from rewards import services as rewards_services
from rewards.selectors import account_balance, account_exists
from rewards.services.badges import badge_create
from rewards.services.challenges import challenge_create, challenges_listed

DEMO_USER_ID = 1001
DEMO_APP_NAME = "Demo shop"
DEMO_PROGRAM_APP_NAME = "Demo program"
DEMO_LADDER = {
    "tiers": [
        {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0},
        {
            "code": "silver",
            "name": "Silver",
            "entry_points": 500,
            "retain_points": 400,
            "multiplier": "1.5",
            "benefits": ["1.5x points"],
        },
        {
            "code": "gold",
            "name": "Gold",
            "entry_points": 1000,
            "retain_points": 800,
            "multiplier": "2",
            "benefits": ["2x points", "Free shipping"],
        },
    ]
}
# Two goals the demo customer's history moves, so a first run shows the page's challenges and
# badges: the first purchase completes one (a badge), the second stands at 1 of 3.
DEMO_BADGE = {"code": "first-steps", "name": "First steps", "description": "A first purchase in the shop"}
DEMO_CHALLENGES = [
    {
        "code": "first-purchase",
        "name": "Your first purchase",
        "description": "Buy anything to earn the First steps badge.",
        "status": "active",
        "goal": {"metric": "purchases", "target": 1},
        "reward": {"badge": "first-steps"},
    },
    {
        "code": "three-purchases",
        "name": "Three purchases this month",
        "description": "Shop three times this month for 30 bonus points.",
        "status": "active",
        "goal": {"metric": "purchases", "target": 3},
        "window": {"period": "month"},
        "reward": {"points": 30},
    },
]


class Command(BaseCommand):
    help = (
        "Development only: demo data (customer 1001 with points and history) and fresh tokens "
        "for the MasterApp, a 'Demo shop' Can_Modify_Orders app and a 'Demo program' Can_Manage_Program "
        "app, printed for a first try; a demo tier ladder, badge and challenges when none are set."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, base_url: str, force: bool, **options) -> None:
        if not (settings.DEBUG or force):
            raise CommandError("seed_demo rotates tokens and writes demo data; it runs only with DEBUG on.")
        master, _, _ = master_app_ensure(name="MasterApp")
        master_token = application_token_rotate(app=master).token
        shop, shop_token = self._app_with_token(DEMO_APP_NAME, AccessLevel.CAN_MODIFY_ORDERS)
        _, program_token = self._app_with_token(DEMO_PROGRAM_APP_NAME, AccessLevel.CAN_MANAGE_PROGRAM)

        if not rewards_services.ladder_fields()["tiers"]:
            rewards_services.ladder_set(definition=DEMO_LADDER, by="the demo (seed_demo)")
        if not challenges_listed():
            badge_create(definition=DEMO_BADGE)
            for challenge in DEMO_CHALLENGES:
                challenge_create(definition=challenge, by="the demo (seed_demo)")
        if not account_exists(user_id=DEMO_USER_ID):
            self._demo_history(shop)
        balance = account_balance(user_id=DEMO_USER_ID)
        session = customer_session_issue(user_id=DEMO_USER_ID, app=shop)
        query = urlencode({"token": session.token, "user_id": DEMO_USER_ID})
        page_url = f"{base_url}/rewards-page/#{query}"

        self.stdout.write(
            f"""
Demo ready (development tokens, new on every run):
  MasterApp token        : {master_token}
  '{DEMO_APP_NAME}' token (Can_Modify_Orders): {shop_token}
  '{DEMO_PROGRAM_APP_NAME}' token (Can_Manage_Program): {program_token}
  Demo customer          : user_id {DEMO_USER_ID}, {balance.total_points} points
  Rewards page (valid {settings.CUSTOMER_SESSION_TTL_SECONDS // 60} minutes):
    {page_url}

Try:
  curl -s "{base_url}/rewards-api/get-points/?user_id={DEMO_USER_ID}" -H "Authorization: Bearer {shop_token}"
  curl -s {base_url}/rewards-api/earn-points/ -H "Authorization: Bearer {shop_token}" \\
       -H "Content-Type: application/json" \\
       -d '{{"user_id": {DEMO_USER_ID}, "points_earned": 25, "reward_description": "Attended launch event"}}'
  curl -s {base_url}/loyalty-api/rules -H "Authorization: Bearer {program_token}"
  curl -s {base_url}/loyalty-api/tiers -H "Authorization: Bearer {program_token}"
"""
        )

    @staticmethod
    def _app_with_token(name: str, access_level: str) -> tuple[Application, str]:
        """The demo application of that name with a fresh token (created the first time)."""
        app = Application.objects.active().filter(name=name).first()
        issued = (
            application_create(name=name, access_level=access_level)
            if app is None
            else application_token_rotate(app=app)
        )
        return issued.app, issued.token

    def _demo_history(self, shop: Application) -> None:
        rewards_services.points_earn(user_id=DEMO_USER_ID, points=120, description="Welcome bonus", app=shop)
        rewards_services.purchase_record(
            user_id=DEMO_USER_ID, amount=Decimal("64.50"), description="Running shoes", app=shop
        )
        rewards_services.feedback_submit(user_id=DEMO_USER_ID, description="Review of running shoes", app=shop)
        rewards_services.coupon_redeem(
            user_id=DEMO_USER_ID, points=50, amount=Decimal("5.00"), description="$5 coupon", app=shop
        )
