from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from loyalty.customers import CustomerPrincipal

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views loads.
    from rest_framework.views import APIView


class HasRequiredAccess(BasePermission):
    """Each view names the access level it needs in ``required_access``.

    A view that names none is closed: forgetting to declare a level can never
    open an endpoint. A customer session passes only where the view also says
    ``customer_access = True`` and only while its issuing application still has the
    level the view needs; the view then checks that the request is about that customer.
    """

    message = "This application's access level does not allow this request."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        required = getattr(view, "required_access", None)
        principal = request.user
        if required is None or principal is None or not getattr(principal, "is_authenticated", False):
            return False
        if isinstance(principal, CustomerPrincipal) and not getattr(view, "customer_access", False):
            return False
        return principal.grants(required)
