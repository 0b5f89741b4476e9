"""What the roadmap API shows of items and quarters. Read-only: the roadmap is drafted in
the pages, and every figure here is the one the pages show."""

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api import MoneyField
from roadmap.items.planning import OPEN_STATUSES
from roadmap.models import Quarter, RoadmapItem, TeamCapacity

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from core.models import Team
    from roadmap.models import Theme


class RoadmapItemSerializer(serializers.ModelSerializer):
    theme: "serializers.SlugRelatedField[Theme]" = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    team: "serializers.SlugRelatedField[Team]" = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text=_("Slug of the delivering team.")
    )
    owner: "serializers.SlugRelatedField[User]" = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text=_("Username of the owner; null when nobody owns it."),
    )
    start_quarter: "serializers.SlugRelatedField[Quarter]" = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text=_("e.g. 2027-Q1")
    )
    target_quarter: "serializers.SlugRelatedField[Quarter]" = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text=_("e.g. 2027-Q2")
    )
    rank = serializers.SerializerMethodField(
        help_text=_("Priority, 1 = most important; null unless proposed, planned or in progress.")
    )
    # A model field with choices would become a ChoiceField returning the Decimal key,
    # which JSON renders as a float.
    impact = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text=_("RICE impact on Intercom's scale: 3, 2, 1, 0.5, 0.25."),
    )
    rice_score = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text=_("reach x impact x confidence / effort; null until all four are set."),
    )
    wsjf_score = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text=_("(value + time criticality + risk reduction) / job size; null until set."),
    )
    people_cost = MoneyField(
        help_text=_("Effort x the delivering team's loaded weekly rate, in the team's currency.")
    )
    cost_per_hour_saved = MoneyField(
        help_text=_(
            "(Upfront cost + 12 x monthly BigQuery change) / (12 x hours saved per month); "
            "null when unknown or when it would add two currencies."
        )
    )
    payback_months = serializers.DecimalField(
        max_digits=None,
        decimal_places=1,
        read_only=True,
        allow_null=True,
        help_text=_("Months until the monthly saving repays the upfront cost; null if never."),
    )
    requesting_teams: "serializers.SlugRelatedField[Team]" = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True, help_text=_("Slugs of the requesting teams.")
    )
    depends_on: "serializers.PrimaryKeyRelatedField[RoadmapItem]" = (
        serializers.PrimaryKeyRelatedField(
            many=True, read_only=True, help_text=_("Ids of the items this one depends on.")
        )
    )

    class Meta:
        model = RoadmapItem
        fields = [
            "id",
            "title",
            "status",
            "theme",
            "team",
            "owner",
            "start_quarter",
            "target_quarter",
            "delivered_on",
            "rank",
            "reach",
            "impact",
            "confidence",
            "rice_effort_months",
            "rice_score",
            "business_value",
            "time_criticality",
            "risk_reduction",
            "job_size",
            "wsjf_score",
            "effort_weeks",
            "people_cost",
            "currency",
            "bq_monthly_cost_change",
            "one_off_cost",
            "users_affected",
            "hours_saved_per_month",
            "cost_per_hour_saved",
            "payback_months",
            "benefit_chain",
            "usage_evidence",
            "adoption_target_people",
            "adoption_target_weeks",
            "retirement_target_date",
            "requesting_teams",
            "depends_on",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "currency": {"help_text": _("Currency of bq_monthly_cost_change and one_off_cost.")},
        }

    def get_rank(self, item: RoadmapItem) -> int | None:
        return item.rank if item.status in OPEN_STATUSES else None


class TeamCapacitySerializer(serializers.ModelSerializer):
    team: "serializers.SlugRelatedField[Team]" = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = TeamCapacity
        fields = ["team", "person_weeks"]
        read_only_fields = fields


class QuarterSerializer(serializers.ModelSerializer):
    """A quarter with its capacity and planned effort. The view sets `capacity_weeks` and
    `planned_weeks` on each quarter (roadmap.items.api.with_planning)."""

    capacity = TeamCapacitySerializer(
        source="capacities", many=True, read_only=True, help_text=_("Person-weeks per team.")
    )
    capacity_weeks = serializers.DecimalField(
        max_digits=None,
        decimal_places=1,
        read_only=True,
        allow_null=True,
        help_text=_("Capacity of all teams together; null when none is set."),
    )
    planned_weeks = serializers.DecimalField(
        max_digits=None,
        decimal_places=1,
        read_only=True,
        help_text=_(
            "Effort planned in the quarter, as on the roadmap board: each item that is not "
            "dropped spreads its effort evenly over its quarters, start to target."
        ),
    )

    class Meta:
        model = Quarter
        fields = ["code", "start_date", "end_date", "capacity", "capacity_weeks", "planned_weeks"]
        read_only_fields = fields
