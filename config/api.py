"""The one REST framework router of the project, mounted under /api/v1/.

Every API view declares `allowed_roles`; the default permission classes refuse anonymous
callers and signed-in users without one of those roles.
"""

from rest_framework.routers import APIRootView, DefaultRouter
from rest_framework.views import APIView

from core.roles import ANY_ROLE


class QuarterdeckAPIRoot(APIRootView):
    """Lists the endpoints. Any Quarterdeck role may read it."""

    allowed_roles = ANY_ROLE


class Router(DefaultRouter):
    APIRootView = QuarterdeckAPIRoot


router = Router()


# --- Roadmap (read-only, for finance's planning) -------------------------------------
from roadmap.budgets.api import BudgetStatusViewSet, DataProductViewSet, IncidentViewSet  # noqa: E402
from roadmap.items.api import QuarterViewSet, RoadmapItemViewSet  # noqa: E402

router.register("roadmap-items", RoadmapItemViewSet, basename="roadmap-item")
router.register("quarters", QuarterViewSet, basename="quarter")
router.register("data-products", DataProductViewSet, basename="data-product")
router.register("incidents", IncidentViewSet, basename="incident")
# A report, not a collection of objects: a viewset with `list` only, so it sits on the router
# with the other roadmap endpoints.
router.register("budget-status", BudgetStatusViewSet, basename="budget-status")
# --- end roadmap ----------------------------------------------------------------------

# --- Cost (Finance and Manager) ---------------------------------------------------------
from cost.billing.api import CostFactViewSet, CostReportView, ImportRunViewSet  # noqa: E402

router.register("cost-facts", CostFactViewSet, basename="cost-fact")
router.register("imports", ImportRunViewSet, basename="import-run")
# APIViews are not viewsets: mounted beside the router's URLs (config/urls.py).
api_views: list[tuple[str, type[APIView], str]] = [("cost-reports/", CostReportView, "cost-report")]
# --- end cost ---------------------------------------------------------------------------

# --- Usage evidence from the BigQuery job history (Finance and Manager) -----------------
from cost.usage.api import USAGE_API_VIEWS  # noqa: E402

api_views += USAGE_API_VIEWS
# --- end usage ---------------------------------------------------------------------------

# --- Realised benefit of the delivered items (Finance and Manager) ----------------------
from roadmap.evidence.api import BENEFIT_API_VIEWS  # noqa: E402

api_views += BENEFIT_API_VIEWS
# --- end benefit -------------------------------------------------------------------------


def not_found(request, exception):
    """404 as JSON under /api/ (a script asked; the schema says JSON), the page elsewhere."""
    from django.http import JsonResponse
    from django.utils.translation import gettext
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        # DRF's own words (and its catalogue's translation), as its other 404s say it.
        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    return page_not_found(request, exception)
