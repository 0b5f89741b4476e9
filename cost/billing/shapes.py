"""The three billing exports Google writes, and how each becomes the same daily facts.

- **standard** usage cost export, `gcp_billing_export_v1_<ACCOUNT>`:
  https://cloud.google.com/billing/docs/how-to/export-data-bigquery-tables/standard-usage
- **detailed** usage cost export, `gcp_billing_export_resource_v1_<ACCOUNT>`: the
  standard columns plus `resource.name`, `resource.global_name` (and `price.*`,
  `subscription.*`, which the facts do not keep):
  https://cloud.google.com/billing/docs/how-to/export-data-bigquery-tables/detailed-usage
  A fact's resource is `resource.global_name` (unique), else `resource.name`.
- **FOCUS** export (Preview), `gcp_billing_export_focus_<ACCOUNT>`: FinOps FOCUS columns
  plus Google's `x_` columns, mapped back onto the standard export's fields
  (FOCUS_FIELDS below) following the FOCUS export's schema page,
  https://cloud.google.com/billing/docs/how-to/export-data-bigquery-tables/focus-export,
  whose columns "generally map to the fields in the Detailed usage cost export".

FOCUS carries no gross cost: `BilledCost` (= `EffectiveCost`) is the cost after credits,
`cost + SUM(credits.amount)` on that page, so the cost before credits is
`BilledCost - SUM(x_Credits.Amount)`. What FOCUS does not carry, the facts leave blank or
take from elsewhere:
- `invoice.month` comes from `BillingPeriodStart` (midnight of the invoice month's first
  day in America/Los_Angeles, where Google cuts invoices);
- `cost_type` is `x_CostType`, else `ChargeCategory` in lower case (Usage -> regular);
- a correction is `ChargeClass = Correction` (the export has no `adjustment_info`);
- the SKU description is `ChargeDescription`; a row with no `SkuId` (Google leaves it
  empty on tax and adjustment rows) gets the SKU id "(none)";
- `ConsumedQuantity/ConsumedUnit` are the usage, `PricingQuantity/PricingUnit` the usage
  in pricing units;
- resource labels are `x_Labels`, project labels `x_ProjectLabels`; `Tags`, `x_Tags` and
  `x_SystemLabels` are not read (nor are they in the standard facts);
- `EffectiveCost`, `ContractedCost`, the unit prices, `SubAccountId` and the commitment
  columns are not read.

Files of the FOCUS shape are rewritten row by row into the standard shape (`focus_row`),
so every shape goes through the same query and the same checks; a pull maps the columns in
BigQuery with the same rules (cost.billing.pull FOCUS_AS_STANDARD).
"""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cost.billing.rows import BadInput, _not_a_number, _number, parse_timestamp
from cost.models.billing import BillingSource

STANDARD = BillingSource.Shape.STANDARD.value
DETAILED = BillingSource.Shape.DETAILED.value
FOCUS = BillingSource.Shape.FOCUS.value
SHAPES = (STANDARD, DETAILED, FOCUS)
SHAPE_NAMES = {
    STANDARD: gettext_lazy("standard usage cost export"),
    DETAILED: gettext_lazy("detailed usage cost export"),
    FOCUS: gettext_lazy("FOCUS export"),
}

# Columns only a FOCUS row has (all three are required of it), and the one only a detailed
# row has (a record, present even where Google names no resource).
FOCUS_REQUIRED = ("BilledCost", "BillingCurrency", "ChargePeriodStart")
DETAILED_MARKER = "resource"
NO_SKU = "(none)"
INVOICE_ZONE = ZoneInfo("America/Los_Angeles")

# FOCUS column -> the standard field it becomes; a problem found in the standard row is
# reported under the FOCUS name, so the message names a column the file has.
FOCUS_FIELDS = {
    "billing_account_id": "BillingAccountId",
    "service.id": "x_ServiceId",
    "service.description": "ServiceName",
    "sku.id": "SkuId",
    "sku.description": "ChargeDescription",
    "usage_start_time": "ChargePeriodStart",
    "usage_end_time": "ChargePeriodEnd",
    "invoice.month": "BillingPeriodStart",
    "project.id": "x_Project.Id",
    "project.number": "x_Project.Number",
    "project.name": "x_Project.Name",
    "project.ancestry_numbers": "x_Project.AncestryNumbers",
    "project.labels": "x_ProjectLabels",
    "labels": "x_Labels",
    "location.location": "x_Location",
    "location.region": "RegionId",
    "resource.global_name": "ResourceId",
    "resource.name": "ResourceName",
    "cost": "BilledCost",
    "cost_at_list": "ListCost",
    "currency": "BillingCurrency",
    "currency_conversion_rate": "x_CurrencyConversionRate",
    "usage.amount": "ConsumedQuantity",
    "usage.unit": "ConsumedUnit",
    "usage.amount_in_pricing_units": "PricingQuantity",
    "usage.pricing_unit": "PricingUnit",
    "credits": "x_Credits",
    "export_time": "x_ExportTime",
    "cost_type": "x_CostType",
}
# CSV cells holding a FOCUS repeated column (JSON or a Python literal, as for the standard
# export's; cost.billing.files REPEATED).
FOCUS_REPEATED = {"x_Credits", "x_Labels", "x_ProjectLabels", "x_SystemLabels", "x_Tags", "Tags"}


class WrongShape(Exception):
    def __init__(self, problems: list[BadInput]):
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def detect(keys: Iterable[str]) -> str:
    """The shape of a row (or a CSV header) with these top-level columns."""
    names = {key.split(".", 1)[0] for key in keys}
    if any(name in names for name in FOCUS_REQUIRED):
        return FOCUS
    if DETAILED_MARKER in names:
        return DETAILED
    return STANDARD


def choose(found: list[tuple[str, set[str]]], given: str | None) -> str:
    """The shape of an import: `given` (checked against every file's first row), or the
    one every file's first row shows. `found` is (file name, first row's columns).
    Raise WrongShape naming file, line 1 and the missing column otherwise."""
    problems = []
    if given is not None:
        for name, keys in found:
            shown = detect(keys)
            top = {key.split(".", 1)[0] for key in keys}
            if given == FOCUS and (missing := [c for c in FOCUS_REQUIRED if c not in top]):
                problems.append(BadInput(name, 1, missing[0], _missing(given, shown)))
            elif given == DETAILED and DETAILED_MARKER not in top:
                problems.append(BadInput(name, 1, "resource", _missing(given, shown)))
            elif given != FOCUS and shown == FOCUS:
                problems.append(BadInput(name, 1, "cost", _missing(given, shown)))
        if problems:
            raise WrongShape(problems)
        return given
    shapes = [(name, detect(keys)) for name, keys in found]
    first_name, first = shapes[0]
    for name, shape in shapes[1:]:
        if shape != first:
            message = _(
                "looks like the %(shape)s, while %(first_file)s looks like the "
                "%(first_shape)s: import each export on its own"
            ) % {"shape": SHAPE_NAMES[shape], "first_file": first_name,
                 "first_shape": SHAPE_NAMES[first]}  # fmt: skip
            problems.append(BadInput(name, 1, None, message))
    if problems:
        raise WrongShape(problems)
    return first


def _missing(given: str, shown: str) -> str:
    wanted = {
        FOCUS: _("a FOCUS export row has BilledCost, BillingCurrency, ChargePeriodStart"),
        DETAILED: _("a detailed export row has resource.name and resource.global_name"),
        STANDARD: _("a standard export row has cost, currency and usage_start_time"),
    }[given]
    return _("missing: %(wanted)s; the file looks like the %(shape)s (--shape %(option)s)") % {
        "wanted": wanted,
        "shape": SHAPE_NAMES[shown],
        "option": shown,
    }


def shape_of_table(table: str) -> str | None:
    """The shape Google's own table name says, or None (a view, a copy)."""
    name = table.rsplit(".", 1)[-1]
    if name.startswith("gcp_billing_export_resource_v1_"):
        return DETAILED
    if name.startswith("gcp_billing_export_focus_"):
        return FOCUS
    if name.startswith("gcp_billing_export_v1_"):
        return STANDARD
    return None


# --- FOCUS rows -> standard rows ----------------------------------------------------------


def _get(row: dict[str, Any], *names: str) -> Any:
    """The first of `names` the row has (Google's structs say Key/Value, Id, Amount...;
    a tool's copy may say key/value)."""
    for name in names:
        if name in row:
            return row[name]
    return None


def _pairs(value: Any) -> Any:
    if not isinstance(value, list):
        return value  # the standard checks say what is wrong with it
    return [
        {"key": _get(pair, "Key", "key"), "value": _get(pair, "Value", "value")}
        if isinstance(pair, dict) else pair
        for pair in value
    ]  # fmt: skip


def _text(amount: Decimal) -> str:
    return format(amount, "f")


def focus_row(row: object) -> tuple[dict | None, list[tuple[str, str]]]:
    """A FOCUS export row as the standard export's row, or the (FOCUS field, problem)
    pairs that stop it; the standard checks (cost.billing.rows.check_row) run after."""
    if not isinstance(row, dict):
        return None, [("-", "expected a JSON object")]
    problems = [(name, "missing") for name in (*FOCUS_REQUIRED, "BillingPeriodStart")
                if row.get(name) in (None, "")]  # fmt: skip
    billed = _number(row.get("BilledCost"))
    if row.get("BilledCost") not in (None, "") and billed is None:
        problems.append(("BilledCost", _not_a_number(row["BilledCost"])))
    credits = row.get("x_Credits") or []
    standard_credits: Any = credits
    credit_sum = Decimal(0)
    if isinstance(credits, list):
        standard_credits = []
        for index, credit in enumerate(credits):
            if not isinstance(credit, dict):
                problems.append((f"x_Credits[{index}]", "expected a record"))
                continue
            amount = _number(_get(credit, "Amount", "amount"))
            if amount is None:
                problems.append((f"x_Credits[{index}].Amount",
                                 _not_a_number(_get(credit, "Amount", "amount"))))  # fmt: skip
                continue
            credit_sum += amount
            standard_credits.append({"type": _get(credit, "Type", "type"), "amount": _text(amount)})
    elif credits is not None:
        problems.append(("x_Credits", "expected a list of records"))
    month = None
    if row.get("BillingPeriodStart") not in (None, ""):
        start = parse_timestamp(row["BillingPeriodStart"])
        if start is None:
            problems.append(("BillingPeriodStart", f"{row['BillingPeriodStart']!r} is not a time"))
        else:
            month = f"{start.astimezone(INVOICE_ZONE):%Y%m}"
    if problems:
        return None, problems
    project: dict[str, Any] = row["x_Project"] if isinstance(row.get("x_Project"), dict) else {}
    charge_class = row.get("ChargeClass")
    is_correction = isinstance(charge_class, str) and charge_class.lower() == "correction"
    category = str(row.get("ChargeCategory") or "").lower()
    cost_type = row.get("x_CostType") or ("regular" if category == "usage" else category)
    standard = {
        "billing_account_id": row.get("BillingAccountId"),
        "service": {"id": row.get("x_ServiceId"), "description": row.get("ServiceName")},
        "sku": {"id": row.get("SkuId") or NO_SKU, "description": row.get("ChargeDescription")},
        "usage_start_time": row.get("ChargePeriodStart"),
        "usage_end_time": row.get("ChargePeriodEnd"),
        "project": {
            "id": _get(project, "Id", "id"),
            "number": _get(project, "Number", "number"),
            "name": _get(project, "Name", "name"),
            "ancestry_numbers": _get(project, "AncestryNumbers", "ancestry_numbers"),
            "labels": _pairs(row.get("x_ProjectLabels") or []),
        },
        "labels": _pairs(row.get("x_Labels") or []),
        "location": {"location": row.get("x_Location"), "region": row.get("RegionId")},
        "resource": {"global_name": row.get("ResourceId"), "name": row.get("ResourceName")},
        "export_time": row.get("x_ExportTime"),
        "cost": _text(billed - credit_sum) if billed is not None else None,
        "currency": row.get("BillingCurrency"),
        "currency_conversion_rate": row.get("x_CurrencyConversionRate"),
        "usage": {
            "amount": row.get("ConsumedQuantity"),
            "unit": row.get("ConsumedUnit"),
            "amount_in_pricing_units": row.get("PricingQuantity"),
            "pricing_unit": row.get("PricingUnit"),
        },
        "credits": standard_credits,
        "invoice": {"month": month},
        "cost_type": cost_type or None,
        "cost_at_list": row.get("ListCost"),
        "adjustment_info": {"type": "CORRECTION"} if is_correction else None,
    }
    return standard, []


def focus_field(standard: str) -> str:
    """The FOCUS column a problem in the standard row's `standard` field comes from."""
    head, bracket, rest = standard.partition("[")
    if head in FOCUS_FIELDS:
        name = FOCUS_FIELDS[head]
        if bracket:
            index, _close, tail = rest.partition("]")
            tail = {".key": ".Key", ".value": ".Value", ".amount": ".Amount",
                    ".type": ".Type"}.get(tail, tail)  # fmt: skip
            return f"{name}[{index}]{tail}"
        return name
    return standard
