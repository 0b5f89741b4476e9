"""Pages of BigQuery cost. Who may use each is stated by `allowed_roles` on the view:
managers and finance read cost; only managers change allocation rules."""

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, ListView, TemplateView

from core.roles import MANAGERS, MANAGERS_AND_FINANCE, RoleRequiredMixin
from cost.billing import reports
from cost.billing.allocation import delete_rule, move_rule, save_rule
from cost.billing.forms import AllocationRuleForm, ChartForm, MoveRuleForm, OverviewForm
from cost.billing.reports import Basis, MonthlyCost, Stacking
from cost.charts import monthly_cost_svg
from cost.models import AllocationRule, ImportRun


def _choices(form: OverviewForm) -> tuple[str, str]:
    return form.choice("basis", Basis.INVOICE), form.choice("stack", Stacking.SERVICE)


def chart_title(*, basis: str, stacking: str, currency: str) -> str:
    if basis == Basis.USAGE:
        if stacking == Stacking.TEAM:
            text = _("Net cost by usage month and team (%(currency)s)")
        else:
            text = _("Net cost by usage month and service (%(currency)s)")
    elif stacking == Stacking.TEAM:
        text = _("Net cost by invoice month and team (%(currency)s)")
    else:
        text = _("Net cost by invoice month and service (%(currency)s)")
    return text % {"currency": currency}


class OverviewView(RoleRequiredMixin, TemplateView):
    """Managers and finance: net cost by month (invoice or usage month, by service or by
    team), top projects and SKUs, credits, data freshness and recent imports."""

    allowed_roles = MANAGERS_AND_FINANCE
    template_name = "cost/billing/overview.html"

    def get_context_data(self, **kwargs) -> dict:
        ImportRun.objects.reap()  # the recent imports: a killed one says failed
        basis, stacking = _choices(OverviewForm(self.request.GET))
        months = reports.latest_window(basis=basis)
        charts = reports.monthly_cost(basis=basis, stacking=stacking, months=months)
        chart_url = reverse("cost:chart")
        return {
            **super().get_context_data(**kwargs),
            "basis": basis,
            "stacking": stacking,
            "basis_choices": Basis.choices,
            "stack_choices": Stacking.choices,
            "months": [reports.month_label(month) for month in months],
            "charts": [
                {
                    "data": chart,
                    "title": chart_title(basis=basis, stacking=stacking, currency=chart.currency),
                    "url": f"{chart_url}?"
                    + urlencode({"basis": basis, "stack": stacking, "currency": chart.currency}),
                }
                for chart in charts
            ],
            "totals": reports.window_totals(basis=basis, months=months),
            "projects": reports.top_projects(basis=basis, months=months),
            "skus": reports.top_skus(basis=basis, months=months),
            "credits": reports.credits_by_type(basis=basis, months=months),
            "freshness": reports.source_freshness(),
            "runs": reports.recent_import_runs(limit=8),
        }


class ChartView(RoleRequiredMixin, View):
    """Managers and finance: the overview's chart of one currency, as an SVG image."""

    allowed_roles = MANAGERS_AND_FINANCE

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ChartForm(request.GET)
        basis, stacking = _choices(form)
        months = reports.latest_window(basis=basis)
        charts = reports.monthly_cost(basis=basis, stacking=stacking, months=months)
        currency = form.choice("currency", charts[0].currency if charts else "USD")
        chart = next(
            (chart for chart in charts if chart.currency == currency),
            MonthlyCost(currency=currency, months=months, stacks=()),
        )
        svg = monthly_cost_svg(
            chart,
            title=chart_title(basis=basis, stacking=stacking, currency=currency),
            empty_text=_("No cost in this period."),
        )
        return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")


class ImportListView(RoleRequiredMixin, ListView):
    """Managers and finance: every import run, newest first."""

    allowed_roles = MANAGERS_AND_FINANCE
    template_name = "cost/billing/import_list.html"
    context_object_name = "runs"
    paginate_by = 50

    def get_queryset(self) -> QuerySet[ImportRun]:
        ImportRun.objects.reap()  # a killed import's run says failed, not running
        return ImportRun.objects.select_related("source", "started_by")


class ImportDetailView(RoleRequiredMixin, DetailView):
    """Managers and finance: one import run: files and their SHA-256, months touched with
    their outcome, counts, status, error and duration."""

    allowed_roles = MANAGERS_AND_FINANCE
    template_name = "cost/billing/import_detail.html"
    context_object_name = "run"

    def get_queryset(self) -> QuerySet[ImportRun]:
        ImportRun.objects.reap()  # a killed import's run says failed, not running
        return ImportRun.objects.select_related("source", "started_by")


# --- Allocation rules. Every change re-attributes all current and past facts.


class RuleListView(RoleRequiredMixin, TemplateView):
    """Managers: the allocation rules in the order they are tried, with the net cost each
    allocates, and the cost no rule matches."""

    allowed_roles = MANAGERS
    template_name = "cost/billing/rule_list.html"

    def get_context_data(self, **kwargs) -> dict:
        return {**super().get_context_data(**kwargs), "summary": reports.allocation_summary()}


class RuleFormMixin(RoleRequiredMixin):
    request: HttpRequest  # set by the View it is mixed into
    allowed_roles = MANAGERS
    template_name = "cost/billing/rule_form.html"

    def render_form(
        self, form: AllocationRuleForm, rule: AllocationRule | None, status: int = 200
    ) -> HttpResponse:
        context = {"form": form, "rule": rule, "label_keys": form.known_label_keys()}
        return render(self.request, self.template_name, context, status=status)

    def save(self, form: AllocationRuleForm, rule: AllocationRule | None) -> HttpResponse:
        if not form.is_valid():
            return self.render_form(form, rule, status=400)
        saved = save_rule(rule=form.save(commit=False))
        messages.success(
            self.request, _("Saved rule “%s”; cost has been allocated again.") % saved.name
        )
        return redirect("cost:rule-list")


class RuleCreateView(RuleFormMixin, View):
    """Managers: add a rule; it is tried after the existing ones."""

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {"roadmap_item": request.GET.get("roadmap_item"), "team": request.GET.get("team")}
        return self.render_form(AllocationRuleForm(initial=initial), None)

    def post(self, request: HttpRequest) -> HttpResponse:
        return self.save(AllocationRuleForm(data=request.POST), None)


class RuleUpdateView(RuleFormMixin, View):
    """Managers: change a rule's conditions, team or roadmap item."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(AllocationRule, pk=pk)
        return self.render_form(AllocationRuleForm(instance=rule), rule)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(AllocationRule, pk=pk)
        return self.save(AllocationRuleForm(data=request.POST, instance=rule), rule)


class RuleDeleteView(RoleRequiredMixin, View):
    """Managers: confirm (GET), then delete (POST) a rule."""

    allowed_roles = MANAGERS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(
            AllocationRule.objects.select_related("team", "roadmap_item"), pk=pk
        )
        summary = reports.allocation_summary()
        allocated = next((entry.amounts for entry in summary.rules if entry.rule.pk == pk), ())
        return render(
            request, "cost/billing/rule_confirm_delete.html", {"rule": rule, "amounts": allocated}
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(AllocationRule, pk=pk)
        name = rule.name
        delete_rule(rule=rule)
        messages.success(request, _("Deleted rule “%s”; cost has been allocated again.") % name)
        return redirect("cost:rule-list")


class RuleMoveView(RoleRequiredMixin, View):
    """Managers: try a rule one place earlier or later (POST only)."""

    allowed_roles = MANAGERS
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        get_object_or_404(AllocationRule, pk=pk)
        form = MoveRuleForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Say whether to move the rule up or down."))
            return redirect("cost:rule-list")
        moved = move_rule(rule_id=pk, direction=form.cleaned_data["direction"])
        if moved is not None:
            messages.success(
                request,
                _("“%(name)s” is now rule #%(position)s; cost has been allocated again.")
                % {"name": moved.name, "position": moved.position},
            )
        return redirect(f"{reverse('cost:rule-list')}#rule-{pk}")
