"""pull_billing: BigQuery aggregates, watermarks decide what is read, months are versioned.

Only the Google client is fake (FakeBigQuery, put in place of cost.google.make_client):
it records the SQL, the parameters and the job configuration it is given, and answers
with rows shaped like google.cloud.bigquery Row objects. It honours the months parameter,
so a wrong parameter shows up as wrong facts.
"""

import datetime
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone
from google.api_core.exceptions import BadRequest, Forbidden
from google.auth.exceptions import DefaultCredentialsError
from google.cloud.bigquery import ArrayQueryParameter, QueryJobConfig, ScalarQueryParameter
from google.cloud.bigquery.table import Row
from pytest_django.fixtures import Settings

import cost.google
from core.times import data_window
from cost.billing.pull import PullFailed, estimate_pull, pull_billing
from cost.billing.runs import import_files
from cost.models import BillingMonth, BillingSource, CostCredit, CostFact, ImportRun, to_decimal
from demo.billing_export import generate_rows, write_export
from tests.cost.factories import BillingSourceFactory

pytestmark = pytest.mark.django_db

TABLE = "acme-billing.billing_export.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
SOURCE = "acme-billing-billing_export-gcp_billing_export_v1_01a2b3_c4d5e6_f7a8b9"
UTC = datetime.UTC


# --- The fake Google client -------------------------------------------------------------


@dataclass
class Query:
    step: str
    sql: str
    parameters: dict
    config: QueryJobConfig


class FakeJob:
    def __init__(self, rows: list[Row], processed: int, billed: int) -> None:
        self._rows = rows
        self.total_bytes_processed = processed
        self.total_bytes_billed = billed

    def result(self) -> list[Row]:
        return self._rows


def as_row(values: dict) -> Row:
    return Row(tuple(values.values()), {name: i for i, name in enumerate(values)})


class FakeBigQuery:
    """What BigQuery would answer for an export whose daily facts are `facts`."""

    def __init__(self) -> None:
        self.facts: list[dict] = []
        self.queries: list[Query] = []
        self.projects: list[str] = []
        self.errors: dict[str, Exception] = {}  # "client", "export-times" or "daily-facts"
        self.processed = {"export-times": 1_048_576, "daily-facts": 987_654_321}

    def client(self, project: str) -> "FakeBigQuery":
        self.projects.append(project)
        if "client" in self.errors:
            raise self.errors["client"]
        return self

    def query(self, sql: str, job_config: QueryJobConfig) -> FakeJob:
        step = job_config.labels["quarterdeck-step"]
        parameters = {
            p.name: p.values if isinstance(p, ArrayQueryParameter) else p.value
            for p in job_config.query_parameters
        }
        self.queries.append(Query(step, sql, parameters, job_config))
        if step in self.errors:
            raise self.errors[step]
        processed = self.processed[step]
        if job_config.dry_run:
            return FakeJob([], processed, 0)
        if step == "export-times":
            newest: dict[str, datetime.datetime] = {}
            for fact in self.facts:
                month, moment = fact["invoice_month"], fact["last_export_time"]
                newest[month] = max(newest.get(month, moment), moment)
            rows = [as_row({"invoice_month": m, "last_export_time": t})
                    for m, t in sorted(newest.items())]  # fmt: skip
        else:
            rows = [as_row(f) for f in self.facts if f["invoice_month"] in parameters["months"]]
        return FakeJob(rows, processed, processed)

    def steps(self) -> list[str]:
        return [query.step for query in self.queries]

    def last(self, step: str) -> Query:
        return [query for query in self.queries if query.step == step][-1]


@pytest.fixture
def bigquery(monkeypatch: pytest.MonkeyPatch) -> FakeBigQuery:
    fake = FakeBigQuery()
    monkeypatch.setattr(cost.google, "make_client", fake.client)
    return fake


def bq_fact(**values: object) -> dict:
    """One row of the aggregation query's result, as the client returns it."""
    row = {
        "invoice_month": "202609",
        "usage_date": datetime.date(2026, 9, 10),
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9",
        "project_id": "acme-analytics-prod",
        "project_name": "Acme Analytics Prod",
        "project_number": "100000000042",
        "project_ancestry": "/123456789/100000000042/",
        "service_id": "24E6-581D-38E5",
        "service_description": "BigQuery",
        "sku_id": "F17B-412E-CB64",
        "sku_description": "Analysis",
        "location": "US",
        "region": "",
        "cost_type": "regular",
        "currency": "USD",
        "conversion_rate": Decimal("1"),
        "labels_json": '[{"key":"env","value":"prod"},{"key":"team","value":"ae"}]',
        "project_labels_json": '[{"key":"cost-center","value":"cc-ae"}]',
        "is_correction": False,
        "usage_unit": "bytes",
        "pricing_unit": "tebibyte",
        "cost": Decimal("12.5"),
        "cost_at_list": Decimal("12.5"),
        "usage_amount": Decimal("2199023255552"),
        "usage_in_pricing_units": Decimal("2"),
        "row_count": 24,
        "rows_outside_window": 0,
        "last_export_time": datetime.datetime(2026, 9, 11, 6, 0, tzinfo=UTC),
        "credits": [],
    }
    row.update(values)
    return row


def two_months() -> list[dict]:
    return [
        bq_fact(),
        bq_fact(usage_date=datetime.date(2026, 9, 11), cost=Decimal("3.25"), row_count=20,
                last_export_time=datetime.datetime(2026, 9, 12, 7, tzinfo=UTC)),
        bq_fact(invoice_month="202610", usage_date=datetime.date(2026, 10, 2), cost=Decimal("7"),
                last_export_time=datetime.datetime(2026, 10, 3, 5, tzinfo=UTC)),
    ]  # fmt: skip


def pull(*args: str) -> str:
    out = io.StringIO()
    call_command("pull_billing", "--table", TABLE, *args, stdout=out)
    return out.getvalue()


def snapshot() -> tuple:
    return (
        list(CostFact.objects.order_by("id").values_list("id", "cost_nanos", "month_id")),
        list(BillingMonth.objects.order_by("id").values_list("id", "valid_to", "digest")),
        list(CostCredit.objects.order_by("id").values_list("id", "amount_nanos")),
    )


def current_cost(month: str) -> Decimal:
    total = CostFact.objects.current().filter(invoice_month=month).aggregate(s=Sum("cost_nanos"))
    return to_decimal(total["s"])


# --- The table name and the SQL ----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "acme-billing.billing_export.t; DROP TABLE x",
        "acme-billing.billing_export.t` WHERE 1=1; --",
        "acme-billing.billing_export.t`",
        "acme-billing.billing_export",
        "acme-billing.billing_export.t.extra",
        "acme-billing.billing export.t",
        "acme-billing.billing_export.t\nSELECT 1",
        "acme-billing.billing_export.t*",
        "Acme_Billing.billing_export.t",
        "",
    ],
)
def test_table_name_that_is_not_project_dataset_table_is_refused_before_any_query(
    bigquery: FakeBigQuery, name: str
) -> None:
    with pytest.raises(CommandError, match=r"not a BigQuery table name|--table"):
        call_command("pull_billing", "--table", name)
    assert bigquery.projects == []
    assert bigquery.queries == []
    assert not BillingSource.objects.exists()
    assert not ImportRun.objects.exists()


def test_values_travel_as_query_parameters_never_in_the_sql(
    bigquery: FakeBigQuery, settings: Settings
) -> None:
    settings.QUARTERDECK_BILLING_TIME_ZONE = "Asia/Tokyo"
    bigquery.facts = two_months()

    pull()

    query = bigquery.last("daily-facts")
    assert f"`{TABLE}`" in query.sql
    assert "invoice.month IN UNNEST(@months)" in query.sql
    assert "DATE(usage_start_time, @time_zone)" in query.sql
    assert "_PARTITIONTIME >= @since" in query.sql
    for value in ("202609", "202610", "Asia/Tokyo", "2026-08-31"):
        assert value not in query.sql
    parameters = {p.name: p for p in query.config.query_parameters}
    assert isinstance(parameters["months"], ArrayQueryParameter)
    assert parameters["months"].array_type == "STRING"
    assert parameters["months"].values == ["202609", "202610"]
    assert isinstance(parameters["time_zone"], ScalarQueryParameter)
    assert (parameters["time_zone"].type_, parameters["time_zone"].value) == (
        "STRING", "Asia/Tokyo",
    )  # fmt: skip
    # A month's rows are read from the day before it starts, whole.
    assert parameters["since"].type_ == "TIMESTAMP"
    assert parameters["since"].value == datetime.datetime(2026, 8, 31, tzinfo=UTC)


def test_export_time_query_reads_only_the_lookback_window(bigquery: FakeBigQuery) -> None:
    bigquery.facts = two_months()
    now = datetime.datetime(2026, 10, 20, 15, 30, tzinfo=UTC)

    pull_billing(table=TABLE, lookback_days=10, now=now)

    query = bigquery.last("export-times")
    assert "MAX(export_time)" in query.sql
    assert "(_PARTITIONTIME >= @since OR _PARTITIONTIME IS NULL)" in query.sql
    assert query.parameters == {"since": datetime.datetime(2026, 10, 10, tzinfo=UTC)}
    assert "2026-10-10" not in query.sql
    assert bigquery.projects == ["acme-billing"]  # the table's project runs the query


def test_float_columns_are_summed_as_the_decimals_they_were_written_as(
    bigquery: FakeBigQuery,
) -> None:
    bigquery.facts = two_months()

    pull()

    sql = bigquery.last("daily-facts").sql
    # FLOAT64 -> STRING -> BIGNUMERIC keeps 5e-06 as 0.000005; a direct cast would not.
    for column in ("cost", "cost_at_list", "usage.amount", "usage.amount_in_pricing_units",
                   "credit.amount", "currency_conversion_rate"):  # fmt: skip
        assert f"CAST(CAST({column} AS STRING) AS BIGNUMERIC)" in sql
    assert "FLOAT64" not in sql
    assert "UNNEST(credits)" in sql
    assert "GROUP BY credit.type" in sql


# --- Facts ------------------------------------------------------------------------------


def test_facts_are_stored_with_exact_decimals_and_credits_per_type(bigquery: FakeBigQuery) -> None:
    bigquery.facts = [
        bq_fact(
            cost=Decimal("0.000005"),
            cost_at_list=Decimal("0.00001"),
            usage_amount=Decimal("0.000005"),
            usage_in_pricing_units=Decimal("4.547473508864641E-13"),
            credits=[
                {"type": "FREE_TIER", "amount": Decimal("-0.000002")},
                {"type": "PROMOTION", "amount": Decimal("-0.000001")},
            ],
            labels_json='[{"key":"env","value":""},{"key":"team","value":"ae"}]',
            is_correction=True,
            cost_type="adjustment",
        ),
        bq_fact(
            currency="JPY",
            conversion_rate=Decimal("150.25"),
            cost=Decimal("300.5"),
            cost_at_list=None,
            usage_amount=None,
            usage_in_pricing_units=None,
            credits=[{"type": "SUSTAINED_USAGE_DISCOUNT", "amount": Decimal("-150.25")}],
            labels_json="[]",
            project_labels_json="[]",
        ),
    ]

    out = pull()

    tiny = CostFact.objects.get(currency="USD")
    assert tiny.cost_nanos == 5_000
    assert tiny.cost_at_list_nanos == 10_000
    assert tiny.usage_amount == Decimal("0.000005")
    assert tiny.usage_in_pricing_units == Decimal("0")  # below a billionth: stored as 0
    assert tiny.credits_nanos == -3_000
    assert tiny.net_cost.amount == Decimal("0.000002")
    assert tiny.is_correction
    assert tiny.cost_type == "adjustment"
    assert tiny.row_count == 24
    assert tiny.last_export_time == datetime.datetime(2026, 9, 11, 6, tzinfo=UTC)
    assert dict(tiny.credit_lines.values_list("credit_type", "amount_nanos")) == {
        "FREE_TIER": -2_000, "PROMOTION": -1_000,
    }  # fmt: skip
    assert tiny.label_set.labels == {"env": "", "team": "ae"}
    assert tiny.label_set.project_labels == {"cost-center": "cc-ae"}
    yen = CostFact.objects.get(currency="JPY")
    assert yen.cost_nanos == 300_500_000_000
    assert yen.cost_usd_nanos == 2_000_000_000  # 300.5 / 150.25
    assert yen.credits_usd_nanos == -1_000_000_000
    assert yen.cost_at_list_nanos is None
    assert yen.usage_amount is None
    assert yen.label_set.labels == {}
    assert yen.label_set.project_labels == {}
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.rows_read == 48
    assert run.bytes_read == 1_048_576 + 987_654_321
    assert run.months == [{"month": "202609", "outcome": "new", "facts": 2, "rows": 48}]
    assert "202609: new" in out
    assert f"import run {run.pk}" in out


def test_first_pull_creates_a_bigquery_source_named_after_the_table_with_watermarks(
    bigquery: FakeBigQuery,
) -> None:
    bigquery.facts = two_months()

    out = pull()

    source = BillingSource.objects.get()
    assert (source.name, source.kind, source.table) == (SOURCE, BillingSource.Kind.BIGQUERY, TABLE)
    assert source.watermarks == {
        "202609": "2026-09-12T07:00:00+00:00",
        "202610": "2026-10-03T05:00:00+00:00",
    }
    assert bigquery.last("daily-facts").parameters["months"] == ["202609", "202610"]
    assert "2 changed since the last pull: 202609, 202610" in out


def test_unchanged_export_time_pulls_nothing(bigquery: FakeBigQuery) -> None:
    bigquery.facts = two_months()
    pull()
    before = snapshot()
    bigquery.queries.clear()

    out = pull()

    assert bigquery.steps() == ["export-times"]
    assert snapshot() == before
    run = ImportRun.objects.order_by("id").last()
    assert run.status == ImportRun.Status.SUCCEEDED
    assert (run.months, run.facts_written, run.rows_read) == ([], 0, 0)
    assert "0 changed since the last pull." in out


def test_month_whose_export_time_moved_is_pulled_again_and_supersedes_the_old_version(
    bigquery: FakeBigQuery,
) -> None:
    bigquery.facts = two_months()
    pull()
    first_run = ImportRun.objects.get()
    old = BillingMonth.objects.get(invoice_month="202609")
    october = BillingMonth.objects.get(invoice_month="202610")
    old_fact_ids = set(old.facts.values_list("id", flat=True))
    # A late row for 10 September arrives: the fact grows, its export_time moves.
    late = datetime.datetime(2026, 10, 4, 1, tzinfo=UTC)
    bigquery.facts[0] |= {"cost": Decimal("13.75"), "row_count": 25, "last_export_time": late}
    bigquery.queries.clear()

    out = pull()

    second_run = ImportRun.objects.exclude(pk=first_run.pk).get()
    assert bigquery.last("daily-facts").parameters["months"] == ["202609"]
    old.refresh_from_db()
    assert old.valid_to is not None
    assert old.superseded_by == second_run
    assert set(old.facts.values_list("id", flat=True)) == old_fact_ids  # kept, as of then
    new = BillingMonth.objects.current().get(invoice_month="202609")
    assert new.run == second_run
    assert new.row_count == 45
    assert current_cost("202609") == Decimal("17")
    assert BillingMonth.objects.current().get(invoice_month="202610") == october
    assert second_run.months == [{"month": "202609", "outcome": "replaced", "facts": 2,
                                  "rows": 45}]  # fmt: skip
    assert BillingSource.objects.get().watermarks["202609"] == "2026-10-04T01:00:00+00:00"
    assert "202609: replaced" in out


def test_forced_months_are_pulled_without_looking_for_changes(bigquery: FakeBigQuery) -> None:
    bigquery.facts = two_months()
    pull()
    # Google restated a figure without a newer export_time: only --months sees it.
    bigquery.facts[2]["cost"] = Decimal("8")
    bigquery.queries.clear()

    out = pull("--months", "202610", "202609")

    assert bigquery.steps() == ["daily-facts"]
    assert bigquery.last("daily-facts").parameters["months"] == ["202609", "202610"]
    run = ImportRun.objects.order_by("id").last()
    assert {m["month"]: m["outcome"] for m in run.months} == {
        "202609": "unchanged", "202610": "replaced",
    }  # fmt: skip
    assert current_cost("202610") == Decimal("8")
    assert "Pulled 202609, 202610" in out


def test_months_that_are_not_yyyymm_are_refused(bigquery: FakeBigQuery) -> None:
    with pytest.raises(CommandError, match="2026-09"):
        pull("--months", "2026-09")
    assert bigquery.queries == []
    assert not ImportRun.objects.exists()


# --- Dry run and the byte cap -----------------------------------------------------------


def test_dry_run_prints_bytes_and_writes_nothing(
    bigquery: FakeBigQuery, settings: Settings
) -> None:
    settings.QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED = 500_000_000
    bigquery.facts = two_months()

    out = pull("--dry-run")

    assert bigquery.steps() == ["export-times", "daily-facts"]
    for query in bigquery.queries:
        assert query.config.dry_run is True
        assert query.config.use_query_cache is False
    assert "1,048,576 bytes" in out
    assert "987,654,321 bytes" in out
    assert "EXCEEDS" in out
    assert not BillingSource.objects.exists()
    assert not ImportRun.objects.exists()
    assert not BillingMonth.objects.exists()
    assert not CostFact.objects.exists()


def test_dry_run_of_forced_months_estimates_only_the_aggregation(bigquery: FakeBigQuery) -> None:
    out = pull("--dry-run", "--months", "202607")

    assert bigquery.steps() == ["daily-facts"]
    query = bigquery.last("daily-facts")
    assert query.parameters["months"] == ["202607"]
    assert query.parameters["since"] == datetime.datetime(2026, 6, 30, tzinfo=UTC)
    assert "daily facts of 202607: 987,654,321 bytes" in out


def test_dry_run_without_months_counts_every_month_the_lookback_touches(
    bigquery: FakeBigQuery,
) -> None:
    now = datetime.datetime(2026, 10, 20, 15, 30, tzinfo=UTC)

    estimate = estimate_pull(table=TABLE, now=now)  # 45 days: back to 5 September

    assert estimate.months == ["202609", "202610"]
    assert bigquery.last("export-times").parameters["since"] == datetime.datetime(
        2026, 9, 5, tzinfo=UTC
    )
    assert bigquery.last("daily-facts").parameters["months"] == ["202609", "202610"]
    assert (estimate.export_times_bytes, estimate.daily_facts_bytes) == (1_048_576, 987_654_321)


@pytest.mark.parametrize(("cap", "expected"), [(5 * 1024**3, 5 * 1024**3), (0, None)])
def test_byte_cap_is_passed_as_maximum_bytes_billed(
    bigquery: FakeBigQuery, settings: Settings, cap: int, expected: int | None
) -> None:
    settings.QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED = cap
    bigquery.facts = two_months()

    pull()

    assert bigquery.steps() == ["export-times", "daily-facts"]
    assert [q.config.maximum_bytes_billed for q in bigquery.queries] == [expected, expected]


def test_query_over_the_byte_cap_fails_naming_the_cap(
    bigquery: FakeBigQuery, settings: Settings
) -> None:
    settings.QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED = 10 * 1024**2
    bigquery.facts = two_months()
    bigquery.errors["daily-facts"] = BadRequest(
        "Query exceeded limit for bytes billed: 10485760. 987758592 or higher required.",
        errors=[{"reason": "bytesBilledLimitExceeded", "message": "Query exceeded limit"}],
    )

    with pytest.raises(CommandError, match="QUARTERDECK_BIGQUERY_MAX_BYTES_BILLED") as error:
        pull()

    assert "10,485,760 bytes" in str(error.value)
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert "bytes billed" in run.error
    assert not BillingMonth.objects.exists()


# --- Failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "error", "message"),
    [
        ("client", DefaultCredentialsError("Your default credentials were not found."),
         "no usable Google credentials"),
        ("export-times", Forbidden("Access Denied: Table acme-billing:billing_export.t: "
                                   "User does not have permission"), "Access Denied"),
        ("daily-facts", Forbidden("Access Denied: User does not have bigquery.jobs.create"),
         "Access Denied"),
    ],
)  # fmt: skip
def test_api_error_marks_the_run_failed_and_writes_nothing(
    bigquery: FakeBigQuery, where: str, error: Exception, message: str
) -> None:
    bigquery.facts = two_months()
    bigquery.errors[where] = error

    with pytest.raises(CommandError, match=message) as raised:
        pull()

    run = ImportRun.objects.get()
    assert f"import run {run.pk} marked failed" in str(raised.value)
    assert run.status == ImportRun.Status.FAILED
    assert message in run.error
    assert run.finished_at is not None
    assert not BillingMonth.objects.exists()
    assert not CostFact.objects.exists()
    assert BillingSource.objects.get().watermarks == {}


def test_failed_store_keeps_the_watermark_so_the_month_is_read_again(
    bigquery: FakeBigQuery,
) -> None:
    bigquery.facts = [bq_fact(), bq_fact(usage_date=None)]  # no usage day: the insert fails

    with pytest.raises(PullFailed, match="could not store the facts"):
        pull_billing(table=TABLE)

    assert ImportRun.objects.get().status == ImportRun.Status.FAILED
    assert BillingSource.objects.get().watermarks == {}
    assert not CostFact.objects.exists()
    bigquery.facts.pop()
    bigquery.queries.clear()

    pull_billing(table=TABLE)

    assert bigquery.last("daily-facts").parameters["months"] == ["202609"]
    assert CostFact.objects.count() == 1


def test_source_of_exported_files_is_not_mixed_with_a_bigquery_table(
    bigquery: FakeBigQuery,
) -> None:
    BillingSourceFactory(name="billing-files", kind=BillingSource.Kind.FILES)

    with pytest.raises(CommandError, match="not a BigQuery one"):
        pull("--source", "billing-files")

    assert bigquery.queries == []
    assert not ImportRun.objects.exists()


def test_named_source_remembers_its_table(bigquery: FakeBigQuery) -> None:
    bigquery.facts = two_months()
    pull("--source", "finops")
    bigquery.queries.clear()

    call_command("pull_billing", "--source", "finops", stdout=io.StringIO())

    assert BillingSource.objects.get().table == TABLE
    assert bigquery.steps() == ["export-times"]
    assert f"`{TABLE}`" in bigquery.last("export-times").sql
    with pytest.raises(CommandError, match="one source per export table"):
        call_command("pull_billing", "--source", "finops", "--table", "other-proj.billing.t")


# --- The same facts as the file import ------------------------------------------------


def _float_text(value: object) -> Decimal:
    """BigQuery's FLOAT64 -> STRING: 15 significant digits, 17 if 15 do not read back."""
    number = float(value)
    text = f"{number:.15g}"
    return Decimal(text if float(text) == number else f"{number:.17g}")


def _timestamp(text: str) -> datetime.datetime:
    layout = "%Y-%m-%d %H:%M:%S.%f UTC" if "." in text else "%Y-%m-%d %H:%M:%S UTC"
    return datetime.datetime.strptime(text, layout).replace(tzinfo=UTC)


def _pairs(pairs: list | None) -> str:
    items = sorted((p["key"], p.get("value") or "") for p in pairs or [])
    return json.dumps([{"key": k, "value": v} for k, v in items], separators=(",", ":"))


def aggregate_like_bigquery(rows: list[dict], time_zone: str) -> list[dict]:
    """What the aggregation query returns for these export rows (stored as FLOAT64)."""
    zone = ZoneInfo(time_zone)
    window = data_window()
    groups: dict[tuple, dict] = {}
    for row in rows:
        project, usage = row.get("project") or {}, row.get("usage") or {}
        adjustment = row.get("adjustment_info") or {}
        key = {
            "invoice_month": row["invoice"]["month"],
            "usage_date": _timestamp(row["usage_start_time"]).astimezone(zone).date(),
            "billing_account_id": row["billing_account_id"],
            "project_id": project.get("id") or "",
            "project_name": project.get("name") or "",
            "project_number": project.get("number") or "",
            "project_ancestry": project.get("ancestry_numbers") or "",
            "service_id": row["service"]["id"],
            "service_description": row["service"]["description"],
            "sku_id": row["sku"]["id"],
            "sku_description": row["sku"]["description"],
            "location": row["location"].get("location") or "",
            "region": row["location"].get("region") or "",
            "cost_type": row.get("cost_type") or "regular",
            "currency": row["currency"],
            "conversion_rate": _float_text(row["currency_conversion_rate"]),
            "labels_json": _pairs(row.get("labels")),
            "project_labels_json": _pairs(project.get("labels")),
            "is_correction": bool(adjustment.get("id") or adjustment.get("type")),
            "usage_unit": usage.get("unit") or "",
            "pricing_unit": usage.get("pricing_unit") or "",
        }
        group = groups.setdefault(tuple(key.values()), key | {
            "cost": Decimal(0), "cost_at_list": Decimal(0), "usage_amount": Decimal(0),
            "usage_in_pricing_units": Decimal(0), "row_count": 0, "rows_outside_window": 0,
            "last_export_time": None, "credits": defaultdict(Decimal),
        })  # fmt: skip
        group["cost"] += _float_text(row["cost"])
        group["cost_at_list"] += _float_text(row["cost_at_list"])
        group["usage_amount"] += _float_text(usage["amount"])
        group["usage_in_pricing_units"] += _float_text(usage["amount_in_pricing_units"])
        group["row_count"] += 1
        times = [row[name] for name in ("usage_start_time", "usage_end_time", "export_time")]
        group["rows_outside_window"] += not all(window.holds(_timestamp(t)) for t in times if t)
        moment = _timestamp(row["export_time"])
        group["last_export_time"] = max(group["last_export_time"] or moment, moment)
        for credit in row.get("credits") or []:
            group["credits"][credit["type"] or "UNKNOWN"] += _float_text(credit["amount"])
    for group in groups.values():
        group["credits"] = [{"type": t, "amount": a} for t, a in sorted(group["credits"].items())]
    return list(groups.values())


def test_pulled_facts_match_the_file_import_of_the_same_export(
    bigquery: FakeBigQuery, settings: Settings, tmp_path: Path
) -> None:
    rows = list(generate_rows(first_month=datetime.date(2026, 1, 1), months=2, hours_per_day=2))
    path = tmp_path / "export.jsonl"
    write_export(path, iter(rows))
    import_files(paths=[path], source_name="from-files")
    bigquery.facts = aggregate_like_bigquery(rows, settings.QUARTERDECK_BILLING_TIME_ZONE)

    pull("--source", "from-bigquery")

    files = BillingMonth.objects.current().filter(source__name="from-files")
    pulled = BillingMonth.objects.current().filter(source__name="from-bigquery")
    assert sorted(files.values_list("invoice_month", "digest", "fact_count", "row_count")) == (
        sorted(pulled.values_list("invoice_month", "digest", "fact_count", "row_count"))
    )
    assert pulled.count() == 3  # January, February, and the late rows billed on March


# --- Times no real export holds (issue 19) -----------------------------------------------


def test_a_fact_with_rows_outside_the_window_fails_the_pull_and_stores_nothing(
    bigquery: FakeBigQuery,
) -> None:
    bigquery.facts = two_months()
    bigquery.facts[1]["rows_outside_window"] = 2  # BigQuery counted them (COUNTIF)

    with pytest.raises(CommandError) as failed:
        pull()

    assert (
        "202609 2026-09-11 acme-analytics-prod Analysis: 2 export row(s) with a "
        "usage_start_time, usage_end_time or export_time outside 2015-01-01 to "
    ) in str(failed.value)
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert not CostFact.objects.exists()
    assert BillingSource.objects.get().watermarks == {}  # read again by the next pull
    query = bigquery.last("daily-facts")
    assert "COUNTIF(outside_window) AS rows_outside_window" in query.sql
    assert "usage_end_time NOT BETWEEN @earliest AND @latest" in query.sql
    assert query.parameters["earliest"] == datetime.datetime(2015, 1, 1, tzinfo=UTC)
    assert query.parameters["latest"] > timezone.now() + datetime.timedelta(days=1)


def test_an_invoice_month_of_2999_from_google_fails_the_pull(bigquery: FakeBigQuery) -> None:
    bigquery.facts = [
        *two_months(),
        bq_fact(invoice_month="299912", usage_date=datetime.date(2999, 12, 31),
                last_export_time=datetime.datetime(2999, 12, 31, 6, tzinfo=UTC)),
    ]  # fmt: skip

    with pytest.raises(PullFailed) as failed:
        pull_billing(table=TABLE)

    assert str(failed.value).startswith(
        "299912 2999-12-31 acme-analytics-prod Analysis: invoice.month '299912' is outside "
        "2015-01-01 to "
    )

    assert ImportRun.objects.get().status == ImportRun.Status.FAILED
    assert not CostFact.objects.exists()
    assert not BillingMonth.objects.exists()


@pytest.mark.parametrize("month", ["299912", "201412"])
def test_forced_months_outside_the_window_are_refused_before_any_query(
    bigquery: FakeBigQuery, month: str
) -> None:
    with pytest.raises(CommandError, match=f"invoice months outside 201501 to .*: {month}"):
        pull("--months", "202609", month)
    assert bigquery.queries == []
    assert not ImportRun.objects.exists()
