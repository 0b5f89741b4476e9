"""The finance cost API. Finance and Manager may read it; everyone else gets 403, callers
without a valid token or session 401."""

import io
import re
from collections.abc import Iterator

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import renderers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import parameters, refuse_unknown_parameters
from core.openapi import StrictCursorPagination, StrictLimitOffsetPagination, error_responses
from core.roles import MANAGERS_AND_FINANCE
from core.sheets import SheetWriter, csv_lines, csv_text
from cost.billing import reports
from cost.billing.breakdowns import BreakdownError, cost_breakdown, selected
from cost.billing.serializers import (
    FACT_COLUMNS,
    FACT_VALUES,
    FOCUS_COLUMNS,
    FactParameters,
    FactSerializer,
    FocusSerializer,
    ImportRunSerializer,
    ReportParameters,
    ReportSerializer,
    fact_record,
    focus_record,
    period_rules,
    report_columns,
    report_json,
)
from cost.models import CostFact, ImportRun

# Parameters every endpoint takes besides its own.
GENERIC_PARAMETERS = {"format", "cursor", "page_size", "limit", "offset"}
# An id in a path: ASCII digits only (str.isdigit() takes '²'), few enough for a bigint.
ID = re.compile(r"[0-9]{1,18}")


class CSVRenderer(renderers.BaseRenderer):
    """`?format=csv`. Data views stream or build their CSV themselves; this renders what
    reaches it otherwise (errors) as two columns, field and message."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        out = io.StringIO()
        writer = SheetWriter(out)
        writer.header(["field", "message"])
        for field, messages in (data or {}).items():
            for message in messages if isinstance(messages, list) else [messages]:
                writer.row([field, message])
        return out.getvalue().encode()


RENDERERS = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]


def _csv_name(stem: str) -> str:
    return f'attachment; filename="{stem}-{timezone.now():%Y%m%d-%H%M}.csv"'


FORMAT = OpenApiParameter(
    "format", str, enum=["json", "csv"], description="json (default) or csv (a spreadsheet)."
)
CSV = OpenApiResponse(OpenApiTypes.STR, description="The same rows as CSV (UTF-8 with BOM).")


@extend_schema_view(
    get=extend_schema(
        description=f"Aggregated cost, grouped as asked. Finance and Manager.\n\n"
        f"{period_rules(report=True)}",
        parameters=[ReportParameters, FORMAT],
        responses={
            (200, "application/json"): ReportSerializer,
            (200, "text/csv"): CSV,
            # 404: a `format` other than json or csv, as everywhere in the API.
            **error_responses(400, 401, 403, 404, 429),
        },
    )
)
class CostReportView(APIView):
    """Aggregated cost, grouped as asked. Finance and Manager."""

    allowed_roles = MANAGERS_AND_FINANCE
    renderer_classes = RENDERERS

    def get(self, request: Request) -> Response | HttpResponse:
        params = parameters(ReportParameters, request, generic=GENERIC_PARAMETERS)
        try:
            breakdown = cost_breakdown(params.query())
        except BreakdownError as error:
            raise ValidationError({error.field: [str(error)]}) from None
        if request.accepted_renderer.format == "csv":
            columns = report_columns(breakdown)
            body = csv_text(columns, (
                [line.get(column) for column in columns] for line in report_json(breakdown)["rows"]
            ))  # fmt: skip
            response = HttpResponse(body, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = _csv_name("cost-report")
            return response
        return Response(report_json(breakdown))


class FactPagination(StrictCursorPagination):
    """Cursor pages, stable while new facts arrive: follow `next` until it is null."""

    ordering = ("id",)
    page_size = 1000
    max_page_size = 10000


FACTS_DESCRIPTION = (
    "The daily facts, filtered like cost-reports; `focus=1` for FinOps FOCUS columns; "
    "`format=csv` streams every matching fact (no paging). Finance and Manager.\n\n"
    f"{period_rules(report=False)}"
)
ONE_FACT = PolymorphicProxySerializer(
    component_name="OneCostFact",
    serializers=[FactSerializer, FocusSerializer],
    resource_type_field_name=None,
)
PAGING = [
    OpenApiParameter(
        "cursor",
        {"type": "string", "minLength": 1},
        description="From `next` or `previous`; do not build it (any other value is a 400).",
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
        description="Facts a page, 1 to 10000 (default 1000).",
    ),
]


@extend_schema_view(
    list=extend_schema(
        description=FACTS_DESCRIPTION,
        parameters=[FactParameters, FORMAT, *PAGING],
        responses={
            # Paged by FactPagination: next, previous, and these as results.
            (200, "application/json"): ONE_FACT,
            (200, "text/csv"): CSV,
            **error_responses(400, 401, 403, 404, 429),
        },
    ),
    retrieve=extend_schema(
        description=FACTS_DESCRIPTION,
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH), FactParameters, FORMAT],
        responses={200: ONE_FACT, **error_responses(400, 401, 403, 404, 429)},
    ),
)
class CostFactViewSet(viewsets.ViewSet):
    """The daily facts, filtered like cost-reports; `focus=1` for FinOps FOCUS columns;
    `format=csv` streams every matching fact (no paging). Finance and Manager."""

    allowed_roles = MANAGERS_AND_FINANCE
    renderer_classes = RENDERERS
    pagination_class = FactPagination

    # `format`: the router's suffix (cost-facts.csv), read by DRF's content negotiation.
    def list(self, request: Request, format: str | None = None) -> Response | StreamingHttpResponse:
        params = parameters(FactParameters, request, generic=GENERIC_PARAMETERS)
        facts = selected(params.query(), daily=True).order_by("id")
        focus = params.validated_data["focus"]
        if request.accepted_renderer.format == "csv":
            return self._stream(facts, focus)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(facts.values(*FACT_VALUES), request, view=self)
        assert page is not None  # noqa: S101 -- StrictLimitOffsetPagination always has a limit
        records = [fact_record(tuple(row[name] for name in FACT_VALUES)) for row in page]
        if focus:
            records = [focus_record(record) for record in records]
        return paginator.get_paginated_response(records)

    def retrieve(self, request: Request, pk: str, format: str | None = None) -> Response:
        params = parameters(FactParameters, request, generic=GENERIC_PARAMETERS)
        values = None
        if ID.fullmatch(str(pk)):
            values = CostFact.objects.filter(pk=pk).values_list(*FACT_VALUES).first()
        if values is None:
            raise Http404
        record = fact_record(values)
        if params.validated_data["focus"]:
            record = focus_record(record)
        return Response(record)

    def _stream(self, facts, focus: bool) -> StreamingHttpResponse:
        columns = FOCUS_COLUMNS if focus else FACT_COLUMNS

        def rows() -> Iterator[list]:
            for values in facts.values_list(*FACT_VALUES).iterator(chunk_size=2000):
                record = fact_record(values)
                if focus:
                    record = focus_record(record)
                yield [record[column] for column in columns]

        response = StreamingHttpResponse(
            csv_lines(columns, rows()), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = _csv_name("cost-facts-focus" if focus else "cost-facts")
        return response


class ImportPagination(StrictLimitOffsetPagination):
    """Limit/offset pages of runs, with the freshness of every source beside them."""

    default_limit = 50

    def get_paginated_response(self, data) -> Response:
        response = super().get_paginated_response(data)
        response.data["sources"] = source_freshness()
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paged = super().get_paginated_response_schema(schema)
        nullable = {"nullable": True}
        paged["properties"]["sources"] = {
            "type": "array",
            "description": "Per billing source: newest usage day, last successful import.",
            "items": {
                "type": "object",
                "required": ["source", "kind", "complete_through", "last_success",
                             "last_status"],
                "properties": {
                    "source": {"type": "string"},
                    "kind": {"type": "string", "enum": ["files", "bigquery"]},
                    "complete_through": {"type": "string", "format": "date", **nullable},
                    "last_success": {"type": "string", "format": "date-time", **nullable},
                    "last_status": {"type": "string", **nullable},
                },
            },
        }  # fmt: skip
        paged["required"] = [*paged.get("required", []), "sources"]
        return paged


def source_freshness() -> list[dict]:
    """Per billing source: the newest usage day of its current data, and its runs."""
    return [
        {
            "source": fresh.source.name,
            "kind": fresh.source.kind,
            "complete_through": fresh.complete_through,
            "last_success": fresh.last_success,
            "last_status": fresh.last_run.status if fresh.last_run else None,
        }
        for fresh in reports.source_freshness()
    ]


@extend_schema_view(
    list=extend_schema(
        responses={200: ImportRunSerializer(many=True), **error_responses(400, 401, 403, 429)}
    ),
    retrieve=extend_schema(
        responses={200: ImportRunSerializer, **error_responses(400, 401, 403, 404, 429)}
    ),
)
class ImportRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Import runs, newest first, and the freshness of each billing source. Finance and
    Manager."""

    allowed_roles = MANAGERS_AND_FINANCE
    serializer_class = ImportRunSerializer
    pagination_class = ImportPagination
    queryset = ImportRun.objects.select_related("source", "started_by").order_by(
        "-started_at", "-id"
    )

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        refuse_unknown_parameters(request, GENERIC_PARAMETERS)
        ImportRun.objects.reap()  # a killed import's run says failed, not running

    def get_object(self) -> ImportRun:
        if not str(self.kwargs.get("pk", "")).isdigit():
            raise Http404
        return super().get_object()
