"""The read-only roadmap API for finance's planning: the items with their scores, cost and
benefit (/api/v1/roadmap-items/), the quarters with capacity and planned effort
(/api/v1/quarters/), and the error budgets: data products (/api/v1/data-products/), their
incidents (/api/v1/incidents/) and every product's budget (/api/v1/budget-status/), as
the pages show them."""

import datetime
import re
from collections.abc import Sequence
from decimal import Decimal

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db.models import Case, F, Prefetch, When
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from config.openapi import StrictLimitOffsetPagination, error_responses
from config.roles import Role
from roadmap.error_budgets import budget_statuses
from roadmap.models import DataProduct, Incident, Quarter, RoadmapItem, Team, TeamCapacity
from roadmap.planning import OPEN_STATUSES, planned_weeks_by_quarter
from roadmap.serializers import (
    DAY,
    DAY_MESSAGE,
    BudgetStatusParameters,
    BudgetStatusSerializer,
    DataProductSerializer,
    IncidentSerializer,
    QuarterSerializer,
    RoadmapItemSerializer,
    parse_day,
)

PLANNERS = frozenset({Role.FINANCE, Role.MANAGER})
QUARTER_CODE = re.compile(r"20[0-9]{2}-Q[1-4]")
QUARTER_CODE_PATTERN = f"^{QUARTER_CODE.pattern}$"


def validate_quarter_code(value: str) -> None:
    if not QUARTER_CODE.fullmatch(value):
        raise ValidationError(
            _("%(code)r is not a quarter; write it like 2027-Q1 (years 2000 to 2099)."),
            params={"code": value},
        )


class QuarterCodeFilter(django_filters.CharFilter):
    def __init__(self, **kwargs) -> None:
        super().__init__(strip=False, validators=[validate_quarter_code], **kwargs)


class SlugFilter(django_filters.CharFilter):
    def __init__(self, **kwargs) -> None:
        super().__init__(strip=False, validators=[validate_slug], **kwargs)


class RoadmapItemFilter(django_filters.FilterSet):
    """A well-formed name that matches nothing gives an empty list, as a search would; a
    malformed value (unknown status, a quarter not written like 2027-Q1) gives 400; an
    empty value filters nothing."""

    status = django_filters.MultipleChoiceFilter(
        choices=RoadmapItem.Status.choices,
        help_text=_("One or more statuses (repeat the parameter: status=planned&status=done)."),
    )
    theme = django_filters.CharFilter(
        field_name="theme__name", help_text=_("Theme name, exactly as written.")
    )
    team = SlugFilter(field_name="team__slug")
    target_quarter = QuarterCodeFilter(field_name="target_quarter__code")

    class Meta:
        model = RoadmapItem
        fields = ["status", "theme", "team", "target_quarter"]


ITEM_ROLES_NOTE = _("Roles: Finance, Manager.")
# The filters' patterns, which django-filter's form fields do not carry into the schema.
# An empty value is no filter (django-filter's rule), so the patterns allow it.
ITEM_FILTER_PARAMETERS = [
    OpenApiParameter(
        "team",
        str,
        OpenApiParameter.QUERY,
        pattern=r"^[-a-zA-Z0-9_]*$",
        description=_("Slug of the delivering team, e.g. ae."),
    ),
    OpenApiParameter(
        "target_quarter",
        str,
        OpenApiParameter.QUERY,
        pattern=f"^({QUARTER_CODE.pattern})?$",
        description=_("Target quarter, e.g. 2027-Q1."),
    ),
]
ITEM_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description=_("The item's id."))


@extend_schema_view(
    list=extend_schema(
        summary=_("List roadmap items"),
        description=_(
            "Every roadmap item, open items first in priority order, then done and dropped "
            "ones by id. Paged with limit and offset. "
        )
        + ITEM_ROLES_NOTE,
        parameters=ITEM_FILTER_PARAMETERS,
        responses={200: RoadmapItemSerializer, **error_responses(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(
        summary=_("One roadmap item"),
        description=ITEM_ROLES_NOTE,
        parameters=[ITEM_ID],
        # Filters apply here too (DRF), so an invalid filter parameter is a 400.
        responses={200: RoadmapItemSerializer, **error_responses(400, 401, 403, 404, 429)},
    ),
)
class RoadmapItemViewSet(viewsets.ReadOnlyModelViewSet):
    """Roadmap items with their RICE and WSJF inputs and scores, cost and benefit."""

    allowed_roles = PLANNERS
    serializer_class = RoadmapItemSerializer
    filterset_class = RoadmapItemFilter
    pagination_class = StrictLimitOffsetPagination
    # Anything up to the next slash: an id that is not a number is a JSON 404, not the
    # HTML one of an unmatched URL.
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return (
            RoadmapItem.objects.with_related()
            .prefetch_related(
                Prefetch(
                    "requesting_teams", queryset=Team.objects.only("id", "slug").order_by("slug")
                ),
                Prefetch("depends_on", queryset=RoadmapItem.objects.only("id").order_by("id")),
            )
            # Ranks of done and dropped items are left over from when they were open.
            .alias(priority=Case(When(status__in=OPEN_STATUSES, then=F("rank"))))
            .order_by(F("priority").asc(nulls_last=True), "id")
        )


def with_planning(quarters: Sequence[Quarter]) -> Sequence[Quarter]:
    """Set `capacity_weeks` and `planned_weeks` on quarters with prefetched capacities."""
    planned = planned_weeks_by_quarter(quarters)
    for quarter in quarters:
        capacities = quarter.capacities.all()
        quarter.capacity_weeks = (
            sum((row.person_weeks for row in capacities), start=Decimal(0)) if capacities else None
        )
        quarter.planned_weeks = planned[quarter.index]
    return quarters


QUARTER_ROLES_NOTE = _("Roles: Finance, Manager.")


@extend_schema_view(
    list=extend_schema(
        summary=_("List quarters"),
        description=_(
            "Every quarter the roadmap has used, in date order, with each team's capacity and "
            "the planned effort. Paged with limit and offset. "
        )
        + QUARTER_ROLES_NOTE,
        responses={200: QuarterSerializer, **error_responses(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(
        summary=_("One quarter"),
        description=QUARTER_ROLES_NOTE,
        parameters=[
            OpenApiParameter(
                "code",
                str,
                OpenApiParameter.PATH,
                pattern=QUARTER_CODE_PATTERN,
                description=_("The quarter, e.g. 2027-Q1."),
            )
        ],
        responses={200: QuarterSerializer, **error_responses(401, 403, 404, 429)},
    ),
)
class QuarterViewSet(viewsets.ReadOnlyModelViewSet):
    """Quarters with team capacity and planned effort."""

    allowed_roles = PLANNERS
    serializer_class = QuarterSerializer
    pagination_class = StrictLimitOffsetPagination
    lookup_field = "code"
    # Anything up to the next slash: a malformed code is a JSON 404, not the HTML one of
    # an unmatched URL.
    lookup_value_regex = "[^/]+"
    queryset = Quarter.objects.prefetch_related(
        Prefetch(
            "capacities",
            queryset=TeamCapacity.objects.select_related("team").order_by("team__slug"),
        )
    ).order_by("start_date")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return None if page is None else with_planning(page)

    def get_object(self) -> Quarter:
        quarter = super().get_object()
        with_planning([quarter])
        return quarter


# --- Error budgets ---------------------------------------------------------------------

BUDGET_ROLES_NOTE = _("Roles: Finance, Manager.")


def with_budgets(
    products: Sequence[DataProduct], *, today: datetime.date | None = None
) -> Sequence[DataProduct]:
    """Set `budget` on each product: every product's status, computed once (three queries
    however many products), not once per product."""
    statuses = {status.product.pk: status for status in budget_statuses(today=today)}
    for product in products:
        product.budget = statuses.get(product.pk)
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
        + BUDGET_ROLES_NOTE,
        responses={200: DataProductSerializer, **error_responses(400, 401, 403, 429)},
    ),
    retrieve=extend_schema(
        summary=_("One data product"),
        description=BUDGET_ROLES_NOTE,
        parameters=[PRODUCT_ID],
        responses={200: DataProductSerializer, **error_responses(401, 403, 404, 429)},
    ),
)
class DataProductViewSet(viewsets.ReadOnlyModelViewSet):
    """Data products with their objectives and their error budget today."""

    allowed_roles = PLANNERS
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
        if value in self.empty_values:
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


# An empty value is no filter (django-filter's rule), so the patterns allow it.
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
        str,
        OpenApiParameter.QUERY,
        pattern=f"^(?:{DAY.pattern})?$",
        description=_("Detected on this local day or later, YYYY-MM-DD (years 2000 to 2099)."),
    ),
    OpenApiParameter(
        "detected_to",
        str,
        OpenApiParameter.QUERY,
        pattern=f"^(?:{DAY.pattern})?$",
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
        + BUDGET_ROLES_NOTE,
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
class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    """Incidents: when, how bad, which products, what caused them and what fixes them."""

    allowed_roles = PLANNERS
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
        + BUDGET_ROLES_NOTE,
        parameters=[
            OpenApiParameter(
                "as_of",
                str,
                OpenApiParameter.QUERY,
                pattern=f"^(?:{DAY.pattern})$",
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

    allowed_roles = PLANNERS
    filter_backends: list = []
    # Only `as_of` changes the figures: a misspelt parameter is refused, not ignored.
    known_parameters = frozenset({"as_of", "format"})

    def list(self, request: Request) -> Response:
        unknown = sorted(set(request.query_params) - self.known_parameters)
        params = BudgetStatusParameters(data=request.query_params)
        errors = {} if params.is_valid() else dict(params.errors)
        errors.update({name: [_("Unknown parameter.")] for name in unknown})
        if errors:
            raise exceptions.ValidationError(errors)
        statuses = budget_statuses(today=params.validated_data.get("as_of"))
        return Response(BudgetStatusSerializer(statuses, many=True).data)
