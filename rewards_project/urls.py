from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import errors
from core.urlpatterns import api_path
from loyalty.apis import CustomerSessionApi, ReferralCodeApi, ReferralsApi
from rewards.views import report_csv, reports_dashboard, rewards_page, unsubscribe

admin.site.site_header = f"{settings.PROGRAM_NAME} administration"
admin.site.site_title = settings.PROGRAM_NAME
admin.site.index_title = "Customers, applications, orders and the ledger"
admin.site.site_url = "/api/docs/"
admin.site.index_template = "admin/index_with_reports.html"  # admin's index, with the reports dashboard's link

urlpatterns = [
    # The API first: Django tries the patterns in order on every request.
    path("rewards-api/", include("rewards.urls")),
    path("loyalty-api/", include("loyalty.urls")),
    # Issued by loyalty (it knows applications), served under the rewards-api/ prefix.
    api_path("rewards-api/customer-session/", CustomerSessionApi.as_view(), "customer-session"),
    api_path("rewards-api/referral-code/", ReferralCodeApi.as_view(), "referral-code"),
    api_path("rewards-api/referrals/", ReferralsApi.as_view(), "referrals"),
    # The service has no home page of its own; its API reference is the useful start.
    path("", RedirectView.as_view(url="/api/docs/", permanent=False)),
    path("admin/reports/", admin.site.admin_view(reports_dashboard), name="admin-reports"),
    path("admin/reports/<slug:name>.csv", admin.site.admin_view(report_csv), name="admin-report-csv"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("rewards-page/", rewards_page, name="rewards-page"),
    path("messages/unsubscribe/<str:token>/", unsubscribe, name="messages-unsubscribe"),
    # Anything else under an API prefix is a JSON 404, in DEBUG too, whatever the method.
    re_path(r"^(?:rewards|loyalty)-api(?:/.*)?$", errors.api_not_found),
]

handler400 = errors.json_bad_request
handler403 = errors.json_permission_denied
handler404 = errors.json_not_found
handler500 = errors.json_server_error
