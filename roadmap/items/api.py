"""The read-only roadmap API for finance's planning: the items with their scores, cost and
benefit (/api/v1/roadmap-items/) and the quarters with capacity and planned effort
(/api/v1/quarters/), as the pages show them."""

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import django_filters
from django.core.validators import validate_slug
from django.db.models import Case, F, Prefetch, When
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import DayParameter, RefuseUnknownParameters, parameters
from core.models import Team
from core.openapi import StrictLimitOffsetPagination, error_responses
from core.quarters import QUARTER_SHAPE, validate_exact_quarter_code
from core.roles import MANAGERS_AND_FINANCE
from cost.usage.serializers import utc_today
from roadmap.evidence.benefit import item_benefit
from roadmap.items.planning import OPEN_STATUSES, planned_weeks_by_quarter
from roadmap.items.serializers import (
    ItemBenefitSerializer,
    QuarterSerializer,
    RoadmapItemSerializer,
)
from roadmap.models import Quarter, RoadmapItem, TeamCapacity

QUARTER_CODE_PATTERN = f"^{QUARTER_SHAPE}$"


class QuarterCodeFilter(django_filters.CharFilter):
    def __init__(self, **kwargs) -> None:
        super().__init__(strip=False, validators=[validate_exact_quarter_code], **kwargs)


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
        "theme",
        str,
        OpenApiParameter.QUERY,
        pattern=r"^[^\x00]*$",  # as any text parameter, no NUL character
        description=_("Theme name, exactly as written."),
    ),
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
        pattern=f"^({QUARTER_SHAPE})?$",
        description=_("Target quarter, e.g. 2027-Q1."),
    ),
]
ITEM_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description=_("The item's id."))


class BenefitParameters(serializers.Serializer):
    as_of = DayParameter(
        required=False,
        help_text=_(
            "Judge as of this UTC day (YYYY-MM-DD): job history and billing after it are left "
            "out, so the same day gives the same figures. Default: today (UTC)."
        ),
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("List roadmap items"),
        description=_(
            "Every roadmap item, open items first in priority order, then done and dropped "
            "ones by id. Paged with limit and offset. "
        )
        + ITEM_ROLES_NOTE,  # type: ignore[operator]  # lazy + lazy works; the stubs want a str
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
class RoadmapItemViewSet(RefuseUnknownParameters, viewsets.ReadOnlyModelViewSet):
    """Roadmap items with their RICE and WSJF inputs and scores, cost and benefit."""

    allowed_roles = MANAGERS_AND_FINANCE
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

    @extend_schema(
        summary=_("What a delivered item changed"),
        description=_(
            "Realised benefit of one item, from the stored job history and billing data: "
            "adoption per ISO week of the tables it builds on, readers left on the tables it "
            "retires, BigQuery cost over the 8 weeks before and after delivery (an estimate, "
            "explained in cost.explanation), hours saved by a measured proxy or null, and "
            "each declared target met, missed, not yet due or not measured. Any item may be "
            "asked; one neither done nor in progress has no delivery day and nothing judged. "
        )
        + ITEM_ROLES_NOTE,  # type: ignore[operator]  # lazy + lazy works; the stubs want a str
        parameters=[ITEM_ID, BenefitParameters],
        responses={200: ItemBenefitSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="benefit",
        # The list's filters and paging are not this endpoint's parameters.
        filterset_class=None,
        pagination_class=None,
        extra_parameters=frozenset({"as_of"}),
    )
    def benefit(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The id and a format suffix come as keyword arguments; get_object reads them.
        params = parameters(BenefitParameters, request)
        item = self.get_object()
        as_of = params.validated_data.get("as_of") or utc_today()
        return Response(ItemBenefitSerializer(item_benefit(item=item, as_of=as_of)).data)


def with_planning(quarters: Sequence[Quarter]) -> Sequence[Quarter]:
    """Set `capacity_weeks` and `planned_weeks` on quarters with prefetched capacities."""
    planned = planned_weeks_by_quarter(quarters)
    for quarter in quarters:
        capacities = quarter.capacities.all()
        # Attributes for QuarterSerializer, set on the instances (not model fields).
        quarter.capacity_weeks = (  # type: ignore[attr-defined]
            sum((row.person_weeks for row in capacities), start=Decimal(0)) if capacities else None
        )
        quarter.planned_weeks = planned[quarter.index]  # type: ignore[attr-defined]
    return quarters


QUARTER_ROLES_NOTE = _("Roles: Finance, Manager.")


@extend_schema_view(
    list=extend_schema(
        summary=_("List quarters"),
        description=_(
            "Every quarter the roadmap has used, in date order, with each team's capacity and "
            "the planned effort. Paged with limit and offset. "
        )
        + QUARTER_ROLES_NOTE,  # type: ignore[operator]  # lazy + lazy works; the stubs want a str
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
class QuarterViewSet(RefuseUnknownParameters, viewsets.ReadOnlyModelViewSet):
    """Quarters with team capacity and planned effort."""

    allowed_roles = MANAGERS_AND_FINANCE
    serializer_class = QuarterSerializer
    pagination_class = StrictLimitOffsetPagination
    lookup_field = "code"
    # Anything up to the next slash: a malformed code is a JSON 404, not the HTML one of
    # an unmatched URL.
    lookup_value_regex = "[^/]+"
    # The plugin cannot type a Prefetch of this reverse relation ("capacities").
    queryset = Quarter.objects.prefetch_related(
        Prefetch(  # type: ignore[arg-type]
            "capacities",  # type: ignore[arg-type]
            queryset=TeamCapacity.objects.select_related("team").order_by("team__slug"),  # type: ignore[arg-type]
        )
    ).order_by("start_date")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return None if page is None else with_planning(page)

    def get_object(self) -> Quarter:
        # Only a code of the right shape reaches the database: PostgreSQL refuses a NUL
        # in a text parameter with an error, and anything else names no quarter anyway.
        if not re.fullmatch(QUARTER_SHAPE, self.kwargs[self.lookup_field]):
            raise Http404(_("No Quarter matches the given query."))
        quarter = super().get_object()
        with_planning([quarter])
        return quarter
