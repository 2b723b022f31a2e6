from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loyalty.apis import CustomerSessionApi
from rewards.views import rewards_page
from rewards_project import errors
from rewards_project.urlpatterns import api_path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("rewards-page/", rewards_page, name="rewards-page"),
    # Issued by loyalty (it knows applications), served under the rewards-api/ prefix.
    api_path("rewards-api/customer-session/", CustomerSessionApi.as_view(), "customer-session"),
    path("rewards-api/", include("rewards.urls")),
    path("loyalty-api/", include("loyalty.urls")),
    # Anything else under an API prefix is a JSON 404, in DEBUG too, whatever the method.
    re_path(r"^(?:rewards|loyalty)-api(?:/.*)?$", errors.api_not_found),
]

handler400 = errors.json_bad_request
handler403 = errors.json_permission_denied
handler404 = errors.json_not_found
handler500 = errors.json_server_error
