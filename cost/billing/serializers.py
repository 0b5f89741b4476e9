"""Parameters and shapes of the cost API. Amounts travel as decimal strings, never floats."""

import datetime
import json
import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import (
    BLANK,
    DAY_SHAPE,
    MOMENT_SHAPE,
    MONTH_PATTERN,
    TEXT_PATTERN,
    YEARS_MESSAGE,
    TextParameter,
    amount,
    day_schema,
    moment_schema,
    year_in_range,
)
from cost.billing.breakdowns import GROUPINGS, LABEL_PREFIX, Query
from cost.models import ImportRun, to_decimal

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # installed with django-stubs, for mypy only

MONTH = re.compile(r"([0-9]{4})-?(0[1-9]|1[0-2])")
MAX_GROUPINGS = 6
MAX_VALUES = 50
MAX_LABEL_KEY, MAX_LABEL_VALUE = 128, 256
MAX_GROUPING = 140
# A label filter, key=value, the key not empty. The schema's patterns describe a value of a
# list as MultiValueField reads it: split at commas, the spaces around it trimmed.
LABEL = re.compile(rf"\A[^=\x00]{{1,{MAX_LABEL_KEY}}}=[^\n\x00]{{0,{MAX_LABEL_VALUE}}}\Z")
LABEL_PATTERN = (
    rf"^[^=,{BLANK}\x00][^=,\x00]{{0,{MAX_LABEL_KEY - 1}}}=[^,\n\x00]{{0,{MAX_LABEL_VALUE}}}$"
)
LABEL_GROUPING_PATTERN = (
    rf"^{LABEL_PREFIX}[^,\x00]{{0,{MAX_GROUPING - len(LABEL_PREFIX) - 1}}}[^,{BLANK}\x00]$"
)
MONTH_SCHEMA = {"type": "string", "pattern": f"^{MONTH_PATTERN}$"}
MONTH_OR_DAY_SCHEMA = {"anyOf": [MONTH_SCHEMA, day_schema()]}

# Rules between parameters, which OpenAPI cannot state: the API refuses a request that
# breaks one (400, naming the parameter), and period_rules() says so in the schema's
# description of each cost operation. tests/api/test_schema.py keeps the requests it
# generates as valid within these same rules.
NOT_BOTH = _("Give invoice_month or from/to, not both.")
DAYS_NEED_USAGE = _("Days need basis=usage: an invoice is for a whole month.")
SAME_KIND = _("Give from and to both as months or both as days.")
TO_BEFORE_FROM = _("to comes before from.")
# The words of cost.billing.breakdowns' BreakdownError, for the description.
NO_USD_RATE = "some of this billing data has no USD conversion rate; ask in the billing currency"


def period_rules(*, report: bool) -> str:
    """The rules between parameters, for an operation's description in the schema; a
    report (`report`) also converts to USD, which the facts do not."""
    rules: list[tuple[StrOrPromise, str, StrOrPromise]] = [
        (_("`invoice_month` or `from`/`to`, not both (`invoice_month` is an invoice month "
           "whatever the basis)"), "invoice_month", NOT_BOTH),
        (_("a day in `from` or `to` needs `basis=usage`"), "from", DAYS_NEED_USAGE),
        (_("`from` and `to` both months or both days"), "to", SAME_KIND),
        (_("`to` not before `from`"), "to", TO_BEFORE_FROM),
    ]  # fmt: skip
    if report:
        rules.append((_("`currency=USD` needs the export's USD rate on every line it sums"),
                      "currency", NO_USD_RATE))  # fmt: skip
    lines = [f"- {rule}: `{json.dumps({name: [str(message)]})}`" for rule, name, message in rules]
    intro = _("Rules between parameters, which the schema cannot state: a request that "
              "breaks one is refused with 400, its body naming the parameter.")  # fmt: skip
    return "\n".join([str(intro), "", *lines])


def nanos_amount(nanos: int | None) -> str | None:
    return amount(to_decimal(nanos))


class MultiValueField(serializers.ListField):
    """A parameter given several times (?project=a&project=b) or comma-separated, each
    value trimmed. The schema describes the repeated form, one value each time."""

    def get_value(self, dictionary):
        if self.field_name not in dictionary:
            return serializers.empty
        values = []
        for item in dictionary.getlist(self.field_name):
            values += [part.strip() for part in item.split(",") if part.strip()]
        return values


def text_value(max_length: int) -> TextParameter:
    """One value of a list filter: some text, at most `max_length` characters once trimmed."""
    schema = {"type": "string", "maxLength": max_length, "pattern": TEXT_PATTERN}
    return TextParameter(max_length=max_length, schema=schema)


def _day(text: str) -> datetime.date | None:
    """The day YYYY-MM-DD names; None when there is no such day (2026-02-30, 0000-01-01)."""
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def _month(match: re.Match, name: str, errors: dict) -> datetime.date | None:
    """The first day of a month MONTH matched, if its year is one the data may have."""
    if not year_in_range(int(match[1])):
        errors[name] = [YEARS_MESSAGE % {"text": match[0]}]
        return None
    return datetime.date(int(match[1]), int(match[2]), 1)


class CostFilterParameters(serializers.Serializer):
    """What cost-reports and cost-facts share: the period, the filters, the currency."""

    basis = serializers.ChoiceField(
        choices=["invoice", "usage"],
        default="invoice",
        help_text=_("Which month `from`, `to` and the month groupings mean: the invoice "
                    "month (matches the invoice) or the usage month (when it was used)."),
    )  # fmt: skip
    invoice_month = TextParameter(
        schema=MONTH_SCHEMA,
        required=False,
        help_text=_("One invoice month, YYYY-MM or YYYYMM; instead of from/to."),
    )
    project = MultiValueField(
        child=text_value(128), required=False, max_length=MAX_VALUES,
        help_text=_("Project ids; repeat the parameter or separate with commas."),
    )  # fmt: skip
    service = MultiValueField(
        child=text_value(256), required=False, max_length=MAX_VALUES,
        help_text=_("Service ids or descriptions (e.g. BigQuery)."),
    )  # fmt: skip
    sku = MultiValueField(
        child=text_value(256), required=False, max_length=MAX_VALUES,
        help_text=_("SKU ids or descriptions."),
    )  # fmt: skip
    team = MultiValueField(
        child=text_value(40), required=False, max_length=MAX_VALUES,
        help_text=_("Team slugs (from the allocation rules), or 'unallocated'."),
    )  # fmt: skip
    cost_type = MultiValueField(
        child=serializers.ChoiceField(choices=["regular", "tax", "adjustment", "rounding_error"]),
        required=False,
    )
    # A field named like Field.label; DRF's metaclass takes declared fields off the class.
    label = MultiValueField(  # type: ignore[assignment]
        child=TextParameter(
            schema={"type": "string", "pattern": LABEL_PATTERN},
            validators=[
                RegexValidator(LABEL, _("This value does not match the required pattern."))
            ],
        ),
        required=False,
        max_length=MAX_VALUES,
        help_text=_("Labels as key=value, e.g. team=ae; several must all hold."),
    )
    currency = serializers.ChoiceField(
        # usd is read as USD.
        choices=["billing", "USD", "usd"],
        default="billing",
        help_text=_("billing: each row in its billing currency (two currencies are never "
                    "added); USD: every amount converted with the export's own rates."),
    )  # fmt: skip
    as_of = TextParameter(
        schema=moment_schema(),
        required=False,
        help_text=_("An earlier moment: the figures as they were then, attributed with the "
                    "allocation rules of that moment. A day (YYYY-MM-DD: its end, UTC), or a "
                    "date and time (RFC 3339, e.g. 2026-11-20T09:00:00Z; UTC if it has no "
                    "offset)."),
    )  # fmt: skip

    def get_fields(self) -> dict:
        fields = super().get_fields()
        # `from` is a Python keyword, so these two are added by name.
        fields["from"] = TextParameter(
            schema=MONTH_OR_DAY_SCHEMA,
            required=False,
            help_text=_("First month (YYYY-MM or YYYYMM) or, with basis=usage, day (YYYY-MM-DD)."),
        )
        fields["to"] = TextParameter(
            schema=MONTH_OR_DAY_SCHEMA,
            required=False,
            help_text=_("Last month or day, included; written as `from`, not before it."),
        )
        return fields

    def validate_currency(self, value: str) -> str:
        return "USD" if value == "usd" else value

    def validate_as_of(self, value: str) -> datetime.datetime:
        if DAY_SHAPE.fullmatch(value):  # a day means its end: the figures as they stood then
            day = _day(value)
            if day is None:
                raise serializers.ValidationError(_("%(text)s is not a day.") % {"text": value})
            moment = datetime.datetime.combine(day, datetime.time.max)
        elif MOMENT_SHAPE.fullmatch(value):
            try:
                moment = datetime.datetime.fromisoformat(value)
            except ValueError:  # well formed, but no such moment (2026-02-30T09:00:00Z)
                raise serializers.ValidationError(
                    _("%(text)s is not a moment.") % {"text": value}
                ) from None
        else:
            raise serializers.ValidationError(
                _("Give a moment such as 2026-11-20T09:00:00Z (or a day, 2026-11-20).")
            )
        if not year_in_range(int(value[:4])):
            raise serializers.ValidationError(YEARS_MESSAGE % {"text": value})
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, datetime.UTC)
        # In UTC: PostgreSQL refuses offsets past 15 hours, which RFC 3339 allows (-20:00).
        return moment.astimezone(datetime.UTC)

    def validate(self, attrs: dict) -> dict:
        errors: dict[str, list[StrOrPromise]] = {}
        basis = attrs.get("basis", "invoice")
        first, first_day = self._moment(attrs.get("from"), "from", basis, errors)
        last, last_day = self._moment(attrs.get("to"), "to", basis, errors)
        if attrs.get("invoice_month"):
            if attrs.get("from") or attrs.get("to"):
                errors["invoice_month"] = [NOT_BOTH]
            month = MONTH.fullmatch(attrs["invoice_month"])
            if not month:
                errors["invoice_month"] = [_("Write the month as YYYY-MM, e.g. 2026-10.")]
            else:
                first = last = _month(month, "invoice_month", errors)
                attrs["basis"] = "invoice"
        if first_day != last_day and first and last:
            errors["to"] = [SAME_KIND]
        if first and last and first > last:
            errors["to"] = [TO_BEFORE_FROM]
        if errors:
            raise serializers.ValidationError(errors)
        attrs["first"], attrs["last"], attrs["by_day"] = first, last, first_day or last_day
        return attrs

    @staticmethod
    def _moment(text: str | None, name: str, basis: str, errors: dict):
        if not text:
            return None, False
        month = MONTH.fullmatch(text)
        if month:
            return _month(month, name, errors), False
        if DAY_SHAPE.fullmatch(text):
            day = _day(text)
            if day is None:
                errors[name] = [_("%(text)s is not a day.") % {"text": text}]
            elif not year_in_range(day.year):
                errors[name] = [YEARS_MESSAGE % {"text": text}]
                day = None
            elif basis != "usage":
                errors[name] = [DAYS_NEED_USAGE]
            return day, True
        errors[name] = [_("Write a month as YYYY-MM (or, with basis=usage, a day as "
                          "YYYY-MM-DD).")]  # fmt: skip
        return None, False

    def query(self, group_by: tuple[str, ...] = ()) -> Query:
        data = self.validated_data
        return Query(
            group_by=group_by,
            basis=data["basis"],
            first=data["first"],
            last=data["last"],
            by_day=data["by_day"],
            projects=tuple(data.get("project", ())),
            services=tuple(data.get("service", ())),
            skus=tuple(data.get("sku", ())),
            teams=tuple(data.get("team", ())),
            labels=tuple(tuple(item.split("=", 1)) for item in data.get("label", ())),
            cost_types=tuple(data.get("cost_type", ())),
            currency=data["currency"],
            as_of=data.get("as_of"),
        )


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "anyOf": [
                {"type": "string", "enum": list(GROUPINGS)},
                {"type": "string", "pattern": LABEL_GROUPING_PATTERN},
            ]
        },
        "maxItems": MAX_GROUPINGS,
        "uniqueItems": True,
    }
)
class GroupingsField(MultiValueField):
    """`group_by`: the groupings, each named once (ReportParameters.validate_group_by)."""


class ReportParameters(CostFilterParameters):
    group_by = GroupingsField(
        child=serializers.CharField(max_length=MAX_GROUPING),
        required=False,
        help_text=_("Up to %(most)s of: %(names)s, label:<key> (e.g. label:team), each once.")
        % {"most": MAX_GROUPINGS, "names": ", ".join(GROUPINGS)},
    )

    def validate_group_by(self, names: list[str]) -> list[str]:
        problems: list[StrOrPromise] = []
        for name in names:
            if name.startswith(LABEL_PREFIX):
                if not name[len(LABEL_PREFIX) :]:
                    problems.append(_("label: needs a key, e.g. label:team."))
            elif name not in GROUPINGS:
                problems.append(
                    _("%(name)r is not a grouping; use %(names)s or label:<key>.")
                    % {"name": name, "names": ", ".join(GROUPINGS)}
                )
        if len(set(names)) != len(names):
            problems.append(_("A grouping is named twice."))
        if len(names) > MAX_GROUPINGS:
            problems.append(_("At most %s groupings.") % MAX_GROUPINGS)
        if problems:
            raise serializers.ValidationError(problems)
        return names

    def query(self, group_by: tuple[str, ...] = ()) -> Query:
        return super().query(tuple(self.validated_data.get("group_by", ())))


class FactParameters(CostFilterParameters):
    focus = serializers.BooleanField(
        default=False,
        help_text=_("1: the facts with FinOps FOCUS column names (BilledCost, ...)."),
    )


# --- Response shapes (for the OpenAPI schema; the views build plain dicts) -------------------


class AmountsSerializer(serializers.Serializer):
    cost = serializers.CharField(help_text=_("Decimal string, full precision."))
    credits = serializers.CharField(help_text=_("Decimal string (credits are negative)."))
    net_cost = serializers.CharField(help_text=_("cost + credits, decimal string."))
    currency = serializers.CharField(help_text=_("ISO 4217 code."))


class ReportRowSerializer(AmountsSerializer):
    """The grouping keys asked for (null where a row has no value), then the amounts."""

    invoice_month = serializers.CharField(required=False, allow_null=True)
    usage_month = serializers.CharField(required=False, allow_null=True)
    usage_day = serializers.CharField(required=False, allow_null=True)
    project = serializers.CharField(required=False, allow_null=True)
    project_name = serializers.CharField(required=False, allow_null=True)
    service_id = serializers.CharField(required=False, allow_null=True)
    service = serializers.CharField(required=False, allow_null=True)
    sku_id = serializers.CharField(required=False, allow_null=True)
    sku = serializers.CharField(required=False, allow_null=True)
    region = serializers.CharField(required=False, allow_null=True)
    cost_type = serializers.CharField(required=False, allow_null=True)
    team = serializers.CharField(required=False, allow_null=True)
    team_name = serializers.CharField(required=False, allow_null=True)
    roadmap_item = serializers.CharField(required=False, allow_null=True)
    roadmap_item_title = serializers.CharField(required=False, allow_null=True)
    credit_type = serializers.CharField(required=False, allow_null=True)
    resource = serializers.CharField(
        required=False,
        allow_null=True,
        help_text=_(
            "With group_by=resource: the resource's global name (detailed and FOCUS exports), "
            '"(other)" for the resources beyond the most costly of their day and SKU, null '
            "where the export names none."
        ),
    )


class ReportSerializer(serializers.Serializer):
    group_by = serializers.ListField(child=serializers.CharField())
    basis = serializers.CharField()
    currency = serializers.CharField(help_text=_("billing or USD"))
    as_of = serializers.DateTimeField(allow_null=True)
    data_as_of = serializers.DateTimeField(
        allow_null=True, help_text=_("When the figures last changed (newest month version).")
    )
    complete_through = serializers.DateField(
        allow_null=True, help_text=_("The newest usage day in the data.")
    )
    rows = ReportRowSerializer(many=True)
    totals = AmountsSerializer(many=True, help_text=_("One per currency."))


def report_json(breakdown) -> dict:
    def row_json(row) -> dict:
        return {**row.keys, "cost": amount(row.cost), "credits": amount(row.credits),
                "net_cost": amount(row.net_cost), "currency": row.currency}  # fmt: skip

    query = breakdown.query
    return {
        "group_by": list(query.group_by),
        "basis": query.basis,
        "currency": query.currency,
        "as_of": query.as_of,
        "data_as_of": breakdown.data_as_of,
        "complete_through": breakdown.complete_through,
        "rows": [row_json(row) for row in breakdown.rows],
        "totals": [
            {
                "cost": amount(t.cost),
                "credits": amount(t.credits),
                "net_cost": amount(t.net_cost),
                "currency": t.currency,
            }
            for t in breakdown.totals
        ],
    }


def report_columns(breakdown) -> list[str]:
    return [*breakdown.key_names, "cost", "credits", "net_cost", "currency"]


# --- Facts ---------------------------------------------------------------------------------

FACT_COLUMNS = [
    "id", "invoice_month", "usage_date", "billing_account_id", "project_id", "project_name",
    "service_id", "service_description", "sku_id", "sku_description", "location", "region",
    "cost_type", "currency", "is_correction", "usage_amount", "usage_unit",
    "usage_in_pricing_units", "pricing_unit", "cost", "credits", "net_cost", "cost_at_list",
    "cost_usd", "credits_usd", "labels", "project_labels", "team", "roadmap_item",
    "row_count", "last_export_time",
]  # fmt: skip
FACT_VALUES = [
    "id", "invoice_month", "usage_date", "billing_account_id", "project_id", "project_name",
    "service_id", "service_description", "sku_id", "sku_description", "location", "region",
    "cost_type", "currency", "is_correction", "usage_amount", "usage_unit",
    "usage_in_pricing_units", "pricing_unit", "cost_nanos", "credits_nanos",
    "cost_at_list_nanos", "cost_usd_nanos", "credits_usd_nanos", "label_set__labels",
    "label_set__project_labels", "allocation_rule__team__slug",
    "allocation_rule__roadmap_item_id", "row_count", "last_export_time",
]  # fmt: skip


def fact_record(values: tuple) -> dict:
    """One fact from FACT_VALUES (a values_list row) as the API shows it."""
    (pk, invoice_month, usage_date, account, project_id, project_name, service_id,
     service, sku_id, sku, location, region, cost_type, currency, correction, usage,
     usage_unit, in_pricing, pricing_unit, cost, credits, at_list, cost_usd, credits_usd,
     labels, project_labels, team, item, row_count, exported) = values  # fmt: skip
    return {
        "id": pk,
        "invoice_month": f"{invoice_month[:4]}-{invoice_month[4:]}",
        "usage_date": usage_date.isoformat(),
        "billing_account_id": account,
        "project_id": project_id,
        "project_name": project_name,
        "service_id": service_id,
        "service_description": service,
        "sku_id": sku_id,
        "sku_description": sku,
        "location": location,
        "region": region,
        "cost_type": cost_type,
        "currency": currency,
        "is_correction": correction,
        "usage_amount": amount(usage),
        "usage_unit": usage_unit,
        "usage_in_pricing_units": amount(in_pricing),
        "pricing_unit": pricing_unit,
        "cost": nanos_amount(cost),
        "credits": nanos_amount(credits),
        "net_cost": nanos_amount(cost + credits),
        "cost_at_list": nanos_amount(at_list),
        "cost_usd": nanos_amount(cost_usd),
        "credits_usd": nanos_amount(credits_usd),
        "labels": labels or {},
        "project_labels": project_labels or {},
        "team": team,
        "roadmap_item": item,
        "row_count": row_count,
        "last_export_time": exported.isoformat() if exported else None,
    }


class FactSerializer(serializers.Serializer):
    """A daily fact: one SKU, one project, one label set, one usage day (billing time zone)."""

    id = serializers.IntegerField()
    invoice_month = serializers.CharField()
    usage_date = serializers.DateField()
    billing_account_id = serializers.CharField()
    project_id = serializers.CharField()
    project_name = serializers.CharField()
    service_id = serializers.CharField()
    service_description = serializers.CharField()
    sku_id = serializers.CharField()
    sku_description = serializers.CharField()
    location = serializers.CharField()
    region = serializers.CharField()
    cost_type = serializers.CharField()
    currency = serializers.CharField()
    is_correction = serializers.BooleanField()
    usage_amount = serializers.CharField(allow_null=True)
    usage_unit = serializers.CharField()
    usage_in_pricing_units = serializers.CharField(allow_null=True)
    pricing_unit = serializers.CharField()
    cost = serializers.CharField()
    credits = serializers.CharField()
    net_cost = serializers.CharField()
    cost_at_list = serializers.CharField(allow_null=True)
    cost_usd = serializers.CharField(allow_null=True)
    credits_usd = serializers.CharField(allow_null=True)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    project_labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    team = serializers.CharField(allow_null=True)
    roadmap_item = serializers.IntegerField(allow_null=True)
    row_count = serializers.IntegerField()
    last_export_time = serializers.DateTimeField(allow_null=True)


# --- FinOps FOCUS --------------------------------------------------------------------------

CHARGE_CATEGORY = {"regular": "Usage", "tax": "Tax", "adjustment": "Adjustment",
                   "rounding_error": "Adjustment"}  # fmt: skip
FOCUS_COLUMNS = [
    "BilledCost", "EffectiveCost", "ListCost", "BillingCurrency", "ChargePeriodStart",
    "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd", "ChargeCategory",
    "ChargeClass", "BillingAccountId", "SubAccountId", "SubAccountName", "ServiceName",
    "SkuId", "RegionId", "ConsumedQuantity", "ConsumedUnit", "PricingQuantity",
    "PricingUnit", "Tags", "x_ServiceId", "x_SkuDescription", "x_CostType", "x_Credits",
    "x_InvoiceMonth", "x_Team", "x_FactId",
]  # fmt: skip


def _local_midnight(day: datetime.date) -> str:
    """Charge and billing periods start at midnight in the billing time zone."""
    zone = ZoneInfo(settings.QUARTERDECK_BILLING_TIME_ZONE)
    return datetime.datetime.combine(day, datetime.time(0), zone).isoformat()


def focus_record(fact: dict) -> dict:
    """Google's published mapping of the billing export to FOCUS, for one daily fact."""
    day = datetime.date.fromisoformat(fact["usage_date"])
    invoice = datetime.date.fromisoformat(fact["invoice_month"] + "-01")
    next_invoice = (invoice + datetime.timedelta(days=32)).replace(day=1)
    return {
        "BilledCost": fact["net_cost"],
        "EffectiveCost": fact["net_cost"],
        "ListCost": fact["cost_at_list"],
        "BillingCurrency": fact["currency"],
        "ChargePeriodStart": _local_midnight(day),
        "ChargePeriodEnd": _local_midnight(day + datetime.timedelta(days=1)),
        "BillingPeriodStart": _local_midnight(invoice),
        "BillingPeriodEnd": _local_midnight(next_invoice),
        "ChargeCategory": CHARGE_CATEGORY.get(fact["cost_type"], "Usage"),
        "ChargeClass": "Correction" if fact["is_correction"] else None,
        "BillingAccountId": fact["billing_account_id"],
        "SubAccountId": fact["project_id"] or None,
        "SubAccountName": fact["project_name"] or None,
        "ServiceName": fact["service_description"],
        "SkuId": fact["sku_id"],
        "RegionId": fact["region"] or fact["location"] or None,
        "ConsumedQuantity": fact["usage_amount"],
        "ConsumedUnit": fact["usage_unit"] or None,
        "PricingQuantity": fact["usage_in_pricing_units"],
        "PricingUnit": fact["pricing_unit"] or None,
        "Tags": {**fact["project_labels"], **fact["labels"]},
        "x_ServiceId": fact["service_id"],
        "x_SkuDescription": fact["sku_description"],
        "x_CostType": fact["cost_type"],
        "x_Credits": fact["credits"],
        "x_InvoiceMonth": fact["invoice_month"],
        "x_Team": fact["team"],
        "x_FactId": fact["id"],
    }


class FocusSerializer(serializers.Serializer):
    BilledCost = serializers.CharField()
    EffectiveCost = serializers.CharField()
    ListCost = serializers.CharField(allow_null=True)
    BillingCurrency = serializers.CharField()
    ChargePeriodStart = serializers.DateTimeField()
    ChargePeriodEnd = serializers.DateTimeField()
    BillingPeriodStart = serializers.DateTimeField()
    BillingPeriodEnd = serializers.DateTimeField()
    ChargeCategory = serializers.ChoiceField(choices=["Usage", "Tax", "Adjustment"])
    ChargeClass = serializers.CharField(allow_null=True)
    BillingAccountId = serializers.CharField()
    SubAccountId = serializers.CharField(allow_null=True)
    SubAccountName = serializers.CharField(allow_null=True)
    ServiceName = serializers.CharField()
    SkuId = serializers.CharField()
    RegionId = serializers.CharField(allow_null=True)
    ConsumedQuantity = serializers.CharField(allow_null=True)
    ConsumedUnit = serializers.CharField(allow_null=True)
    PricingQuantity = serializers.CharField(allow_null=True)
    PricingUnit = serializers.CharField(allow_null=True)
    Tags = serializers.DictField(child=serializers.CharField(allow_blank=True))
    x_ServiceId = serializers.CharField()
    x_SkuDescription = serializers.CharField()
    x_CostType = serializers.CharField()
    x_Credits = serializers.CharField()
    x_InvoiceMonth = serializers.CharField()
    x_Team = serializers.CharField(allow_null=True)
    x_FactId = serializers.IntegerField()


# --- Imports -------------------------------------------------------------------------------


class ImportRunSerializer(serializers.ModelSerializer):
    # Fields named like Field.source; DRF's metaclass takes declared fields off the class.
    source = serializers.CharField(source="source.name")  # type: ignore[assignment]
    started_by = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(allow_null=True)

    class Meta:
        model = ImportRun
        fields = ["id", "source", "status", "started_at", "finished_at", "duration_seconds",
                  "started_by", "files", "months", "rows_read", "bytes_read", "facts_written",
                  "error"]  # fmt: skip

    def get_started_by(self, run: ImportRun) -> str:
        return run.started_by.get_username() if run.started_by else run.started_by_name


class SourceFreshnessSerializer(serializers.Serializer):
    source = serializers.CharField()  # type: ignore[assignment]  # named like Field.source
    kind = serializers.CharField()
    complete_through = serializers.DateField(allow_null=True)
    last_success = serializers.DateTimeField(allow_null=True)
    last_status = serializers.CharField(allow_null=True)
