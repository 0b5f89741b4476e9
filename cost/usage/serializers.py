"""Parameters and shapes of the usage API (cost/usage/api.py). Amounts travel as decimal
strings in USD, never floats; every amount is an allocation of query cost at list prices,
not an invoice amount."""

import datetime
import json
import re

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api import BLANK, AmountField, DayParameter, TextParameter
from cost.usage.reports import GROUPINGS

DEFAULT_DAYS = 28


def utc_today() -> datetime.date:
    """Job days are UTC days."""
    return timezone.now().astimezone(datetime.UTC).date()


# --- Parameters -------------------------------------------------------------------------


# The rule between `from` and `to`, which OpenAPI cannot state: the API refuses a period
# that ends before it starts (400, naming the parameter; `to` is today when left out), and
# period_rules() says so in the schema's description of each usage operation.
# tests/api/test_schema.py keeps the requests it generates as valid within this rule.
TO_BEFORE_FROM = _("to comes before from.")
FROM_AFTER_TODAY = _("from is after today (%(today)s); give to as well.")


def period_rules() -> str:
    """The rules between parameters, for an operation's description in the schema."""
    lines = [
        _("Rules between parameters, which the schema cannot state: a request that breaks "
          "one is refused with 400, its body naming the parameter."),
        "",
        _("- `to` not before `from`: `%(body)s`")
        % {"body": json.dumps({"to": [str(TO_BEFORE_FROM)]})},
        _("- without `to` (today, UTC), `from` not after today: `%(body)s`")
        % {"body": json.dumps({"from": [FROM_AFTER_TODAY % {"today": "2026-11-20"}]})},
    ]  # fmt: skip
    return "\n".join(str(line) for line in lines)


class UsageParameters(serializers.Serializer):
    """The period every usage report takes: `from` and `to`, UTC days, both included."""

    def get_fields(self) -> dict:
        fields = super().get_fields()
        # `from` is a Python keyword, so these two are added by name.
        fields["from"] = DayParameter(
            required=False,
            help_text=_("First UTC day, YYYY-MM-DD (default: %(days)s days before `to`).")
            % {"days": DEFAULT_DAYS - 1},
        )
        fields["to"] = DayParameter(
            required=False,
            help_text=_("Last UTC day, YYYY-MM-DD, included (default: today); not before `from`."),
        )
        return fields

    def validate(self, attrs: dict) -> dict:
        until = attrs.get("to") or utc_today()
        since = attrs.get("from") or until - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            if "to" in attrs:
                raise serializers.ValidationError({"to": [TO_BEFORE_FROM]})
            raise serializers.ValidationError(
                {"from": [FROM_AFTER_TODAY % {"today": until.isoformat()}]}
            )
        attrs["since"], attrs["until"] = since, until
        return attrs


# A dataset as the job history names it, project.dataset or a dataset name alone, perhaps
# in BigQuery's backticks: names of no spaces or dots, but a project's may have dots
# (example.com:sales), so the last dot ends the project.
DATASET_NAME = rf"[^.`{BLANK}\x00]+"
DATASET = re.compile(rf"`?{DATASET_NAME}(?:\.{DATASET_NAME})*`?")


class TableUsageParameters(UsageParameters):
    dataset = TextParameter(
        schema={"type": "string", "maxLength": 1200, "pattern": f"^{DATASET.pattern}$"},
        required=False,
        max_length=1200,
        help_text=_(
            "Only the tables of this dataset: project.dataset, or a dataset name in any project."
        ),
    )
    limit = serializers.IntegerField(
        required=False,
        default=100,
        min_value=1,
        max_value=1000,
        help_text=_("Tables listed, from the top of the ranking (the curve covers them all)."),
    )

    def validate_dataset(self, value: str) -> str:
        if not DATASET.fullmatch(value):
            raise serializers.ValidationError(
                _("Write the dataset as project.dataset, or its name alone.")
            )
        return value.strip("`")


class JoinedTablesParameters(UsageParameters):
    size = serializers.ChoiceField(
        choices=[2, 3], default=2, help_text=_("2: pairs of tables; 3: triples.")
    )
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=500)


# A label key as BigQuery writes them: a letter first (any script), then letters, digits,
# `_` and `-`, 63 characters at most. Spelt with Unicode properties for the schema, whose
# regular expressions read `\w` as ASCII only, and checked with str methods (which read
# letters and digits as the properties do) rather than Python's `\w`, which differs.
LABEL_KEY_PATTERN = r"\p{L}[\p{L}\p{N}_-]{0,62}"


def is_label_key(key: str) -> bool:
    return 0 < len(key) <= 63 and key[0].isalpha() and all(c.isalnum() or c in "_-" for c in key)


class QueryCostParameters(UsageParameters):
    by = TextParameter(
        schema={
            "anyOf": [
                {"type": "string", "enum": list(GROUPINGS)},
                {"type": "string", "pattern": f"^label:{LABEL_KEY_PATTERN}$"},
            ],
            "default": "user",
        },
        required=False,
        default="user",
        help_text=_(
            "One of %(names)s, or label:<key> (e.g. label:team; reads the jobs kept "
            "by the retention only)."
        )
        % {"names": ", ".join(GROUPINGS)},
    )

    def validate_by(self, value: str) -> str:
        if value in GROUPINGS or (value.startswith("label:") and is_label_key(value[6:])):
            return value
        raise serializers.ValidationError(
            _("Give one of %(names)s, or label:<key>.") % {"names": ", ".join(GROUPINGS)}
        )


class ExpensiveQueriesParameters(UsageParameters):
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=500)


# --- Response shapes ----------------------------------------------------------------------


ALLOCATED = _(
    "Allocated cost in USD, a decimal string: an allocation of query cost at "
    "list prices, not an invoice amount."
)
CURRENCY = _("Always USD.")


class PeriodSerializer(serializers.Serializer):
    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(source="since", help_text=_("First UTC day."))
        fields["to"] = serializers.DateField(source="until", help_text=_("Last UTC day."))
        return fields


class UsageTableRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    table = serializers.CharField(source="table.full_name", help_text=_("project.dataset.table"))
    users = serializers.IntegerField(help_text=_("Distinct people who read it."))
    service_accounts = serializers.IntegerField(help_text=_("Distinct service accounts."))
    queries = serializers.IntegerField(help_text=_("Queries that read it."))
    bytes_billed = serializers.IntegerField(help_text=_("Bytes billed by those queries."))
    allocated_cost = AmountField(
        source="cost",
        help_text=_(
            "Allocated cost (USD, decimal string; list prices, not an invoice "
            "amount) of the queries that read the table; a query reading several "
            "tables counts in full for each."
        ),
    )
    currency = serializers.CharField(help_text=CURRENCY)


class UsageCurvePointSerializer(serializers.Serializer):
    tables = serializers.IntegerField(help_text=_("The top n tables of the ranking."))
    queries = serializers.IntegerField(
        help_text=_("Queries that read at least one of them (each counted once).")
    )
    share = serializers.DecimalField(
        max_digits=7,
        decimal_places=6,
        coerce_to_string=False,
        help_text=_("queries / total_queries, 0 to 1."),
    )


class UsageTablesSerializer(PeriodSerializer):
    dataset = serializers.CharField(allow_null=True, help_text=_("The dataset filter, if any."))
    total_queries = serializers.IntegerField(
        help_text=_("Queries that read at least one table of the ranking.")
    )
    tables = serializers.IntegerField(help_text=_("Tables in the ranking."))
    rows = UsageTableRowSerializer(many=True)
    curve = UsageCurvePointSerializer(many=True, help_text=_("One point per table."))

    def to_representation(self, instance) -> dict:
        data = super().to_representation(instance)
        data["dataset"] = data["dataset"] or None
        return data


class UsageUserSerializer(serializers.Serializer):
    user = serializers.CharField(source="user.email", help_text=_("Email or service account."))
    service_account = serializers.BooleanField(source="user.is_service_account")
    queries = serializers.IntegerField(help_text=_("Queries that read the table."))
    days = serializers.IntegerField(help_text=_("UTC days with at least one of them."))
    last_used = serializers.DateTimeField()


class UsageTeamSerializer(serializers.Serializer):
    team = serializers.CharField(
        source="team.slug", allow_null=True, help_text=_("Team slug; null: mapped to no team.")
    )
    team_name = serializers.SerializerMethodField()
    people = serializers.IntegerField()
    service_accounts = serializers.IntegerField()
    queries = serializers.IntegerField()
    users = UsageUserSerializer(many=True)

    def get_team_name(self, group) -> str:
        return group.team.name if group.team else gettext("No team")


class UsageTableUsersSerializer(PeriodSerializer):
    table = serializers.CharField(help_text=_("project.dataset.table"))
    people = serializers.IntegerField()
    service_accounts = serializers.IntegerField()
    teams = UsageTeamSerializer(
        many=True, help_text=_("By team name; users mapped to no team last.")
    )


class UsageJoinedRowSerializer(serializers.Serializer):
    tables = serializers.ListField(child=serializers.CharField(), help_text=_("In name order."))
    queries = serializers.IntegerField(help_text=_("Queries that read all of them."))
    users = serializers.IntegerField(help_text=_("Distinct people who ran those queries."))
    service_accounts = serializers.IntegerField()
    allocated_cost = AmountField(
        source="cost",
        help_text=_(
            "Allocated cost (USD, decimal string; list prices, not an invoice "
            "amount) of the queries that read these tables together."
        ),
    )
    currency = serializers.CharField(help_text=CURRENCY)


class UsageJoinedTablesSerializer(PeriodSerializer):
    size = serializers.IntegerField()
    rows = UsageJoinedRowSerializer(many=True)


class UsageCostRowSerializer(serializers.Serializer):
    key = serializers.CharField(
        allow_null=True,
        help_text=_(
            "Email, team slug, project, project.dataset.table, day or label value; "
            "null for the row of what has none (no team, no table, no label)."
        ),
    )
    # A field named like Field.label; DRF's metaclass takes declared fields off the class.
    label = serializers.CharField()  # type: ignore[assignment]
    queries = serializers.IntegerField()
    cache_hits = serializers.IntegerField()
    bytes_billed = serializers.IntegerField(
        help_text=_("By table: split evenly among the tables each query read.")
    )
    allocated_cost = AmountField(
        source="cost",
        help_text=_(
            "Allocated cost (USD, decimal string; list prices, not an invoice "
            "amount). By table: split evenly among the tables each query read."
        ),
    )
    currency = serializers.CharField(help_text=CURRENCY)


class UsageQueryCostSerializer(PeriodSerializer):
    by = serializers.CharField()
    rows = UsageCostRowSerializer(many=True)
    total = UsageCostRowSerializer(help_text=_("Every query of the period."))
    jobs_kept_from = serializers.DateField(
        allow_null=True,
        help_text=_(
            "By label: job rows are kept from this day on (retention), so label "
            "figures before it are missing. Null for the other groupings."
        ),
    )


class UsageQuerySerializer(serializers.Serializer):
    query_hash = serializers.CharField(help_text=_("SHA-256 of the query text."))
    query_text = serializers.CharField(
        allow_blank=True, help_text=_("Empty unless QUARTERDECK_JOBS_KEEP_QUERY_TEXT is on.")
    )
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    runs = serializers.IntegerField(help_text=_("Jobs that ran it, cache hits included."))
    users = serializers.IntegerField(help_text=_("Distinct people and service accounts."))
    bytes_billed = serializers.IntegerField()
    allocated_cost = AmountField(source="cost", help_text=ALLOCATED)
    currency = serializers.CharField(help_text=CURRENCY)


class UsageExpensiveQueriesSerializer(PeriodSerializer):
    jobs_kept_from = serializers.DateField(
        help_text=_("Job rows are kept from this day on (retention): runs before it are missing.")
    )
    rows = UsageQuerySerializer(many=True)


GAP = _("(allocated - billed) / billed x 100, two decimals; null when nothing was billed.")


class UsageReconciledDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    allocated_cost = AmountField(source="allocated", help_text=ALLOCATED)
    billed_cost = AmountField(
        source="billed",
        help_text=_(
            "BigQuery analysis, editions and slot SKUs of the billing export for "
            "this usage day (billing time zone), net of credits, USD."
        ),
    )
    gap_percent = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=True,
        help_text=GAP,
    )


class UsageReconciliationSerializer(PeriodSerializer):
    currency = serializers.CharField(help_text=CURRENCY)
    allocated_cost = AmountField(source="allocated", help_text=ALLOCATED)
    billed_cost = AmountField(source="billed", help_text=_("Billed, net of credits, USD."))
    gap_percent = serializers.DecimalField(
        max_digits=None,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=True,
        help_text=GAP,
    )
    unconverted_facts = serializers.IntegerField(
        help_text=_("Billing lines in another currency without a USD rate, left out.")
    )
    days = UsageReconciledDaySerializer(
        many=True,
        help_text=_(
            "Days with allocated or billed cost. Job days are UTC days, billing "
            "days are days in the billing time zone (America/Los_Angeles): a "
            "single day's gap carries some of its neighbours' queries."
        ),
    )
