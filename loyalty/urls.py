from core.urlpatterns import api_path
from loyalty import apis

app_name = "loyalty"

urlpatterns = [
    api_path("application", apis.ApplicationApi.as_view(), "application"),
    api_path("user", apis.UserApi.as_view(), "user"),
    api_path("orders", apis.OrdersApi.as_view(), "orders"),
    api_path(r"orders/(?P<order_id>[^/]+)", apis.OrderDetailApi.as_view(), "order"),
    api_path("webhooks", apis.WebhooksApi.as_view(), "webhooks"),
    api_path("tiers", apis.TiersApi.as_view(), "tiers"),
    api_path("catalog", apis.CatalogManageApi.as_view(), "catalog"),
    api_path(r"customers/(?P<user_id>[^/]+)/export", apis.CustomerExportApi.as_view(), "customer-export"),
    api_path(r"customers/(?P<user_id>[^/]+)/balance", apis.CustomerBalanceApi.as_view(), "customer-balance"),
    api_path(
        r"customers/(?P<user_id>[^/]+)/personal-data", apis.CustomerPersonalDataApi.as_view(), "customer-personal-data"
    ),
    api_path("reports/liability", apis.LiabilityReportApi.as_view(), "report-liability"),
    api_path("reports/rollforward", apis.RollforwardReportApi.as_view(), "report-rollforward"),
    api_path("reports/breakage", apis.BreakageReportApi.as_view(), "report-breakage"),
    api_path("audit", apis.AuditApi.as_view(), "audit"),
    api_path(r"catalog/(?P<item_id>[^/]+)", apis.CatalogItemApi.as_view(), "catalog-item"),
    api_path("badges", apis.BadgesApi.as_view(), "badges"),
    api_path(r"badges/(?P<code>[^/]+)", apis.BadgeDetailApi.as_view(), "badge"),
    api_path("challenges", apis.ChallengesApi.as_view(), "challenges"),
    api_path(r"challenges/(?P<code>[^/]+)", apis.ChallengeDetailApi.as_view(), "challenge"),
    api_path("rules", apis.RulesApi.as_view(), "rules"),
    api_path("rules/simulate", apis.RulesSimulateApi.as_view(), "rules-simulate"),
    api_path(r"rules/(?P<rule_id>[^/]+)", apis.RuleDetailApi.as_view(), "rule"),
    api_path(r"webhooks/(?P<webhook_id>[^/]+)", apis.WebhookDetailApi.as_view(), "webhook"),
    api_path("segments", apis.SegmentsApi.as_view(), "segments"),
    api_path(r"segments/(?P<code>[^/]+)", apis.SegmentDetailApi.as_view(), "segment"),
    api_path(r"segments/(?P<code>[^/]+)/members", apis.SegmentMembersApi.as_view(), "segment-members"),
    api_path(r"segments/(?P<code>[^/]+)/awards", apis.SegmentAwardsApi.as_view(), "segment-awards"),
    api_path(
        r"segments/(?P<code>[^/]+)/awards/(?P<award_id>[^/]+)", apis.SegmentAwardDetailApi.as_view(), "segment-award"
    ),
    api_path(r"customers/(?P<user_id>[^/]+)/segments", apis.CustomerSegmentsApi.as_view(), "customer-segments"),
]
