"""What the roadmap API shows of items and quarters. Read-only: the roadmap is drafted in
the pages, and every figure here is the one the pages show."""

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api import MoneyField
from roadmap.evidence.benefit import CostSource, Outcome
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


# --- Realised benefit (roadmap.evidence.benefit.ItemBenefit and its parts) ---------------


def _names(**kwargs: Any) -> "serializers.ListField":
    return serializers.ListField(child=serializers.CharField(), read_only=True, **kwargs)


def _count(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(read_only=True, **kwargs)


def _day(**kwargs: Any) -> serializers.DateField:
    return serializers.DateField(read_only=True, **kwargs)


class AdoptionWeekSerializer(serializers.Serializer):
    week = serializers.CharField(source="label", read_only=True, help_text=_("e.g. 2027-W05"))
    start = _day(help_text=_("Its Monday."))
    people = _count()
    service_accounts = _count()
    teams = _count(help_text=_("Distinct teams of those people."))
    queries = _count(help_text=_("By people and service accounts."))


class AdoptionSerializer(serializers.Serializer):
    tables = _names(source="table_names", help_text=_("The tables it builds on."))
    since = _day(help_text=_("The delivery day; for an item in progress, 8 weeks ago."))
    until = _day()
    people = _count(help_text=_("Distinct people (not service accounts) since `since`."))
    teams = _count()
    queries = _count()
    days_to_10_people = _count(
        allow_null=True, help_text=_("Days from delivery to the 10th person; null until then.")
    )
    days_to_50_people = _count(
        allow_null=True, help_text=_("Days from delivery to the 50th person; null until then.")
    )
    interviewed_teams = _names(help_text=_("Teams of the interviews that name the item."))
    adopting_interviewed_teams = _names(help_text=_("Of those, the teams that query it."))
    interviewed_share = serializers.DecimalField(
        max_digits=None, decimal_places=2, read_only=True, allow_null=True,
        help_text=_("Adopting interviewed teams / interviewed teams; null without interviews."),
    )  # fmt: skip
    weeks = AdoptionWeekSerializer(many=True, read_only=True)


class ReadersWeekSerializer(serializers.Serializer):
    week = serializers.CharField(source="label", read_only=True, help_text=_("e.g. 2027-W05"))
    start = _day(help_text=_("Its Monday."))
    readers = _count(help_text=_("Distinct users, service accounts included."))


class TableReadersSerializer(serializers.Serializer):
    table = serializers.CharField(source="table.full_name", read_only=True)
    last_read_on = _day(allow_null=True)
    weeks = ReadersWeekSerializer(many=True, read_only=True)


class RemainingReaderSerializer(serializers.Serializer):
    email = serializers.CharField(read_only=True)
    team = serializers.CharField(read_only=True, help_text=_("Empty when in no team."))
    is_service_account = serializers.BooleanField(read_only=True)
    last_query_on = _day()
    queries = _count(help_text=_("In the last 28 days."))
    tables = _names()


class FlaggedReadSerializer(serializers.Serializer):
    day = _day()
    email = serializers.CharField(read_only=True)
    team = serializers.CharField(read_only=True)
    queries = _count()
    tables = _names()


class RetirementSerializer(serializers.Serializer):
    tables = _names(source="table_names", help_text=_("The tables it retires."))
    since = _day()
    until = _day()
    target_date = _day(allow_null=True)
    last_read_on = _day(allow_null=True)
    last_reader_left_on = _day(
        allow_null=True,
        help_text=_(
            "The day after the last read, once nobody has read the tables for 28 days; "
            "null while someone has."
        ),
    )
    readers_left = _count(help_text=_("Users who read them in the last 28 days."))
    weeks = ReadersWeekSerializer(many=True, read_only=True)
    per_table = TableReadersSerializer(many=True, read_only=True)
    remaining = RemainingReaderSerializer(many=True, read_only=True)
    flagged = FlaggedReadSerializer(
        many=True, read_only=True, help_text=_("Reads on or after the target date.")
    )


class CostWindowSerializer(serializers.Serializer):
    since = _day()
    until = _day()
    total = MoneyField()
    monthly = MoneyField(help_text=_("total / days x 365 / 12"))


class CostChangeSerializer(serializers.Serializer):
    # A field named like Field.source: the metaclass takes it out of the class, so only
    # the stubs see the clash.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=CostSource.choices, read_only=True, allow_null=True,
        help_text=_("Where the cost comes from; null when nothing measures it."),
    )  # fmt: skip
    before = CostWindowSerializer(read_only=True, allow_null=True)
    after = CostWindowSerializer(read_only=True, allow_null=True)
    monthly_change = MoneyField(help_text=_("after.monthly - before.monthly"))
    declared = MoneyField(help_text=_("The monthly change the item declared."))
    complete = serializers.BooleanField(read_only=True, help_text=_("The 8 weeks are over."))
    explanation = serializers.CharField(read_only=True)


def _hours(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=None, decimal_places=1, read_only=True, allow_null=True, **kwargs
    )


class HoursSavedSerializer(serializers.Serializer):
    promised = _hours(help_text=_("Hours per month, as declared."))
    measured = _hours(help_text=_("Hours per month by the proxy; null when not measured."))
    reason = serializers.CharField(read_only=True)
    moved_queries_per_month = _hours()
    median_before_seconds = serializers.DecimalField(
        max_digits=None, decimal_places=3, read_only=True, allow_null=True
    )
    median_after_seconds = serializers.DecimalField(
        max_digits=None, decimal_places=3, read_only=True, allow_null=True
    )


class TargetCheckSerializer(serializers.Serializer):
    # Text, not a choice field: its enum would take the schema name KindEnum from the
    # data products' kind, renaming theirs for every client.
    kind = serializers.CharField(
        read_only=True,
        help_text=_("adoption, retirement or cost"),
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices, read_only=True)
    due_on = _day(allow_null=True, help_text=_("The day it is judged by."))
    target = serializers.CharField(read_only=True)
    result = serializers.CharField(read_only=True)


class ItemBenefitSerializer(serializers.Serializer):
    """What a delivered item changed (roadmap.evidence.benefit), as of a UTC day."""

    item = _count(source="item_id")
    title = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=RoadmapItem.Status.choices, read_only=True)
    delivered_on = _day(allow_null=True)
    quarter = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("Quarter delivered, e.g. 2027-Q1.")
    )
    as_of = _day()
    outcome = serializers.ChoiceField(
        choices=Outcome.choices, read_only=True,
        help_text=_("Over its targets: missed if one is, not yet due if one is, met if all are."),
    )  # fmt: skip
    targets = TargetCheckSerializer(many=True, read_only=True)
    adoption = AdoptionSerializer(read_only=True, allow_null=True)
    retirement = RetirementSerializer(read_only=True, allow_null=True)
    cost = CostChangeSerializer(read_only=True)
    hours = HoursSavedSerializer(read_only=True)
