"""Parameters and shapes of the cost API. Amounts travel as decimal strings, never floats."""

import datetime
import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import dateparse, timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api import FIRST_YEAR, LAST_YEAR, YEARS_MESSAGE, amount
from cost.billing.breakdowns import GROUPINGS, LABEL_PREFIX, Query
from cost.models import ImportRun, to_decimal

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # installed with django-stubs, for mypy only

MONTH = re.compile(r"^(\d{4})-?(0[1-9]|1[0-2])$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_GROUPINGS = 6
MAX_VALUES = 50


def nanos_amount(nanos: int | None) -> str | None:
    return amount(to_decimal(nanos))


class MultiValueField(serializers.ListField):
    """A parameter given several times (?project=a&project=b) or comma-separated."""

    def get_value(self, dictionary):
        if self.field_name not in dictionary:
            return serializers.empty
        values = []
        for item in dictionary.getlist(self.field_name):
            values += [part.strip() for part in item.split(",") if part.strip()]
        return values


def _day(text: str) -> datetime.date | None:
    """The day YYYY-MM-DD names; None when there is no such day (2026-02-30, 0000-01-01)."""
    try:
        return dateparse.parse_date(text)
    except ValueError:
        return None


def _month(match: re.Match, name: str, errors: dict) -> datetime.date | None:
    """The first day of a month MONTH matched, if its year is one the data may have."""
    if not FIRST_YEAR <= int(match[1]) <= LAST_YEAR:
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
    invoice_month = serializers.CharField(
        required=False, help_text=_("One invoice month, YYYY-MM or YYYYMM; instead of from/to.")
    )
    project = MultiValueField(
        child=serializers.CharField(max_length=128), required=False, max_length=MAX_VALUES,
        help_text=_("Project ids; repeat the parameter or separate with commas."),
    )  # fmt: skip
    service = MultiValueField(
        child=serializers.CharField(max_length=256), required=False, max_length=MAX_VALUES,
        help_text=_("Service ids or descriptions (e.g. BigQuery)."),
    )  # fmt: skip
    sku = MultiValueField(
        child=serializers.CharField(max_length=256), required=False, max_length=MAX_VALUES,
        help_text=_("SKU ids or descriptions."),
    )  # fmt: skip
    team = MultiValueField(
        child=serializers.CharField(max_length=40), required=False, max_length=MAX_VALUES,
        help_text=_("Team slugs (from the allocation rules), or 'unallocated'."),
    )  # fmt: skip
    cost_type = MultiValueField(
        child=serializers.ChoiceField(choices=["regular", "tax", "adjustment", "rounding_error"]),
        required=False,
    )
    # A field named like Field.label; DRF's metaclass takes declared fields off the class.
    label = MultiValueField(  # type: ignore[assignment]
        child=serializers.RegexField(r"^[^=]{1,128}=.{0,256}$"),
        required=False,
        max_length=MAX_VALUES,
        help_text=_("Labels as key=value, e.g. team=ae; several must all hold."),
    )
    currency = serializers.ChoiceField(
        choices=["billing", "USD"],
        default="billing",
        help_text=_("billing: each row in its billing currency (two currencies are never "
                    "added); USD: every amount converted with the export's own rates."),
    )  # fmt: skip
    as_of = serializers.CharField(
        required=False,
        help_text=_("An earlier moment (ISO 8601, e.g. 2026-11-20T09:00:00Z): the figures "
                    "as they were then."),
    )  # fmt: skip

    def get_fields(self) -> dict:
        fields = super().get_fields()
        # `from` is a Python keyword, so these two are added by name.
        fields["from"] = serializers.CharField(
            required=False, help_text=_("First month (YYYY-MM) or, with basis=usage, day.")
        )
        fields["to"] = serializers.CharField(
            required=False, help_text=_("Last month (YYYY-MM) or day, included.")
        )
        return fields

    def to_internal_value(self, data) -> dict:
        # Case-insensitive currency: usd and USD are the same request.
        if "currency" in data and data.get("currency", "").lower() == "usd":
            data = data.copy()
            data["currency"] = "USD"
        return super().to_internal_value(data)

    def validate_as_of(self, value: str) -> datetime.datetime:
        moment: datetime.datetime | None
        if DAY.match(value):  # a day means its end: the figures as they stood that evening
            day = _day(value)
            if day is None:
                raise serializers.ValidationError(_("%(text)s is not a day.") % {"text": value})
            moment = datetime.datetime.combine(day, datetime.time.max)
        else:
            try:
                moment = dateparse.parse_datetime(value)
            except ValueError:  # well formed, but no such moment (2026-02-30T09:00)
                raise serializers.ValidationError(
                    _("%(text)s is not a moment.") % {"text": value}
                ) from None
            if moment is None:
                raise serializers.ValidationError(
                    _("Give a moment such as 2026-11-20T09:00:00Z (or a day, 2026-11-20).")
                )
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, datetime.UTC)
        return moment

    def validate(self, attrs: dict) -> dict:
        errors: dict[str, list[StrOrPromise]] = {}
        basis = attrs.get("basis", "invoice")
        first, first_day = self._moment(attrs.get("from"), "from", basis, errors)
        last, last_day = self._moment(attrs.get("to"), "to", basis, errors)
        if attrs.get("invoice_month"):
            if attrs.get("from") or attrs.get("to"):
                errors["invoice_month"] = [_("Give invoice_month or from/to, not both.")]
            month = MONTH.match(attrs["invoice_month"])
            if not month:
                errors["invoice_month"] = [_("Write the month as YYYY-MM, e.g. 2026-10.")]
            else:
                first = last = _month(month, "invoice_month", errors)
                attrs["basis"] = "invoice"
        if first_day != last_day and first and last:
            errors["to"] = [_("Give from and to both as months or both as days.")]
        if first and last and first > last:
            errors["to"] = [_("to comes before from.")]
        if errors:
            raise serializers.ValidationError(errors)
        attrs["first"], attrs["last"], attrs["by_day"] = first, last, first_day or last_day
        return attrs

    @staticmethod
    def _moment(text: str | None, name: str, basis: str, errors: dict):
        if not text:
            return None, False
        month = MONTH.match(text)
        if month:
            return _month(month, name, errors), False
        if DAY.match(text):
            day = _day(text)
            if day is None:
                errors[name] = [_("%(text)s is not a day.") % {"text": text}]
            elif not FIRST_YEAR <= day.year <= LAST_YEAR:
                errors[name] = [YEARS_MESSAGE % {"text": text}]
                day = None
            elif basis != "usage":
                errors[name] = [_("Days need basis=usage: an invoice is for a whole month.")]
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


class ReportParameters(CostFilterParameters):
    group_by = MultiValueField(
        child=serializers.CharField(max_length=140),
        required=False,
        help_text=_("One or more of: %(names)s, label:<key>.") % {"names": ", ".join(GROUPINGS)},
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
