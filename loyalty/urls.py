from loyalty import apis
from rewards_project.urlpatterns import api_path

app_name = "loyalty"

urlpatterns = [
    api_path("application", apis.ApplicationApi.as_view(), "application"),
    api_path("user", apis.UserApi.as_view(), "user"),
    api_path("orders", apis.OrdersApi.as_view(), "orders"),
    api_path(r"orders/(?P<order_id>[^/]+)", apis.OrderDetailApi.as_view(), "order"),
]
