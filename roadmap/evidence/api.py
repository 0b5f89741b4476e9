"""The realised-benefit report for finance (/api/v1/benefit-report/): for each item delivered
in a quarter, the monthly BigQuery change it declared against the one measured, the hours
promised against measured, and each declared target's outcome; and the quarter's
realised-benefit ratio. Figures from roadmap.evidence.benefit, as the item pages show them."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import DayParameter, MoneyField, parameters
from core.openapi import error_responses
from core.quarters import QUARTER_SHAPE, validate_exact_quarter_code
from core.roles import MANAGERS_AND_FINANCE
from roadmap.evidence.benefit import (
    ItemBenefit,
    Outcome,
    QuarterBenefit,
    benefit_by_quarter,
    benefit_of_items,
)
from roadmap.items.serializers import TargetCheckSerializer
from roadmap.models import Quarter, RoadmapItem


def _utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


class QuarterCode(RegexValidator):
    """The quarter's shape, as the schema's pattern; refused with the quarters' message."""

    regex = f"^{QUARTER_SHAPE}$"

    def __call__(self, value: Any) -> None:
        validate_exact_quarter_code(value)


class BenefitReportParameters(serializers.Serializer):
    quarter = serializers.CharField(
        required=False,
        trim_whitespace=False,
        validators=[QuarterCode()],
        help_text=_(
            "The delivery quarter, e.g. 2026-Q4: the items whose delivered_on falls in it "
            "(and not after as_of). Default: the quarter of as_of."
        ),
    )
    as_of = DayParameter(
        required=False,
        help_text=_(
            "Judge as of this UTC day (YYYY-MM-DD): job history and billing after it are left "
            "out, so the same day gives the same figures. Default: today (UTC)."
        ),
    )


@dataclass(frozen=True)
class BenefitReport:
    quarter: str
    as_of: datetime.date
    items: list[ItemBenefit]
    outcomes: QuarterBenefit


def benefit_report(*, quarter: str, as_of: datetime.date) -> BenefitReport:
    """The items done and delivered in `quarter` up to `as_of`, by delivery day then id:
    one query for them and benefit_of_items's fixed number."""
    bounds = Quarter.from_code(quarter)
    items = list(
        RoadmapItem.objects.filter(
            status=RoadmapItem.Status.DONE,
            delivered_on__gte=bounds.start_date,
            delivered_on__lte=min(bounds.end_date, as_of),
        ).order_by("delivered_on", "id")
    )
    by_id = benefit_of_items(items=items, as_of=as_of) if items else {}
    benefits = [by_id[item.pk] for item in items]
    outcomes = next(
        iter(benefit_by_quarter(benefits)),
        QuarterBenefit(quarter, met=0, missed=0, not_yet_due=0, not_measured=0, no_target=0),
    )
    return BenefitReport(quarter=quarter, as_of=as_of, items=benefits, outcomes=outcomes)


def _hours(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=None, decimal_places=1, read_only=True, allow_null=True, **kwargs
    )


class BenefitReportItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item_id", read_only=True)
    title = serializers.CharField(read_only=True)
    delivered_on = serializers.DateField(read_only=True)
    declared_monthly_change = MoneyField(
        source="cost.declared",
        help_text=_("The monthly BigQuery change the item declared; null when none."),
    )
    measured_monthly_change = MoneyField(
        source="cost.monthly_change",
        help_text=_(
            "An estimate: the monthly cost of the 8 weeks after delivery less that of the 8 "
            "weeks before (see cost_explanation); null when nothing measures it."
        ),
    )
    cost_complete = serializers.BooleanField(
        source="cost.complete", read_only=True, help_text=_("The 8 weeks after are over.")
    )
    cost_explanation = serializers.CharField(source="cost.explanation", read_only=True)
    hours_promised = _hours(source="hours.promised", help_text=_("Hours per month, as declared."))
    hours_measured = _hours(
        source="hours.measured",
        help_text=_("Hours per month by the measured proxy; null when not measured."),
    )
    outcome = serializers.ChoiceField(
        choices=Outcome.choices, read_only=True,
        help_text=_("Over its targets: missed if one is, not yet due if one is, met if all are."),
    )  # fmt: skip
    targets = TargetCheckSerializer(many=True, read_only=True)


class BenefitReportSerializer(serializers.Serializer):
    quarter = serializers.CharField(read_only=True)
    as_of = serializers.DateField(read_only=True)
    delivered = serializers.IntegerField(source="outcomes.delivered", read_only=True)
    met = serializers.IntegerField(source="outcomes.met", read_only=True)
    missed = serializers.IntegerField(source="outcomes.missed", read_only=True)
    not_yet_due = serializers.IntegerField(source="outcomes.not_yet_due", read_only=True)
    not_measured = serializers.IntegerField(source="outcomes.not_measured", read_only=True)
    no_target = serializers.IntegerField(source="outcomes.no_target", read_only=True)
    ratio = serializers.FloatField(
        source="outcomes.ratio",
        read_only=True,
        allow_null=True,
        help_text=_(
            "The realised-benefit ratio: met / (met + missed), 0 to 1; null while no item "
            "of the quarter is judged."
        ),
    )
    items = BenefitReportItemSerializer(many=True, read_only=True)


@extend_schema(
    summary=_("Realised-benefit report of a quarter"),
    description=_(
        "For each item delivered in the quarter: the monthly BigQuery change it declared "
        "against the one measured (an estimate), the analyst hours promised against a "
        "measured proxy (null when not measured), and each declared target met, missed, not "
        "yet due or not measured; and the quarter's realised-benefit ratio. Roles: Finance, "
        "Manager."
    ),
    parameters=[BenefitReportParameters],
    responses={200: BenefitReportSerializer, **error_responses(400, 401, 403, 404, 429)},
)
class BenefitReportView(APIView):
    """What the items delivered in a quarter changed. Finance and Manager."""

    allowed_roles = MANAGERS_AND_FINANCE

    def get(self, request: Request) -> Response:
        params = parameters(BenefitReportParameters, request).validated_data
        as_of = params.get("as_of") or _utc_today()
        quarter = params.get("quarter") or Quarter.code_for_date(as_of)
        report = benefit_report(quarter=quarter, as_of=as_of)
        return Response(BenefitReportSerializer(report).data)


BENEFIT_API_VIEWS = [("benefit-report/", BenefitReportView, "benefit-report")]
