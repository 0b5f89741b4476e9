"""A realistic, reproducible Cloud Billing export, for the demo, the benchmarks and tests.

A data team's year of Google Cloud: projects per team, BigQuery analysis and storage,
Cloud Storage, Compute, Logging; hourly rows shaped like `bq extract` writes them;
credits (free tier, committed use, promotions); a tax row per month; late rows billed on
the next invoice month; a correction (adjustment_info) on a later invoice month.
Amounts are Decimal with six places, written as JSON numbers, so a test can sum the file
independently and compare to what was imported.
"""

import datetime
import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

MICRO = Decimal("0.000001")
BIGQUERY = ("24E6-581D-38E5", "BigQuery")
STORAGE = ("95FF-2EF5-5EA1", "Cloud Storage")
COMPUTE = ("6F81-5844-456A", "Compute Engine")
LOGGING = ("5490-F7B7-8DF6", "Cloud Logging")
SKUS = {
    "analysis": (BIGQUERY, "F17B-412E-CB64", "Analysis", "tebibyte", Decimal("6.25")),
    "active": (BIGQUERY, "95FF-2EF5-5EA2", "Active Logical Storage", "gibibyte month",
               Decimal("0.02")),
    "longterm": (BIGQUERY, "95FF-2EF5-5EA3", "Long Term Logical Storage", "gibibyte month",
                 Decimal("0.01")),
    "streaming": (BIGQUERY, "A5E5-D7B9-6A5B", "Streaming Insert", "gibibyte", Decimal("0.05")),
    "gcs": (STORAGE, "E5F0-6A5B-1ABC", "Standard Storage US Multi-region", "gibibyte month",
            Decimal("0.026")),
    "vm": (COMPUTE, "CF4E-A0C7-E3BF", "N2 Instance Core running in Americas", "hour",
           Decimal("0.031611")),
    "logs": (LOGGING, "143F-A1B0-E0BE", "Log Volume", "gibibyte", Decimal("0.50")),
}  # fmt: skip
# project id, team label, SKUs it uses, relative size
PROJECTS = [
    ("acme-analytics-prod", "ae", ["analysis", "active", "longterm", "streaming"], 8),
    ("acme-dbt-prod", "ae", ["analysis", "active", "logs"], 6),
    ("acme-legacy-sales", "ae", ["analysis", "active", "longterm"], 7),
    ("acme-product-analytics", "product-analytics", ["analysis", "active"], 5),
    ("acme-finance-reporting", "finance", ["analysis", "longterm"], 2),
    ("acme-marketing", "marketing", ["analysis", "gcs"], 3),
    ("acme-data-platform", "data-platform", ["vm", "gcs", "logs", "analysis"], 4),
    ("acme-sandbox", None, ["analysis", "vm"], 1),
]


@dataclass
class ExportSummary:
    rows: int
    first_month: str
    last_month: str
    path: Path


def _money(value: Decimal) -> Decimal:
    return value.quantize(MICRO, ROUND_HALF_EVEN)


def _month_add(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def _ts(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _row(
    *,
    account: str,
    project: str,
    team: str | None,
    sku: str,
    start: datetime.datetime,
    invoice: str,
    cost: Decimal,
    credits: list,
    currency: str,
    rate: Decimal,
    usage: Decimal,
    jitter: random.Random,
    adjustment: dict | None = None,
    cost_type: str = "regular",
) -> dict:
    (service_id, service_name), sku_id, sku_name, unit, _price = SKUS[sku]
    labels = [{"key": "env", "value": "dev" if project == "acme-sandbox" else "prod"}]
    if team:
        labels.insert(0, {"key": "team", "value": team})
    number = str(100000000000 + sum(map(ord, project)))
    row = {
        "billing_account_id": account,
        "service": {"id": service_id, "description": service_name},
        "sku": {"id": sku_id, "description": sku_name},
        "usage_start_time": _ts(start),
        "usage_end_time": _ts(start + datetime.timedelta(hours=1)),
        "project": {
            "id": project, "number": number, "name": project.replace("-", " ").title(),
            "labels": [{"key": "cost-center", "value": f"cc-{team or 'shared'}"}],
            "ancestry_numbers": f"/123456789/{number}/",
        },
        "labels": labels,
        "system_labels": [{"key": "goog-resource-type", "value": f"bigquery.{sku}"}],
        "tags": [],
        "transaction_type": "GOOGLE",
        "seller_name": "Google",
        "price": {"effective_price": float(_price), "tier_start_amount": 0, "unit": unit,
                  "pricing_unit_quantity": 1},
        "location": {"location": "US", "country": "US", "region": None, "zone": None},
        "export_time": (
            start + datetime.timedelta(hours=6, seconds=jitter.randrange(86400),
                                       microseconds=jitter.randrange(1000000))
        ).strftime("%Y-%m-%d %H:%M:%S.%f UTC"),
        "cost": cost,
        "currency": currency,
        "currency_conversion_rate": rate,
        "usage": {"amount": jitter.randrange(1, 10**12), "unit": "bytes",
                  "amount_in_pricing_units": usage, "pricing_unit": unit},
        "credits": credits,
        "invoice": {"month": invoice},
        "cost_type": cost_type,
        "cost_at_list": cost,
    }  # fmt: skip
    if adjustment:
        row["adjustment_info"] = adjustment
    return row


def generate_rows(
    *,
    first_month: datetime.date,
    months: int = 12,
    hours_per_day: int = 24,
    scale: int = 1,
    currency: str = "USD",
    rate: Decimal = Decimal(1),
    seed: int = 7,
    until: datetime.date | None = None,
) -> Iterator[dict]:
    """Hourly rows (or `hours_per_day` of them) for every project and SKU, month by month.
    `scale` repeats each series under more projects, for big benchmark files; `until`
    stops before that day (an export made today has nothing for tomorrow)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
    account = "01A2B3-C4D5E6-F7A8B9"
    multiplier = rate if currency != "USD" else Decimal(1)
    hours = [round(h * 24 / hours_per_day) for h in range(hours_per_day)]
    series = [
        (f"{project}-{copy}" if copy else project, team, sku, size)
        for copy in range(scale)
        for project, team, skus, size in PROJECTS
        for sku in skus
    ]
    for month_index in range(months):
        month = _month_add(first_month, month_index)
        next_month = _month_add(month, 1)
        invoice = month.strftime("%Y%m")
        growth = Decimal(100 + 3 * month_index) / 100
        day = month
        while day < next_month and (until is None or day < until):
            weekday = Decimal("0.45") if day.weekday() >= 5 else Decimal(1)
            for project, team, sku, size in series:
                price = SKUS[sku][4]
                for hour in hours:
                    start = datetime.datetime.combine(day, datetime.time(hour), datetime.UTC)
                    usage = _money(Decimal(rng.randint(5, 400)) * size / 2000 * 24 / hours_per_day)
                    cost = _money(usage * price * growth * weekday * multiplier)
                    credits = []
                    if sku == "analysis" and day.day == 1 and hour == hours[0]:
                        credits.append({"name": "Free tier", "amount": -_money(cost / 2),
                                        "full_name": None, "id": "free-tier",
                                        "type": "FREE_TIER"})  # fmt: skip
                    if sku == "vm":
                        credits.append({"name": "Committed use discount",
                                        "amount": -_money(cost * Decimal("0.37")),
                                        "full_name": None, "id": "cud",
                                        "type": "COMMITTED_USAGE_DISCOUNT"})  # fmt: skip
                    # The last hours of a month are billed on the next invoice.
                    late = day == next_month - datetime.timedelta(days=1) and hour == hours[-1]
                    yield _row(
                        account=account, project=project, team=team, sku=sku, start=start,
                        invoice=next_month.strftime("%Y%m") if late else invoice, cost=cost,
                        credits=credits, currency=currency, rate=rate, usage=usage, jitter=rng,
                    )  # fmt: skip
            day += datetime.timedelta(days=1)
        # One tax row per invoice month, and a correction of last month's analysis.
        yield _row(account=account, project="acme-analytics-prod", team="ae", sku="analysis",
                   start=datetime.datetime.combine(month, datetime.time(0), datetime.UTC),
                   invoice=invoice, cost=_money(Decimal("12.34") * multiplier), credits=[],
                   currency=currency, rate=rate, usage=Decimal(0), cost_type="tax",
                   jitter=rng)  # fmt: skip
        if month_index == 1:
            previous = _month_add(month, -1)
            yield _row(
                account=account, project="acme-legacy-sales", team="ae", sku="analysis",
                start=datetime.datetime.combine(previous.replace(day=15), datetime.time(3),
                                                datetime.UTC),
                invoice=invoice, cost=_money(Decimal("-25.50") * multiplier), credits=[],
                currency=currency, rate=rate, usage=Decimal(0), cost_type="adjustment", jitter=rng,
                adjustment={"id": "adj-0001", "description": "Refund: duplicated query billing",
                            "type": "USAGE_CORRECTION", "mode": "MANUAL_ADJUSTMENTS"},
            )  # fmt: skip


class _DecimalJSON(json.JSONEncoder):
    def default(self, value):
        if isinstance(value, Decimal):
            return float(value)  # written as a JSON number, as bq extract does
        return super().default(value)


def write_export(path: Path, rows: Iterator[dict]) -> int:
    """Newline-delimited JSON, gzipped when the name ends in .gz. Returns the row count."""
    opener = gzip.open if path.name.endswith(".gz") else open
    count = 0
    encoder = _DecimalJSON(ensure_ascii=False)
    with opener(path, "wt", encoding="utf-8") as out:
        for row in rows:
            out.write(encoder.encode(row))
            out.write("\n")
            count += 1
    return count
