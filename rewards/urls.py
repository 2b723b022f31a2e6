from core.urlpatterns import api_path
from loyalty.lean import lean_view
from rewards import apis

app_name = "rewards"

urlpatterns = [
    api_path("earn-points/", apis.EarnPointsApi.as_view(), "earn-points"),
    api_path("purchase/", apis.PurchaseApi.as_view(), "purchase"),
    api_path("submit-feedback/", apis.SubmitFeedbackApi.as_view(), "submit-feedback"),
    api_path("redeem-coupon/", apis.RedeemCouponApi.as_view(), "redeem-coupon"),
    api_path("redeem-donation/", apis.RedeemDonationApi.as_view(), "redeem-donation"),
    api_path("use-coupon/", apis.UseCouponApi.as_view(), "use-coupon"),
    api_path("void-coupon/", apis.VoidCouponApi.as_view(), "void-coupon"),
    api_path("catalog/", apis.CatalogApi.as_view(), "catalog"),
    api_path("get-points/", lean_view(apis.GetPointsApi), "get-points"),
    api_path("get-redemptions/", apis.GetRedemptionsApi.as_view(), "get-redemptions"),
    api_path("get-user-info/", lean_view(apis.GetUserInfoApi), "get-user-info"),
    api_path("get-all-history/", apis.GetAllHistoryApi.as_view(), "get-all-history"),
    api_path("events/", apis.EventsApi.as_view(), "events"),
    api_path("activities/", apis.ActivitiesApi.as_view(), "activities"),
    api_path("birthday/", apis.BirthdayApi.as_view(), "birthday"),
    api_path("tiers/", apis.TiersApi.as_view(), "tiers"),
    api_path("challenges/", apis.CustomerChallengesApi.as_view(), "challenges"),
    api_path(r"customers/(?P<user_id>[^/]+)/contact/", apis.ContactApi.as_view(), "contact"),
    api_path(r"customers/(?P<user_id>[^/]+)/attributes/", apis.CustomerAttributesApi.as_view(), "customer-attributes"),
    api_path("ledger/digests/", apis.LedgerDigestsApi.as_view(), "ledger-digests"),
    api_path("ledger/public-key/", apis.LedgerPublicKeyApi.as_view(), "ledger-public-key"),
]
