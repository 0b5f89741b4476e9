"""Pages of the BigQuery job history, for managers: which tables are used and by whom,
which are joined together, what queries cost (an allocation at list prices), the job
imports, and the mapping of users to teams.

Filters come from the query string through forms: a bad value is shown as a form error
with status 400, never a server error. The figures come from `cost.usage.reports`."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import (
    content_disposition_header,
    url_has_allowed_host_and_scheme,
    urlencode,
)
from django.utils.translation import gettext as _
from django.views import View

from core.roles import MANAGERS, RoleRequiredMixin
from core.sheets import csv_text
from cost.charts import share_curve_svg
from cost.models import BigQueryTable, JobImportRun, JobUsageDay, JobUser
from cost.models.usage import MAX_PAIR_SET_SIZE, MAX_TRIPLE_SET_SIZE
from cost.usage import reports as usage
from cost.usage import spending
from cost.usage.forms import (
    JobUserFilterForm,
    JobUserForm,
    JoinedForm,
    PeriodForm,
    QueryCostForm,
    TableUsageForm,
    TeamMappingUploadForm,
    utc_today,
)
from cost.usage.people import (
    MappingRejected,
    export_team_mapping,
    import_team_mapping,
    job_users,
    mapping_counts,
)

USERS_PER_PAGE = 100
RUNS_PER_PAGE = 50
RANKED_TABLES = 100
CURVE_MARK = 50  # "the top 50 tables carry 83% of queries"
JOINED_ROWS = 50
EXPENSIVE_QUERIES = 50


def _safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _csv_response(text: str, filename: str) -> HttpResponse:
    # With a BOM, so spreadsheets read accents and kanji.
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    # filename*= for a name beyond ASCII (a table named in Japanese): a header is Latin-1,
    # and Django would otherwise MIME-encode the whole header, which no browser reads.
    # Never None for an attachment, whatever the stubs say.
    response["Content-Disposition"] = content_disposition_header(True, filename)  # type: ignore[assignment]
    return response


def _safe_filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


def _history_span() -> dict:
    """The first and last UTC day of the loaded job history (both None before any)."""
    return JobUsageDay.objects.aggregate(first=Min("day"), last=Max("day"))


def _percent(share: Decimal) -> Decimal:
    return (share * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


class PeriodReportView(RoleRequiredMixin, View):
    """A report over a period read from the query string: a bad value is shown on the
    page as a form error, with status 400."""

    allowed_roles = MANAGERS
    template_name = ""
    form_class = PeriodForm

    def subject(self) -> dict:
        """What the page is about, shown even when the filters are wrong."""
        return {}

    def report(self, form: PeriodForm, **subject) -> dict:
        raise NotImplementedError

    def get(self, request: HttpRequest, **kwargs) -> HttpResponse:
        form = self.form_class(request.GET)
        subject = self.subject()
        context = {"form": form, "span": _history_span(), "valid": False, **subject}
        if not form.is_valid():
            return render(request, self.template_name, context, status=400)
        context.update(valid=True, since=form.since, until=form.until)
        context.update(self.report(form, **subject))
        context["period_query"] = urlencode(
            {"from": form.since.isoformat(), "to": form.until.isoformat()}
        )
        return render(request, self.template_name, context)


def _curve_sentence(report: usage.TableUsage) -> dict | None:
    if not report.curve:
        return None
    point = report.curve[min(CURVE_MARK, len(report.curve)) - 1]
    return {"tables": point.tables, "percent": _percent(point.share), "queries": point.queries}


class TableUsageView(PeriodReportView):
    """Managers: tables ranked by distinct people, queries and bytes over a period, with
    the curve of the share of queries the top tables carry; filter by dataset."""

    template_name = "cost/usage/tables.html"
    form_class = TableUsageForm

    def report(self, form: TableUsageForm) -> dict:  # type: ignore[override]  # get() passes form_class's form and subject()
        dataset = form.cleaned_data["dataset"]
        report = usage.table_usage(
            since=form.since, until=form.until, dataset=dataset, limit=RANKED_TABLES
        )
        query = {"from": form.since.isoformat(), "to": form.until.isoformat()}
        if dataset:
            query["dataset"] = dataset
        return {
            "report": report,
            "ranked": [(row, _percent(report.curve[row.rank - 1].share)) for row in report.rows],
            "headline": _curve_sentence(report),
            "chart_url": f"{reverse('cost:usage-curve')}?{urlencode(query)}",
            "datasets": form.known_datasets(),
        }


class TableUsageCurveView(RoleRequiredMixin, View):
    """Managers: the table usage page's curve, as an SVG image."""

    allowed_roles = MANAGERS

    def get(self, request: HttpRequest) -> HttpResponse:
        form = TableUsageForm(request.GET)
        if not form.is_valid():
            return HttpResponse(
                " ".join(str(e) for errors in form.errors.values() for e in errors),
                status=400, content_type="text/plain; charset=utf-8",
            )  # fmt: skip
        report = usage.table_usage(
            since=form.since, until=form.until, dataset=form.cleaned_data["dataset"], limit=0
        )
        headline = _curve_sentence(report)
        mark_text = ""
        if headline:
            mark_text = _("top %(tables)s: %(percent)s%%") % headline
        svg = share_curve_svg(
            [(point.tables, point.share) for point in report.curve],
            mark=CURVE_MARK,
            title=_("Share of table-reading queries carried by the top tables"),
            x_label=_("Top n tables (ranked by distinct people)"),
            y_label=_("Share of queries"),
            mark_text=mark_text,
            empty_text=_("No query read a table in this period."),
        )
        return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")


class TableUsersView(PeriodReportView):
    """Managers: who read one table in a period, grouped by team: the interview list for
    retiring it."""

    template_name = "cost/usage/table.html"

    def subject(self) -> dict:
        return {"table": get_object_or_404(BigQueryTable, pk=self.kwargs["pk"])}

    def report(self, form: PeriodForm, *, table: BigQueryTable) -> dict:  # type: ignore[override]  # get() passes form_class's form and subject()
        groups = usage.table_users(table=table, since=form.since, until=form.until)
        return {
            "groups": groups,
            "people": sum(group.people for group in groups),
            "service_accounts": sum(group.service_accounts for group in groups),
            "queries": sum(group.queries for group in groups),
            "teams": sum(1 for group in groups if group.team is not None),
            "here": self.request.get_full_path(),
        }


class TableUsersCsvView(RoleRequiredMixin, View):
    """Managers: the interview list of one table as CSV."""

    allowed_roles = MANAGERS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        table = get_object_or_404(BigQueryTable, pk=pk)
        form = PeriodForm(request.GET)
        if not form.is_valid():
            return HttpResponse(
                " ".join(str(e) for errors in form.errors.values() for e in errors),
                status=400, content_type="text/plain; charset=utf-8",
            )  # fmt: skip
        groups = usage.table_users(table=table, since=form.since, until=form.until)
        header = ["table", "team", "email", "service_account", "queries", "days",
                  "last_used_utc"]  # fmt: skip
        rows = (
            [table.full_name, group.team.slug if group.team else "", use.user.email,
             "yes" if use.user.is_service_account else "no", use.queries, use.days,
             use.last_used.astimezone(datetime.UTC)]
            for group in groups
            for use in group.users
        )  # fmt: skip
        name = f"users-{table.table_id}-{form.since:%Y%m%d}-{form.until:%Y%m%d}.csv"
        return _csv_response(csv_text(header, rows, bom=False), _safe_filename(name))


class JoinedView(PeriodReportView):
    """Managers: pairs or triples of tables most often read by the same query."""

    template_name = "cost/usage/joined.html"
    form_class = JoinedForm

    def report(self, form: JoinedForm) -> dict:  # type: ignore[override]  # get() passes form_class's form and subject()
        size = form.cleaned_data["size"] or 2
        rows = usage.joined_tables(since=form.since, until=form.until, size=size, limit=JOINED_ROWS)
        return {
            "rows": rows, "size": size, "max_pair": MAX_PAIR_SET_SIZE,
            "max_triple": MAX_TRIPLE_SET_SIZE,
        }  # fmt: skip


class QueryCostView(PeriodReportView):
    """Managers: allocated query cost grouped by user, team, table, label or day; the most
    expensive queries; and the allocation against the billing export."""

    template_name = "cost/usage/cost.html"
    form_class = QueryCostForm

    def report(self, form: QueryCostForm) -> dict:  # type: ignore[override]  # get() passes form_class's form and subject()
        since, until = form.since, form.until
        return {
            "cost": spending.query_cost(since=since, until=until, by=form.cleaned_data["by"]),
            "expensive": spending.expensive_queries(
                since=since, until=until, limit=EXPENSIVE_QUERIES
            ),
            "reconciliation": spending.reconcile(since=since, until=until),
        }


class JobImportListView(RoleRequiredMixin, View):
    """Managers: every job history import (files or BigQuery), newest first."""

    allowed_roles = MANAGERS
    template_name = "cost/usage/imports.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        JobImportRun.objects.reap()  # a killed import's run says failed, not running
        runs = JobImportRun.objects.select_related("started_by")
        page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
        return render(request, self.template_name, {"page": page, "span": _history_span()})


# --- Users and teams ------------------------------------------------------------------------


class JobUserListView(RoleRequiredMixin, View):
    """Managers: everyone who ran jobs, their team, jobs in the last 28 days and when they
    were last seen; filtered to the unmapped, a team, or a search."""

    allowed_roles = MANAGERS
    template_name = "cost/usage/job_user_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = JobUserFilterForm(request.GET)
        context = {"form": form, "counts": mapping_counts(), "page": None}
        if not form.is_valid():
            return render(request, self.template_name, context, status=400)
        users = job_users(
            today=utc_today(),
            unmapped=form.cleaned_data["unmapped"],
            team=form.cleaned_data["team"],
            search=form.cleaned_data["q"].strip(),
        )
        query = request.GET.copy()
        query.pop("page", None)
        context["page"] = Paginator(users, USERS_PER_PAGE).get_page(request.GET.get("page"))
        context["query"] = query.urlencode()
        context["here"] = request.get_full_path()
        return render(request, self.template_name, context)


class JobUserEditView(RoleRequiredMixin, View):
    """Managers: one user's team and service-account flag."""

    allowed_roles = MANAGERS
    template_name = "cost/usage/job_user_form.html"

    def _render(self, request: HttpRequest, form: JobUserForm, status: int = 200) -> HttpResponse:
        back = _safe_next(request, reverse("cost:job-user-list"))
        context = {"form": form, "job_user": form.instance, "next": back}
        return render(request, self.template_name, context, status=status)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(request, JobUserForm(instance=get_object_or_404(JobUser, pk=pk)))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = JobUserForm(request.POST, instance=get_object_or_404(JobUser, pk=pk))
        if not form.is_valid():
            return self._render(request, form, status=400)
        user = form.save()
        if user.team is None:
            text = _("%(email)s has no team.") % {"email": user.email}
        else:
            text = _("%(email)s is now in %(team)s.") % {"email": user.email, "team": user.team}
        messages.success(request, text)
        return redirect(_safe_next(request, reverse("cost:job-user-list")))


class JobUserImportView(RoleRequiredMixin, View):
    """Managers: set many users' teams from a CSV `email,team`; all lines or none."""

    allowed_roles = MANAGERS
    template_name = "cost/usage/job_user_import.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": TeamMappingUploadForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TeamMappingUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        try:
            result = import_team_mapping(text=form.cleaned_data["file"], filename=form.filename)
        except MappingRejected as rejected:
            context = {"form": form, "problems": rejected.problems, "filename": form.filename}
            return render(request, self.template_name, context, status=400)
        messages.success(
            request,
            _(
                "Imported %(name)s: %(created)s users added, %(changed)s changed, "
                "%(unchanged)s unchanged. %(unmapped)s users have no team."
            )
            % {
                "name": form.filename,
                "created": result.created,
                "changed": result.changed,
                "unchanged": result.unchanged,
                "unmapped": mapping_counts()["unmapped"],
            },
        )
        return redirect(f"{reverse('cost:job-user-list')}?{urlencode({'unmapped': 'on'})}")


class JobUserExportView(RoleRequiredMixin, View):
    """Managers: every user and their team as CSV, ready to edit and import again."""

    allowed_roles = MANAGERS

    def get(self, request: HttpRequest) -> HttpResponse:
        return _csv_response(export_team_mapping(), f"job-user-teams-{_stamp()}.csv")
