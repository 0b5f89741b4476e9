"""What the error-budget API shows of data products, incidents and budgets, and the
parameters it reads. Read-only: every figure here is the one the pages show."""

import datetime
import re
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import DAY_PATTERN
from roadmap.budgets.rules import State
from roadmap.models import DataProduct, Incident

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from core.models import Team
    from roadmap.models import RoadmapItem

# --- Error budgets -------------------------------------------------------------------

# A day that exists, from 2000 to 2099 (the years quarters may have), leap days included:
# the schema's own pattern, so a day the schema admits is never refused.
DAY = re.compile(DAY_PATTERN)
DAY_MESSAGE = _(
    "%(value)r is not a day; write it as YYYY-MM-DD, e.g. 2026-10-05 (years 2000 to 2099)."
)


def parse_day(value: str) -> datetime.date | None:
    """The day `value` names, or None if it is not written YYYY-MM-DD or does not exist."""
    return datetime.date.fromisoformat(value) if DAY.fullmatch(value) else None


class BudgetStatusParameters(serializers.Serializer):
    as_of = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text=_("A day, YYYY-MM-DD: the budgets as they stood on that day."),
    )

    def validate_as_of(self, value: str) -> datetime.date:
        day = parse_day(value)
        if day is None:
            raise serializers.ValidationError(DAY_MESSAGE % {"value": value})
        return day


class BudgetPeriodSerializer(serializers.Serializer):
    # A field named like Field.label, which the stubs type as the field's own label.
    label = serializers.CharField(  # type: ignore[assignment]
        read_only=True, help_text=_("2026-Q4 for a quarterly budget, 2026 for a yearly one.")
    )
    start = serializers.DateField(read_only=True, help_text=_("First day of the period."))
    end = serializers.DateField(read_only=True, help_text=_("Last day of the period, included."))


class BudgetSerializer(serializers.Serializer):
    """A product's error budget in the period that contains the day asked about."""

    # Reads a roadmap.budgets.rules.BudgetStatus.

    period = BudgetPeriodSerializer(read_only=True)
    allowed = serializers.IntegerField(
        read_only=True, help_text=_("Incidents the period may have: the budget.")
    )
    used = serializers.IntegerField(
        read_only=True,
        help_text=_("Incidents detected in the period up to the day, each counted once."),
    )
    remaining = serializers.IntegerField(
        read_only=True, help_text=_("allowed - used, never below 0.")
    )
    over = serializers.IntegerField(
        read_only=True, help_text=_("Incidents beyond the budget: used - allowed, at least 0.")
    )
    burn_rate = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text=_(
            "(used / allowed) / elapsed: 1.00 spends the budget exactly by the period's end, "
            "above 1 spends it early; null with a budget of 0."
        ),
    )
    elapsed = serializers.DecimalField(
        max_digits=None,
        decimal_places=4,
        read_only=True,
        help_text=_("Share of the period gone, the day included: from 0 to 1."),
    )
    state = serializers.ChoiceField(
        choices=[(state, State.LABELS[state]) for state in State.ORDER],
        read_only=True,
        help_text=_(
            "The worse of the incident budget's and the freshness budget's: exhausted when "
            "nothing is left, at_risk when burning faster than time."
        ),
    )
    policy = serializers.CharField(
        read_only=True, help_text=_("What the agreed policy says to do in this state.")
    )
    move_faster = serializers.BooleanField(
        read_only=True,
        help_text=_(
            "Healthy, half the period gone and at most a quarter of the budget used: the "
            "team is being more careful than it agreed to be."
        ),
    )
    late_days_used = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=_("Days with late data in the period; null without a freshness objective."),
    )


class BudgetStatusSerializer(BudgetSerializer):
    """A product's budget, named by the product."""

    product = serializers.CharField(
        source="product.slug", read_only=True, help_text=_("Slug of the data product.")
    )
    name = serializers.CharField(
        source="product.name", read_only=True, help_text=_("Name of the data product.")
    )


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"})
class TimeOfDayField(serializers.TimeField):
    """A local time of day as HH:MM. Not OpenAPI's `time` format: that is RFC 3339's
    full-time, which needs a UTC offset, and an objective's time of day has none."""

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%H:%M", **kwargs)


class DataProductSerializer(serializers.ModelSerializer):
    """A data product the team owns, with its objectives and its error budget today."""

    # The view sets `budget` on each product (roadmap.budgets.api.with_budgets), from one
    # computation for the whole request.

    owner: "serializers.SlugRelatedField[User]" = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text=_("Username of the owner; null when nobody owns it."),
    )
    consumers: "serializers.SlugRelatedField[Team]" = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True, help_text=_("Slugs of the consumer teams.")
    )
    tables = serializers.ListField(
        child=serializers.CharField(),
        source="table_list",
        read_only=True,
        help_text=_("Its tables, as project.dataset.table."),
    )
    reliability_items: "serializers.PrimaryKeyRelatedField[RoadmapItem]" = (
        serializers.PrimaryKeyRelatedField(
            many=True,
            read_only=True,
            help_text=_("Ids of the roadmap items that restore this product's budget."),
        )
    )
    ready_by = TimeOfDayField(
        read_only=True,
        allow_null=True,
        help_text=_("Freshness objective: local time the data is ready by, HH:MM; or null."),
    )
    budget = BudgetSerializer(read_only=True, help_text=_("The budget today."))

    class Meta:
        model = DataProduct
        fields = [
            "id",
            "name",
            "slug",
            "kind",
            "description",
            "owner",
            "consumers",
            "tables",
            "incidents_allowed",
            "budget_period",
            "ready_by",
            "late_days_allowed",
            "reliability_items",
            "budget",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "late_days_allowed": {
                "help_text": _("Late days the period may have; null without a freshness objective.")
            },
        }


class IncidentSerializer(serializers.ModelSerializer):
    products: "serializers.SlugRelatedField[DataProduct]" = serializers.SlugRelatedField(
        slug_field="slug",
        many=True,
        read_only=True,
        help_text=_("Slugs of the data products whose budget it spends."),
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "detected_at",
            "resolved_at",
            "severity",
            "impact",
            "products",
            "cause",
            "caused_by",
            "follow_up",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "resolved_at": {"help_text": _("Null while it is not resolved.")},
            "cause": {"help_text": _("Markdown; empty when not known yet.")},
            "caused_by": {
                "help_text": _("Id of the roadmap item whose change caused it; or null.")
            },
            "follow_up": {"help_text": _("Id of the roadmap item that fixes the cause; or null.")},
        }
