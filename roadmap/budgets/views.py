"""Pages of error budgets. Managers, Reviewers and Finance read every product's budget
(VPs must see the number); only managers record products and incidents."""

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from core.roles import ANY_ROLE, MANAGERS, RoleRequiredMixin, signed_in_user
from roadmap.budgets.forms import DataProductForm, IncidentForm
from roadmap.budgets.rules import (
    budget_rows,
    budget_status,
    budget_statuses,
    current_quarter,
    incidents_in_quarter,
    save_incident,
    save_product,
)
from roadmap.models import DataProduct, Incident, RoadmapItem


class BudgetListView(RoleRequiredMixin, View):
    """Managers, Reviewers, Finance: every product's budget in its current period, the
    quarter's incidents, and the roadmap items that restore or spend each budget."""

    allowed_roles = ANY_ROLE

    def get(self, request: HttpRequest) -> HttpResponse:
        today = timezone.localdate()
        rows = budget_rows(budget_statuses(today=today), today=today)
        return render(
            request,
            "roadmap/budgets/list.html",
            {
                "rows": rows,
                "quarter": current_quarter(today),
                "incidents": list(incidents_in_quarter(today=today)),
            },
        )


class ProductDetailView(RoleRequiredMixin, View):
    """Managers, Reviewers, Finance: one product, its objectives and all its incidents."""

    allowed_roles = ANY_ROLE

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        product = get_object_or_404(
            DataProduct.objects.select_related("owner").prefetch_related(
                "consumers",
                Prefetch("reliability_items", queryset=RoadmapItem.objects.order_by("rank", "id")),
            ),
            pk=pk,
        )
        incidents = list(
            product.incidents.select_related("caused_by", "follow_up").prefetch_related("products")
        )
        today = timezone.localdate()
        status = budget_status(product, today=today, incidents=incidents)
        context = {
            "product": product,
            "row": budget_rows([status], today=today)[0],
            "incidents": incidents,
        }
        return render(request, "roadmap/budgets/product_detail.html", context)


class ProductFormView(RoleRequiredMixin, View):
    """Managers: a new product (GET/POST /budgets/products/new/) or a change to one
    (GET/POST /budgets/products/<pk>/edit/)."""

    allowed_roles = MANAGERS
    template_name = "roadmap/budgets/product_form.html"

    def _instance(self, pk: int | None) -> DataProduct | None:
        return None if pk is None else get_object_or_404(DataProduct, pk=pk)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        product = self._instance(pk)
        form = DataProductForm(instance=product)
        return render(request, self.template_name, {"form": form, "product": product})

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        product = self._instance(pk)
        form = DataProductForm(data=request.POST, instance=product)
        if not form.is_valid():
            return render(
                request, self.template_name, {"form": form, "product": product}, status=400
            )
        saved = save_product(
            product=form.instance,
            consumers=form.cleaned_data["consumers"],
            reliability_items=form.cleaned_data["reliability_items"],
        )
        messages.success(request, _("Saved “%s”.") % saved.name)
        return HttpResponseRedirect(saved.get_absolute_url())


class IncidentFormView(RoleRequiredMixin, View):
    """Managers: record an incident (GET/POST /budgets/incidents/new/) or correct one
    (GET/POST /budgets/incidents/<pk>/edit/); it spends the budget of each product ticked."""

    allowed_roles = MANAGERS
    template_name = "roadmap/budgets/incident_form.html"

    def _instance(self, pk: int | None) -> Incident | None:
        return None if pk is None else get_object_or_404(Incident, pk=pk)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        incident = self._instance(pk)
        initial = {}
        if incident is None and request.GET.get("product"):
            initial["products"] = request.GET.getlist("product")
        form = IncidentForm(instance=incident, initial=initial)
        return render(request, self.template_name, {"form": form, "incident": incident})

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        incident = self._instance(pk)
        form = IncidentForm(data=request.POST, instance=incident)
        if not form.is_valid():
            return render(
                request, self.template_name, {"form": form, "incident": incident}, status=400
            )
        saved = save_incident(
            incident=form.instance,
            products=form.cleaned_data["products"],
            by=signed_in_user(request),
        )
        if incident is None:
            messages.success(request, _("Incident “%s” recorded.") % saved.title)
        else:
            messages.success(request, _("Incident “%s” saved.") % saved.title)
        return HttpResponseRedirect(reverse("roadmap:budget-list") + "#incidents")
