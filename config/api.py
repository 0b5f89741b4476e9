"""The one REST framework router of the project, mounted under /api/v1/.

Every API view declares `allowed_roles`; the default permission classes refuse anonymous
callers and signed-in users without one of those roles.
"""

from rest_framework.routers import APIRootView, DefaultRouter

from config.roles import Role


class QuarterdeckAPIRoot(APIRootView):
    """Lists the endpoints. Any Quarterdeck role may read it."""

    allowed_roles = frozenset(Role.values)


class Router(DefaultRouter):
    APIRootView = QuarterdeckAPIRoot


router = Router()
