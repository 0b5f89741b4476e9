"""Pages of an item's evidence: naming its tables, citing their usage, and the stakeholder
interviews. Managers only: reviewers read the evidence in the review pack."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from core.models import Team
from core.roles import MANAGERS, RoleRequiredMixin, signed_in_user
from core.sheets import csv_text
from cost.charts import readers_per_week_svg
from roadmap.evidence.benefit import RemainingReader, Retirement, item_benefit
from roadmap.evidence.forms import InterviewForm, ItemTablesForm
from roadmap.evidence.interviews import interview_version, interviews_by_team, save_interview
from roadmap.evidence.tables import (
    ChangedMeanwhile,
    NoUsageEvidence,
    apply_usage_evidence,
    set_item_tables,
    tables_by_role,
    tables_digest,
)
from roadmap.items.planning import EditConflict
from roadmap.models import ItemTable, RoadmapItem, StakeholderInterview


def _evidence_url(item: RoadmapItem) -> str:
    return f"{item.get_absolute_url()}#usage-evidence"


class ItemTablesView(RoleRequiredMixin, View):
    """Managers: the tables an item retires and builds on, one name a line."""

    allowed_roles = MANAGERS
    template_name = "roadmap/evidence/tables_form.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = get_object_or_404(RoadmapItem, pk=pk)
        form = ItemTablesForm(initial={**_table_lines(item), "seen": tables_digest(item)})
        return render(request, self.template_name, {"form": form, "item": item})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = get_object_or_404(RoadmapItem, pk=pk)
        form = ItemTablesForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                links = set_item_tables(
                    item=item,
                    retire=form.cleaned_data["retire"],
                    build_on=form.cleaned_data["build_on"],
                    seen=form.cleaned_data["seen"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            except ChangedMeanwhile:
                # Nothing saved. The form keeps what this manager typed, on the tables as
                # they are now, so saving it again replaces them knowingly.
                now = _table_lines(item)
                form = ItemTablesForm({**request.POST.dict(), "seen": tables_digest(item)})
                form.is_valid()
                form.add_error(
                    None,
                    _(
                        "Someone changed this item's tables meanwhile; nothing was saved. "
                        "It now retires: %(retire)s; builds on: %(build_on)s. Save again to "
                        "replace them with the tables below."
                    )
                    % {
                        "retire": now["retire"].replace("\n", ", ") or "—",
                        "build_on": now["build_on"].replace("\n", ", ") or "—",
                    },
                )
                status = 409
            else:
                messages.success(
                    request,
                    ngettext(
                        "“%(title)s” now names %(count)s table.",
                        "“%(title)s” now names %(count)s tables.",
                        len(links),
                    )
                    % {"title": item.title, "count": len(links)},
                )
                return HttpResponseRedirect(_evidence_url(item))
        return render(request, self.template_name, {"form": form, "item": item}, status=status)


def _table_lines(item: RoadmapItem) -> dict[str, str]:
    tables = tables_by_role(item)
    return {
        "retire": "\n".join(t.full_name for t in tables[ItemTable.Role.RETIRE]),
        "build_on": "\n".join(t.full_name for t in tables[ItemTable.Role.BUILD_ON]),
    }


class ItemEvidenceApplyView(RoleRequiredMixin, View):
    """Managers: put the last 90 days' usage figures into the item's benefit evidence and
    its users affected (POST only)."""

    allowed_roles = MANAGERS
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = get_object_or_404(RoadmapItem, pk=pk)
        changed = _("The item was changed meanwhile; nothing was saved. Try again.")
        try:
            # The version the page showed: figures are not written over an edit made since.
            version = int(request.POST.get("version", ""))
        except ValueError:
            messages.error(request, changed)
            return HttpResponseRedirect(_evidence_url(item))
        try:
            saved = apply_usage_evidence(
                item=item,
                by=signed_in_user(request),
                today=timezone.localdate(),
                expected_version=version,
            )
        except NoUsageEvidence as problem:
            messages.error(request, str(problem))
        except EditConflict:
            messages.error(request, changed)
        else:
            messages.success(
                request,
                _("Users affected is now %(users)s; the usage evidence is in the item.")
                % {"users": f"{saved.users_affected:,}"},
            )
        return HttpResponseRedirect(_evidence_url(item))


class InterviewListView(RoleRequiredMixin, View):
    """Managers: every stakeholder interview, newest first, or one team's (?team=slug)."""

    allowed_roles = MANAGERS

    def get(self, request: HttpRequest) -> HttpResponse:
        interviews = StakeholderInterview.objects.select_related("team").prefetch_related("items")
        team = None
        if slug := request.GET.get("team"):
            team = Team.objects.filter(slug=slug).first() if _is_slug(slug) else None
            interviews = interviews.filter(team=team) if team else interviews.none()
        teams = Team.objects.filter(interviews__isnull=False).distinct().order_by("name")
        return render(
            request,
            "roadmap/evidence/interview_list.html",
            {"interviews": list(interviews), "teams": teams, "team": team},
        )


def _is_slug(value: str) -> bool:
    # Anything else is no team's slug (and a NUL byte would fail the query on PostgreSQL).
    try:
        validate_slug(value)
    except ValidationError:
        return False
    return True


class InterviewFormView(RoleRequiredMixin, View):
    """Managers: record an interview (GET/POST /interviews/new/, ?item=<id> ticks an item)
    or correct one (GET/POST /interviews/<pk>/edit/)."""

    allowed_roles = MANAGERS
    template_name = "roadmap/evidence/interview_form.html"

    def _instance(self, pk: int | None) -> StakeholderInterview | None:
        return None if pk is None else get_object_or_404(StakeholderInterview, pk=pk)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        interview = self._instance(pk)
        initial = {}
        if interview is None and request.GET.get("item", "").isdecimal():
            initial["items"] = [int(request.GET["item"])]
        form = InterviewForm(instance=interview, initial=initial)
        return render(request, self.template_name, {"form": form, "interview": interview})

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        interview = self._instance(pk)
        form = InterviewForm(data=request.POST, instance=interview)
        if not form.is_valid():
            return render(
                request, self.template_name, {"form": form, "interview": interview}, status=400
            )
        try:
            saved = save_interview(
                interview=form.instance,
                items=form.cleaned_data["items"],
                by=signed_in_user(request),
                seen=form.cleaned_data["seen"],
            )
        except ChangedMeanwhile:
            # Nothing saved. The form keeps what this manager typed, on the interview as it
            # is now, so saving it again replaces the other change knowingly.
            current = get_object_or_404(StakeholderInterview, pk=pk)
            data = request.POST.copy()
            data["seen"] = str(interview_version(current))
            form = InterviewForm(data=data, instance=current)
            form.is_valid()
            form.add_error(
                None,
                _(
                    "Someone changed this interview meanwhile; nothing was saved. Open it in "
                    "another tab to see their version, or save again to replace it with yours."
                ),
            )
            return render(
                request, self.template_name, {"form": form, "interview": current}, status=409
            )
        if interview is None:
            messages.success(request, _("Interview with %s recorded.") % saved.team.name)
        else:
            messages.success(request, _("Interview with %s saved.") % saved.team.name)
        return HttpResponseRedirect(f"{reverse('roadmap:interview-list')}#interview-{saved.pk}")


# --- Retirement tracker ------------------------------------------------------------------


WEEK = datetime.timedelta(days=7)


def _retirement(pk: int) -> tuple[RoadmapItem, Retirement]:
    """The item and the retirement of the tables it retires, as of today's UTC day (the
    days of the job history); 404 for an item that retires no table."""
    item = get_object_or_404(RoadmapItem.objects.select_related("team"), pk=pk)
    retirement = item_benefit(item=item, as_of=timezone.now().date()).retirement
    if retirement is None:
        raise Http404(_("This item retires no table."))
    return item, retirement


class ItemRetirementView(RoleRequiredMixin, View):
    """Managers: the tables an item retires going to zero readers: readers per week, who
    still reads them by team (the people to talk to next) with the interviews held with
    each team, reads after the switch-off date, and the list as CSV."""

    allowed_roles = MANAGERS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        item, retirement = _retirement(pk)
        by_team: dict[str, list] = {}
        for reader in retirement.remaining:
            by_team.setdefault(reader.team, []).append(reader)
        interviews = interviews_by_team(by_team)
        teams = [
            {"name": name, "readers": readers, "interviews": interviews.get(name, [])}
            for name, readers in sorted(by_team.items(), key=lambda pair: (not pair[0], pair[0]))
        ]
        return render(
            request,
            "roadmap/evidence/retirement.html",
            {"item": item, "retirement": retirement, "teams": teams},
        )


class ItemRetirementChartView(RoleRequiredMixin, View):
    """Managers: readers per week of the tables an item retires, as SVG."""

    allowed_roles = MANAGERS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        item, retirement = _retirement(pk)
        marks = []
        for day, text in (
            (item.delivered_on, _("delivered")),
            (retirement.target_date, _("switch-off target")),
        ):
            if day is not None:
                week_of_day = (
                    n for n, week in enumerate(retirement.weeks) if day < week.start + WEEK
                )
                index = next(week_of_day, None)
                if index is not None:
                    marks.append((index, text))
        svg = readers_per_week_svg(
            [(week.label, week.readers) for week in retirement.weeks],
            title=_("Readers of the retired tables, per ISO week"),
            y_label=_("Readers"),
            empty_text=_("The job history has no day in this period."),
            marks=marks,
        )
        return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")


def _reader_row(reader: RemainingReader, interviews: dict) -> list[object]:
    last = interviews[reader.team][0].date.isoformat() if reader.team in interviews else ""
    account = _("yes") if reader.is_service_account else _("no")
    tables = " ".join(reader.tables)
    return [reader.team, reader.email, account, reader.last_query_on.isoformat(),
            reader.queries, tables, last]  # fmt: skip


class ItemRetirementReadersView(RoleRequiredMixin, View):
    """Managers: the readers still reading the tables an item retires, as CSV: the next
    interview list."""

    allowed_roles = MANAGERS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        item, retirement = _retirement(pk)
        interviews = interviews_by_team(reader.team for reader in retirement.remaining)
        header = [
            _("Team"), _("User"), _("Service account"), _("Last query (UTC day)"),
            _("Queries in the last 28 days"), _("Retired tables read"), _("Last interview"),
        ]  # fmt: skip
        remaining = sorted(retirement.remaining, key=lambda r: (r.team, r.email))
        rows = (_reader_row(reader, interviews) for reader in remaining)
        response = HttpResponse(csv_text(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="item-{item.pk}-remaining-readers.csv"'
        )
        return response
