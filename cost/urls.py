"""/cost/: the billing and job-history (usage) pages, in one `cost` URL namespace."""

from cost.billing import urls as billing
from cost.usage import urls as usage

app_name = "cost"

urlpatterns = [*billing.urlpatterns, *usage.urlpatterns]
