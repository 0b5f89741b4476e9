"""The read-only error-budget API: data products (/api/v1/data-products/), their incidents
(/api/v1/incidents/) and every product's budget (/api/v1/budget-status/), as the pages
show them."""

import datetime
from collections.abc import Sequence

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import RefuseUnknownParameters, day_schema
from core.models import Team
from core.openapi import StrictLimitOffsetPagination, error_responses
from core.roles import MANAGERS_AND_FINANCE
from roadmap.budgets.rules import budget_statuses
from roadmap.budgets.serializers import (
    DAY_MESSAGE,
    BudgetStatusParameters,
    BudgetStatusSerializer,
    DataProductSerializer,
    IncidentSerializer,
    parse_day,
)
from roadmap.items.api import SlugFilter
from roadmap.models import DataProduct, Incident, RoadmapItem

# --- Error budgets ---------------------------------------------------------------------

BUDGET_ROLES_NOTE = _("Roles: Finance, Manager.")


def with_budgets(
    products: Sequence[DataProduct], *, today: datetime.date | None = None
) -> Sequence[DataProduct]:
    """Set `budget` on each product: every product's status, computed once (three queries
    however many products), not once per product."""
    statuses = {status.product.pk: status for status in budget_statuses(today=today)}
    for product in products:
        product.budget = statuses.get(product.pk)  # type: ignore[attr-defined]  # for the serializer
    return products


PRODUCT_ID = OpenApiParameter(
    "id", int, OpenApiParameter.PATH, description=_("The data product's id.")
)


@extend_schema_view(
    list=extend_schema(
        summary=_("List data products"),
        description=_(
            "Every data product the team owns, by name, with its objectives and its error "
            "budget today. Paged with limit and offset. "
        )
        + BUDGET_ROLES_NOTE,  # type: ignore[operator]  # lazy + lazy works; the stubs want a str
        responses={200: DataProductSerializer, **error_responses(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(
        summary=_("One data product"),
        description=BUDGET_ROLES_NOTE,
        parameters=[PRODUCT_ID],
        responses={200: DataProductSerializer, **error_responses(401, 403, 404, 429)},
    ),
)
class DataProductViewSet(RefuseUnknownParameters, viewsets.ReadOnlyModelViewSet):
    """Data products with their objectives and their error budget today."""

    allowed_roles = MANAGERS_AND_FINANCE
    serializer_class = DataProductSerializer
    pagination_class = StrictLimitOffsetPagination
    # Anything up to the next slash: an id that is not a number is a JSON 404, not the
    # HTML one of an unmatched URL.
    lookup_value_regex = "[^/]+"
    queryset = (
        DataProduct.objects.select_related("owner")
        .prefetch_related(
            Prefetch("consumers", queryset=Team.objects.only("id", "slug").order_by("slug")),
            Prefetch("reliability_items", queryset=RoadmapItem.objects.only("id").order_by("id")),
        )
        .order_by("name")
    )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return None if page is None else with_budgets(page)

    def get_object(self) -> DataProduct:
        product = super().get_object()
        with_budgets([product])
        return product


class DayField(forms.DateField):
    """A day written YYYY-MM-DD, and only so: DateField would also read 10/05/2026, which
    the schema does not describe."""

    def to_python(self, value: str | datetime.date | None) -> datetime.date | None:
        if value is None or value in self.empty_values:  # None is one of the empty values
            return None
        if isinstance(value, datetime.date):
            return value
        day = parse_day(value)
        if day is None:
            raise ValidationError(DAY_MESSAGE, code="invalid", params={"value": value})
        return day


class DayFilter(django_filters.DateFilter):
    field_class = DayField


class IncidentFilter(django_filters.FilterSet):
    """As the roadmap items' filters: a well-formed value that matches nothing gives an
    empty list, a malformed one 400, an empty one no filter. Days are local days."""

    product = SlugFilter(field_name="products__slug")
    severity = django_filters.MultipleChoiceFilter(
        choices=Incident.Severity.choices,
        help_text=_("One or more severities (repeat the parameter: severity=sev1&severity=sev2)."),
    )
    impact = django_filters.MultipleChoiceFilter(
        choices=Incident.Impact.choices,
        help_text=_("One or more impacts (repeat the parameter)."),
    )
    detected_from = DayFilter(field_name="detected_at", lookup_expr="date__gte")
    detected_to = DayFilter(field_name="detected_at", lookup_expr="date__lte")

    class Meta:
        model = Incident
        fields = ["product", "severity", "impact", "detected_from", "detected_to"]


# An empty value is no filter (django-filter's rule), so the patterns allow it. A day's
# schema is core.api's: DAY (roadmap.budgets.serializers) reads the same days.
DAY_OR_NOTHING = {"anyOf": [day_schema(), {"type": "string", "maxLength": 0}]}
INCIDENT_FILTER_PARAMETERS = [
    OpenApiParameter(
        "product",
        str,
        OpenApiParameter.QUERY,
        pattern=r"^[-a-zA-Z0-9_]*$",
        description=_("Slug of a data product it affected, e.g. revenue-marts."),
    ),
    OpenApiParameter(
        "detected_from",
        DAY_OR_NOTHING,
        OpenApiParameter.QUERY,
        description=_("Detected on this local day or later, YYYY-MM-DD (years 2000 to 2099)."),
    ),
    OpenApiParameter(
        "detected_to",
        DAY_OR_NOTHING,
        OpenApiParameter.QUERY,
        description=_("Detected on this local day or earlier, YYYY-MM-DD (years 2000 to 2099)."),
    ),
]
INCIDENT_ID = OpenApiParameter(
    "id", int, OpenApiParameter.PATH, description=_("The incident's id.")
)


@extend_schema_view(
    list=extend_schema(
        summary=_("List incidents"),
        description=_(
            "Every incident, newest first, with the data products whose budget it spends. "
            "Paged with limit and offset. "
        )
        + BUDGET_ROLES_NOTE,  # type: ignore[operator]  # lazy + lazy works; the stubs want a str
        parameters=INCIDENT_FILTER_PARAMETERS,
        responses={200: IncidentSerializer, **error_responses(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(
        summary=_("One incident"),
        description=BUDGET_ROLES_NOTE,
        parameters=[INCIDENT_ID],
        # Filters apply here too (DRF), so an invalid filter parameter is a 400.
        responses={200: IncidentSerializer, **error_responses(400, 401, 403, 404, 429)},
    ),
)
class IncidentViewSet(RefuseUnknownParameters, viewsets.ReadOnlyModelViewSet):
    """Incidents: when, how bad, which products, what caused them and what fixes them."""

    allowed_roles = MANAGERS_AND_FINANCE
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    pagination_class = StrictLimitOffsetPagination
    lookup_value_regex = "[^/]+"
    queryset = Incident.objects.prefetch_related(
        Prefetch("products", queryset=DataProduct.objects.only("id", "slug").order_by("slug"))
    ).order_by("-detected_at", "-id")


@extend_schema_view(
    list=extend_schema(
        summary=_("Every product's error budget"),
        description=_(
            "Each data product's budget in the period that contains today (or `as_of`), by "
            "product name. Not paged: one entry per product. "
        )
        + BUDGET_ROLES_NOTE,  # type: ignore[operator]  # lazy + lazy works; the stubs want a str
        parameters=[
            OpenApiParameter(
                "as_of",
                day_schema(),
                OpenApiParameter.QUERY,
                description=_(
                    "A local day, YYYY-MM-DD (years 2000 to 2099): the budgets as they stood "
                    "at the end of that day, in the period that contains it. Default: today."
                ),
            )
        ],
        responses={200: BudgetStatusSerializer(many=True), **error_responses(400, 401, 403, 429)},
    )
)
class BudgetStatusViewSet(viewsets.ViewSet):
    """Every data product's error budget: used, remaining, burn rate, state and policy."""

    allowed_roles = MANAGERS_AND_FINANCE
    filter_backends: list = []
    # Only `as_of` changes the figures: a misspelt parameter is refused, not ignored.
    known_parameters = frozenset({"as_of", "format"})

    # `format`: the router's suffix (budget-status.json), read by content negotiation.
    def list(self, request: Request, format: str | None = None) -> Response:
        unknown = sorted(set(request.query_params) - self.known_parameters)
        params = BudgetStatusParameters(data=request.query_params)
        errors = {} if params.is_valid() else dict(params.errors)
        errors.update({name: [_("Unknown parameter.")] for name in unknown})
        if errors:
            raise exceptions.ValidationError(errors)
        statuses = budget_statuses(today=params.validated_data.get("as_of"))
        return Response(BudgetStatusSerializer(statuses, many=True).data)
