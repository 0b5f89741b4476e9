"""The usage API: the job-history reports of cost/usage/reports.py as JSON. Finance and Manager may
read it; everyone else gets 403, callers without a valid token or session 401."""

import inspect
from types import SimpleNamespace

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import parameters
from core.openapi import error_responses
from core.roles import MANAGERS_AND_FINANCE
from cost.models import BigQueryTable
from cost.usage import reports as usage
from cost.usage import spending
from cost.usage.serializers import (
    ExpensiveQueriesParameters,
    JoinedTablesParameters,
    QueryCostParameters,
    TableUsageParameters,
    UsageExpensiveQueriesSerializer,
    UsageJoinedTablesSerializer,
    UsageParameters,
    UsageQueryCostSerializer,
    UsageReconciliationSerializer,
    UsageTablesSerializer,
    UsageTableUsersSerializer,
    period_rules,
)

ERRORS = error_responses(400, 401, 403, 404, 429)  # 404: a `format` no renderer has


class UsageView(APIView):
    allowed_roles = MANAGERS_AND_FINANCE


def with_period_rules(view: type[UsageView]) -> type[UsageView]:
    """The view's description in the schema: its docstring, then the period's rules."""
    description = f"{inspect.cleandoc(view.__doc__ or '')}\n\n{period_rules()}"
    return extend_schema(description=description)(view)


@with_period_rules
@extend_schema(
    parameters=[TableUsageParameters],
    responses={200: UsageTablesSerializer, **ERRORS},
)
class UsageTablesView(UsageView):
    """Tables ranked by distinct people, then queries, then bytes billed, over a period of
    UTC days; and the curve of the share of table-reading queries the top n tables carry.
    Finance and Manager."""

    def get(self, request: Request) -> Response:
        params = parameters(TableUsageParameters, request).validated_data
        report = usage.table_usage(
            since=params["since"],
            until=params["until"],
            dataset=params.get("dataset", ""),
            limit=params["limit"],
        )
        return Response(UsageTablesSerializer(report).data)


@with_period_rules
@extend_schema(
    parameters=[
        OpenApiParameter(
            "table",
            OpenApiTypes.STR,
            OpenApiParameter.PATH,
            description=_("project.dataset.table, as the job history names it."),
        ),
        UsageParameters,
    ],
    # 404 also: no table of that name in the job history.
    responses={200: UsageTableUsersSerializer, **ERRORS},
)
class UsageTableUsersView(UsageView):
    """Who read a table over a period: people and service accounts with their queries,
    days and last use, grouped by team. Finance and Manager."""

    def get(self, request: Request, table: str) -> Response:
        params = parameters(UsageParameters, request).validated_data
        # The last two dots end the project and the dataset (neither a dataset nor a table
        # name has one): a project of a Workspace domain has its own, example.com:sales.
        parts = [part.strip() for part in table.strip().strip("`").rsplit(".", 2)]
        if len(parts) != 3 or not all(parts) or "\x00" in table:  # PostgreSQL refuses NUL
            raise Http404
        project, dataset, name = parts
        found = BigQueryTable.objects.filter(
            project_id=project, dataset_id=dataset, table_id=name
        ).first()
        if found is None:
            raise Http404
        teams = usage.table_users(table=found, since=params["since"], until=params["until"])
        report = SimpleNamespace(
            table=found.full_name,
            since=params["since"],
            until=params["until"],
            people=sum(team.people for team in teams),
            service_accounts=sum(team.service_accounts for team in teams),
            teams=teams,
        )
        return Response(UsageTableUsersSerializer(report).data)


@with_period_rules
@extend_schema(
    parameters=[JoinedTablesParameters],
    responses={200: UsageJoinedTablesSerializer, **ERRORS},
)
class UsageJoinedTablesView(UsageView):
    """Pairs (or triples) of tables most often read by the same query, with the people
    and the allocated cost of those queries: candidates for an intermediate table.
    Finance and Manager."""

    def get(self, request: Request) -> Response:
        params = parameters(JoinedTablesParameters, request).validated_data
        rows = usage.joined_tables(
            since=params["since"],
            until=params["until"],
            size=params["size"],
            limit=params["limit"],
        )
        report = SimpleNamespace(
            since=params["since"], until=params["until"], size=params["size"], rows=rows
        )
        return Response(UsageJoinedTablesSerializer(report).data)


@with_period_rules
@extend_schema(
    parameters=[QueryCostParameters],
    responses={200: UsageQueryCostSerializer, **ERRORS},
)
class UsageQueryCostView(UsageView):
    """Allocated query cost by user, team, project, table, day or label. Finance and
    Manager."""

    def get(self, request: Request) -> Response:
        params = parameters(QueryCostParameters, request).validated_data
        report = spending.query_cost(since=params["since"], until=params["until"], by=params["by"])
        return Response(UsageQueryCostSerializer(report).data)


@with_period_rules
@extend_schema(
    parameters=[ExpensiveQueriesParameters],
    responses={200: UsageExpensiveQueriesSerializer, **ERRORS},
)
class UsageExpensiveQueriesView(UsageView):
    """The query texts with the highest allocated cost over a period (from the job rows
    the retention keeps). Finance and Manager."""

    def get(self, request: Request) -> Response:
        params = parameters(ExpensiveQueriesParameters, request).validated_data
        report = spending.expensive_queries(
            since=params["since"], until=params["until"], limit=params["limit"]
        )
        return Response(UsageExpensiveQueriesSerializer(report).data)


@with_period_rules
@extend_schema(
    parameters=[UsageParameters],
    responses={200: UsageReconciliationSerializer, **ERRORS},
)
class UsageReconciliationView(UsageView):
    """The job history's allocated query cost against the BigQuery query cost billed,
    per day, with the gap in percent. Finance and Manager."""

    def get(self, request: Request) -> Response:
        params = parameters(UsageParameters, request).validated_data
        report = spending.reconcile(since=params["since"], until=params["until"])
        return Response(UsageReconciliationSerializer(report).data)


# Mounted by config/api.py beside the router: (route under /api/v1/, view, url name).
USAGE_API_VIEWS = [
    ("usage/tables/", UsageTablesView, "usage-tables"),
    ("usage/tables/<str:table>/users/", UsageTableUsersView, "usage-table-users"),
    ("usage/joined-tables/", UsageJoinedTablesView, "usage-joined-tables"),
    ("usage/query-cost/", UsageQueryCostView, "usage-query-cost"),
    ("usage/expensive-queries/", UsageExpensiveQueriesView, "usage-expensive-queries"),
    ("usage/reconciliation/", UsageReconciliationView, "usage-reconciliation"),
]
