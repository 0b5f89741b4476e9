"""Pages of the roadmap. Who may use each is stated by `allowed_roles` on the view."""

import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from core.money import Money
from core.quarters import parse_quarter_code
from core.roles import MANAGERS, RoleRequiredMixin, signed_in_user
from cost.billing.reports import item_monthly_cost
from roadmap.budgets.rules import (
    budget_rows,
    budget_statuses,
    exhausted_budgets_of,
    exhausted_items,
)
from roadmap.evidence.benefit import item_benefit, shows_benefit
from roadmap.evidence.tables import item_evidence
from roadmap.items import scoring
from roadmap.items.filters import ItemFilter
from roadmap.items.forms import CapacityForm, ImportItemsForm, MoveItemForm, RoadmapItemForm
from roadmap.items.history import item_history
from roadmap.items.planning import (
    OPEN_STATUSES,
    CapacityConflict,
    EditConflict,
    StaleRanking,
    build_board,
    capacity_grid,
    move_item,
    open_ranks,
    ranking_version,
    save_item,
    set_capacity,
)
from roadmap.items.spreadsheets import ImportRejected, export_items, import_items, items_for_export
from roadmap.models import Quarter, RoadmapItem


class HomeView(LoginRequiredMixin, TemplateView):
    """Any signed-in user: a landing page listing what their roles open."""

    template_name = "home.html"


class BoardView(RoleRequiredMixin, TemplateView):
    """Managers: the four-quarter roadmap, themes as rows, capacity per quarter."""

    allowed_roles = MANAGERS
    template_name = "roadmap/items/board.html"

    def get_context_data(self, **kwargs) -> dict:
        first = self.request.GET.get("from") or Quarter.current_code()
        try:
            parse_quarter_code(first)
        except ValidationError as error:
            messages.error(self.request, error.messages[0])
            first = Quarter.current_code()
        board = build_board(first_code=first.upper())
        # The error-budget lane and the flags on cards: three queries, however many items.
        # A card knows its item by its address only (planning.Card), so flags are keyed so.
        today = timezone.localdate()
        statuses = budget_statuses(today=today)
        detail_url = reverse("roadmap:item-detail", args=[0]).replace("/0/", "/{}/")
        flagged = {
            detail_url.format(pk): [product.name for product in products]
            for pk, products in exhausted_items(statuses).items()
        }
        # Open cards can be dragged within their cell: each gets its item's move address.
        ranks = open_ranks()
        move_url = reverse("roadmap:item-move", args=[0]).replace("/0/", "/{}/")
        movable = {detail_url.format(pk): move_url.format(pk) for pk, _rank in ranks}
        return {
            **super().get_context_data(**kwargs),
            "board": board,
            "current_code": Quarter.current_code(),
            "budget_lane": budget_rows(statuses, today=today),
            "flagged_cards": flagged,
            "move_urls": movable,
            "ranking_version": ranking_version(ranks),
        }


@dataclass
class ItemRow:
    """One line of the ranked list, every derived figure computed once."""

    item: RoadmapItem
    is_open: bool
    rice_rank: int | None
    wsjf_rank: int | None
    url: str
    move_url: str
    status_label: str
    rice: Decimal | None = field(init=False)
    wsjf: Decimal | None = field(init=False)
    people_cost: Money | None = field(init=False)
    bq_change: Money | None = field(init=False)
    cost_per_hour: Money | None = field(init=False)
    payback: Decimal | None = field(init=False)
    owner_name: str = field(init=False)

    def __post_init__(self) -> None:
        item = self.item
        self.rice, self.wsjf = item.rice_score(), item.wsjf_score()
        self.people_cost = item.people_cost()
        self.bq_change = item.bq_monthly_change_money()
        self.cost_per_hour = item.cost_per_hour_saved()
        self.payback = item.payback_months()
        owner = item.owner
        self.owner_name = (owner.get_full_name() or owner.get_username()) if owner else ""

    @property
    def manual_rank(self) -> int | None:
        return self.item.rank if self.is_open else None

    @property
    def disagreement(self) -> int | None:
        """How far apart the manual, RICE and WSJF ranks are (0 = all agree)."""
        ranks = [rank for rank in (self.manual_rank, self.rice_rank, self.wsjf_rank) if rank]
        return max(ranks) - min(ranks) if len(ranks) > 1 else None


SORT_KEYS = {
    "rank": lambda row: (not row.is_open, row.item.rank, row.item.pk),
    "rice": lambda row: row.rice,
    "wsjf": lambda row: row.wsjf,
    "title": lambda row: row.item.title.lower(),
    "target": lambda row: row.item.target_quarter.start_date if row.item.target_quarter else None,
    "effort": lambda row: row.item.effort_weeks,
    "people_cost": lambda row: c.amount if (c := row.item.people_cost()) else None,
    "bq_change": lambda row: row.item.bq_monthly_cost_change,
    "hours_saved": lambda row: row.item.hours_saved_per_month,
    "cost_per_hour": lambda row: c.amount if (c := row.item.cost_per_hour_saved()) else None,
    "payback": lambda row: row.item.payback_months(),
    "disagreement": lambda row: row.disagreement,
}
DESCENDING_BY_DEFAULT = {"rice", "wsjf", "hours_saved", "disagreement"}


def _sorted_rows(rows: list[ItemRow], sort: str) -> list[ItemRow]:
    descending = sort.startswith("-")
    key = SORT_KEYS[sort.lstrip("-")]
    known = [row for row in rows if key(row) is not None]
    unknown = [row for row in rows if key(row) is None]
    # Items without a value always go last, whichever way the column is sorted.
    return sorted(known, key=key, reverse=descending) + unknown


class ItemListView(RoleRequiredMixin, TemplateView):
    """Managers: ranked list with scores and cost/benefit, sortable and filterable."""

    allowed_roles = MANAGERS
    template_name = "roadmap/items/list.html"

    def get_context_data(self, **kwargs) -> dict:
        params = self.request.GET.copy()
        if "status" not in params:
            params.setlist("status", list(OPEN_STATUSES))
        filterset = ItemFilter(params, queryset=RoadmapItem.objects.all())
        visible = set(filterset.qs.values_list("pk", flat=True))
        items = list(RoadmapItem.objects.with_related())
        open_items = [item for item in items if item.status in OPEN_STATUSES]
        rice_ranks = scoring.competition_ranks(open_items, RoadmapItem.rice_score)
        wsjf_ranks = scoring.competition_ranks(open_items, RoadmapItem.wsjf_score)
        labels = {value: str(label) for value, label in RoadmapItem.Status.choices}
        detail_url = reverse("roadmap:item-detail", args=[0]).replace("/0/", "/{}/")
        move_url = reverse("roadmap:item-move", args=[0]).replace("/0/", "/{}/")
        rows = [
            ItemRow(
                item=item,
                is_open=item.status in OPEN_STATUSES,
                rice_rank=rice_ranks.get(item),
                wsjf_rank=wsjf_ranks.get(item),
                url=detail_url.format(item.pk),
                move_url=move_url.format(item.pk),
                status_label=labels[item.status],
            )
            for item in items
            if item.pk in visible
        ]
        sort = self.request.GET.get("sort", "rank")
        if sort.lstrip("-") not in SORT_KEYS:
            sort = "rank"
        query = params.copy()
        query.pop("sort", None)
        return {
            **super().get_context_data(**kwargs),
            "filter": filterset,
            "rows": _sorted_rows(rows, sort),
            "sort": sort,
            "query": query.urlencode(),
            "open_count": len(open_items),
            "descending_by_default": DESCENDING_BY_DEFAULT,
            "can_reorder": sort == "rank",
            "ranking_version": ranking_version(
                (item.pk, item.rank) for item in sorted(open_items, key=lambda i: (i.rank, i.pk))
            ),
        }


class ItemDetailView(RoleRequiredMixin, TemplateView):
    """Managers: every field of an item, rendered Markdown, its actual BigQuery cost per
    month, what it changed once delivered (done items, and items in progress that build
    on tables), the usage of its tables and its interviews, and its change history."""

    allowed_roles = MANAGERS
    template_name = "roadmap/items/detail.html"

    def get_context_data(self, **kwargs) -> dict:
        item = get_object_or_404(
            RoadmapItem.objects.with_related().prefetch_related(
                "requesting_teams", "depends_on", "blocks"
            ),
            pk=kwargs["pk"],
        )
        evidence = item_evidence(item=item, today=timezone.localdate())
        realised = (
            # As of today's UTC day, the days of the job history.
            item_benefit(item=item, as_of=timezone.now().date())
            if shows_benefit(item, len(evidence.build_on))
            else None
        )
        return {
            **super().get_context_data(**kwargs),
            "item": item,
            "benefit": realised,
            "history": item_history(item),
            # Actual BigQuery cost next to the declared change: one query each, however
            # many facts the rules allocate.
            "cost_months": item_monthly_cost(item_id=item.pk, today=timezone.localdate()),
            "cost_rules": list(item.allocation_rules.select_related("team").order_by("position")),
            "exhausted_budgets": exhausted_budgets_of(item, budget_statuses()),
            "evidence": evidence,
        }


class ItemFormMixin(RoleRequiredMixin):
    request: HttpRequest  # set by the View it is mixed into
    allowed_roles = MANAGERS
    template_name = "roadmap/items/form.html"

    def render_form(
        self,
        form: RoadmapItemForm,
        item: RoadmapItem | None,
        conflict: EditConflict | None = None,
        status: int = 200,
    ) -> HttpResponse:
        return render(
            self.request,
            self.template_name,
            {"form": form, "item": item, "conflict": conflict},
            status=status,
        )

    def save(self, form: RoadmapItemForm, item: RoadmapItem | None) -> HttpResponse:
        if not form.is_valid():
            return self.render_form(form, item, status=400)
        try:
            saved = save_item(
                item=form.instance,
                requesting_teams=form.cleaned_data["requesting_teams"],
                depends_on=form.cleaned_data["depends_on"],
                expected_version=form.cleaned_data.get("version"),
                by=signed_in_user(self.request),
            )
        except EditConflict as conflict:
            # Nothing is saved. The form comes back with the other person's changes merged
            # in and clashing fields flagged; the next save (on the version now shown) wins.
            rebased = form.rebase(conflict)
            return self.render_form(rebased, conflict.item, conflict=conflict, status=409)
        messages.success(self.request, _("Saved “%s”.") % saved.title)
        return redirect(saved)


class ItemCreateView(ItemFormMixin, View):
    """Managers: draft a new item; it joins the bottom of the priority list."""

    def get(self, request: HttpRequest) -> HttpResponse:
        initial = {
            "target_quarter": request.GET.get("quarter", ""),
            "theme": request.GET.get("theme"),
        }
        return self.render_form(RoadmapItemForm(initial=initial), None)

    def post(self, request: HttpRequest) -> HttpResponse:
        return self.save(RoadmapItemForm(data=request.POST), None)


class ItemUpdateView(ItemFormMixin, View):
    """Managers: edit an item; a save based on an outdated copy is refused (409)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = get_object_or_404(RoadmapItem, pk=pk)
        return self.render_form(RoadmapItemForm(instance=item), item)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = get_object_or_404(RoadmapItem, pk=pk)
        return self.save(RoadmapItemForm(data=request.POST, instance=item), item)


class ItemMoveView(RoleRequiredMixin, View):
    """Managers: move an open item up, down, or to a given priority rank (POST only).

    The page sends the ranking version it showed; a move chosen on a list that changed
    since (someone else moved, added or closed an item) is refused and nothing moves.
    A form post is redirected back with a message; a request that prefers JSON (the
    drag and drop of static/js/ranking.js) gets the outcome as JSON: 200 with the new
    rank and version, 409 when the list was out of date, 400 for a move that cannot be.
    """

    allowed_roles = MANAGERS
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = get_object_or_404(RoadmapItem, pk=pk)
        form = MoveItemForm(request.POST)
        if item.status not in OPEN_STATUSES:
            return self.refuse(
                _("Only proposed, planned or in-progress items have a rank."), status=400
            )
        if not form.is_valid():
            # An ErrorList yields its messages (str), whatever its stubs say.
            text = " ".join(form.errors.get("__all__", [])) or _("Give a rank of 1 or more.")  # type: ignore[arg-type]
            return self.refuse(text, status=400)
        try:
            moved = move_item(
                item=item,
                to_rank=form.target_rank(item.rank),
                seen_version=form.cleaned_data.get("version") or None,
                by=signed_in_user(request),
            )
        except StaleRanking:
            return self.refuse(
                _(
                    "The list changed since this page showed it (someone moved, added or "
                    "closed an item), so nothing was moved. This is the list as it is now; "
                    "move the item again."
                ),
                status=409,
            )
        text = _("“%(title)s” is now #%(rank)s.") % {"title": moved.title, "rank": moved.rank}
        if self.wants_json():
            return JsonResponse(
                {
                    "id": moved.pk,
                    "rank": moved.rank,
                    "version": ranking_version(open_ranks()),
                    "message": text,
                }
            )
        messages.success(request, text)
        return HttpResponseRedirect(_safe_next(request, reverse("roadmap:item-list")))

    def wants_json(self) -> bool:
        preferred = self.request.get_preferred_type(["text/html", "application/json"])
        return preferred == "application/json"

    def refuse(self, text: str, *, status: int) -> HttpResponse:
        if self.wants_json():
            return JsonResponse(
                {"message": text, "version": ranking_version(open_ranks())}, status=status
            )
        messages.error(self.request, text)
        return HttpResponseRedirect(_safe_next(self.request, reverse("roadmap:item-list")))


def _safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


class ItemExportView(RoleRequiredMixin, View):
    """Managers: every item as CSV (UTF-8 with BOM so spreadsheets read accents and kanji)."""

    allowed_roles = MANAGERS

    def get(self, request: HttpRequest) -> HttpResponse:
        buffer = io.StringIO()
        buffer.write("\ufeff")
        export_items(items_for_export(), buffer)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="roadmap-{stamp}.csv"'
        return response


class ItemImportView(RoleRequiredMixin, FormView):
    """Managers: import a CSV; all rows or none, every bad row reported."""

    allowed_roles = MANAGERS
    template_name = "roadmap/items/import.html"
    form_class = ImportItemsForm

    def form_invalid(self, form: ImportItemsForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form: ImportItemsForm) -> HttpResponse:
        upload = form.cleaned_data["file"]
        try:
            result = import_items(data=upload.read(), by=signed_in_user(self.request))
        except ImportRejected as rejected:
            return self.render_to_response(
                self.get_context_data(form=form, errors=rejected.errors, filename=upload.name),
                status=400,
            )
        except EditConflict as conflict:
            form.add_error(
                "file",
                _("“%s” was changed while importing; nothing was imported. Try again.")
                % conflict.item.title,
            )
            return self.form_invalid(form)
        messages.success(
            self.request,
            _(
                "Imported %(name)s: %(created)s created, %(updated)s updated, "
                "%(unchanged)s unchanged."
            )
            % {
                "name": upload.name,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
        )
        return redirect("roadmap:item-list")


class CapacityView(RoleRequiredMixin, View):
    """Managers: person-weeks each delivering team has per quarter (blank = not set)."""

    allowed_roles = MANAGERS
    template_name = "roadmap/items/capacity.html"

    def _first_code(self) -> str:
        first = self.request.GET.get("from") or Quarter.current_code()
        try:
            parse_quarter_code(first)
        except ValidationError:
            first = Quarter.current_code()
        return first.upper()

    def get(self, request: HttpRequest) -> HttpResponse:
        grid = capacity_grid(first_code=self._first_code())
        return render(request, self.template_name, {"form": CapacityForm(grid=grid)})

    def post(self, request: HttpRequest) -> HttpResponse:
        grid = capacity_grid(first_code=self._first_code())
        form = CapacityForm(request.POST, grid=grid)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        try:
            changed = set_capacity(changes=form.changes())
        except CapacityConflict as conflict:
            fresh = CapacityForm(grid=capacity_grid(first_code=grid.quarters[0].code))
            cells = ", ".join(f"{team.name} {code}" for team, code in conflict.cells)
            messages.error(
                request,
                _(
                    "Not saved: someone changed %(cells)s meanwhile. The current figures are "
                    "shown; enter your changes again."
                )
                % {"cells": cells},
            )
            return render(request, self.template_name, {"form": fresh}, status=409)
        messages.success(request, _("Capacity saved (%s changed).") % changed)
        return redirect(f"{reverse('roadmap:board')}?from={grid.quarters[0].code}")
