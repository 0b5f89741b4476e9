"""/roadmap/: every sub-domain's pages, in one `roadmap` URL namespace."""

from roadmap.budgets import urls as budgets
from roadmap.evidence import urls as evidence
from roadmap.items import urls as items
from roadmap.reviews import urls as reviews

app_name = "roadmap"

urlpatterns = [
    *items.urlpatterns,
    *evidence.urlpatterns,
    *reviews.urlpatterns,
    *budgets.urlpatterns,
]
