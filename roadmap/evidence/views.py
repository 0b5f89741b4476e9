"""Pages of an item's evidence: naming its tables, citing their usage, and the stakeholder
interviews. Managers only: reviewers read the evidence in the review pack."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from core.models import Team
from core.roles import MANAGERS, RoleRequiredMixin, signed_in_user
from roadmap.evidence.forms import InterviewForm, ItemTablesForm
from roadmap.evidence.interviews import interview_version, save_interview
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
