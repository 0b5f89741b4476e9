"""pull_billing of the detailed and FOCUS exports, through the same fake Google client as
the standard pull's tests (tests/cost/billing/test_pull.py: only cost.google.make_client
is replaced; it records the SQL and answers with what the aggregation returns).

Two ways of answering: from Python (aggregate_like_bigquery, the standard pull tests'
stand-in, per resource), and, at the end of this file, by running the SQL as sent on
DuckDB through sqlglot, the resource fold and the FOCUS mapping included. Either way the
pulled facts are compared with the file import of the same rows, digest for digest.
"""

import datetime
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import sqlglot
from django.core.management import call_command
from django.db.models import Sum
from google.cloud.bigquery import ArrayQueryParameter, QueryJobConfig, ScalarQueryParameter
from pytest_django.fixtures import Settings
from sqlglot import exp

import cost.google
from cost.billing.pull import ExportTable
from cost.billing.runs import import_files
from cost.models import BillingMonth, BillingSource, CostFact, to_decimal
from tests.cost.billing.test_pull import (
    FakeBigQuery,
    FakeJob,
    Query,
    aggregate_like_bigquery,
    as_row,
    bq_fact,
)
from tests.cost.billing.test_shapes import (
    TOTAL_COST,
    TOTAL_CREDITS,
    detailed_rows,
    focus_rows,
    numeric,
    standard_rows,
    totals,
    write_jsonl,
)

pytestmark = pytest.mark.django_db

ACCOUNT = "000000_B0BBA4_940A77"
DETAILED = f"acme-billing.billing_export.gcp_billing_export_resource_v1_{ACCOUNT}"
FOCUS = f"acme-billing.gcp_billing_immutable_{ACCOUNT}_us.gcp_billing_export_focus_{ACCOUNT}"
STANDARD = f"acme-billing.billing_export.gcp_billing_export_v1_{ACCOUNT}"


@pytest.fixture
def bigquery(monkeypatch: pytest.MonkeyPatch) -> FakeBigQuery:
    fake = FakeBigQuery()
    monkeypatch.setattr(cost.google, "make_client", fake.client)
    return fake


def with_list_cost(rows: list[dict]) -> list[dict]:
    """The rows with cost_at_list (the sample's free-trial rows have none; the stand-in
    sums it as BigQuery would)."""
    for row in rows:
        row["cost_at_list"] = row["cost"]
    return rows


def answer_by_resource(rows: list[dict], time_zone: str) -> list[dict]:
    """What the aggregation returns for a detailed or FOCUS export: the standard stand-in's
    facts, split by resource (global name, else name)."""
    by_resource: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        resource = row.get("resource") or {}
        by_resource[resource.get("global_name") or resource.get("name") or ""].append(row)
    facts = []
    for resource, group in sorted(by_resource.items()):
        facts += [
            fact | {"resource": resource} for fact in aggregate_like_bigquery(group, time_zone)
        ]
    return facts


def pull(table: str, *args: str) -> str:
    out = io.StringIO()
    call_command("pull_billing", "--table", table, *args, stdout=out)
    return out.getvalue()


def digests(source: str) -> list[tuple]:
    months = BillingMonth.objects.current().filter(source__name=source)
    return sorted(months.values_list("invoice_month", "digest", "fact_count", "row_count"))


def test_a_detailed_table_is_pulled_by_resource_and_matches_its_file_import(
    bigquery: FakeBigQuery, settings: Settings, tmp_path: Path
) -> None:
    rows = with_list_cost(detailed_rows())
    import_files(paths=[write_jsonl(tmp_path / "detailed.jsonl", rows)], source_name="files")
    bigquery.facts = answer_by_resource(rows, settings.QUARTERDECK_BILLING_TIME_ZONE)

    output = pull(DETAILED, "--source", "pulled")

    assert "as the detailed usage cost export" in output
    source = BillingSource.objects.get(name="pulled")
    assert source.shape == "detailed"  # told by Google's table name, and kept
    assert source.runs.get().files[0]["shape"] == "detailed"
    assert digests("pulled") == digests("files")
    assert totals("pulled") == (TOTAL_COST, TOTAL_CREDITS, 25)
    query = bigquery.last("daily-facts")
    assert query.parameters["resources_per_sku"] == settings.QUARTERDECK_RESOURCES_PER_SKU
    assert "COALESCE(NULLIF(resource.global_name, ''), NULLIF(resource.name, ''))" in query.sql
    assert "ORDER BY resource_cost DESC, resource) AS position" in query.sql
    assert "WHERE position <= @resources_per_sku" in query.sql
    assert "FROM folded_rows" in query.sql


def test_a_pull_keeps_the_resource_grain_bounded_whatever_the_query_returns(
    bigquery: FakeBigQuery, settings: Settings
) -> None:
    settings.QUARTERDECK_RESOURCES_PER_SKU = 1
    bigquery.facts = [
        bq_fact(resource="//compute.googleapis.com/projects/p/zones/z/instances/a",
                cost=Decimal("2.5"), row_count=3),
        bq_fact(resource="//compute.googleapis.com/projects/p/zones/z/instances/b",
                cost=Decimal("4"), row_count=2),
        bq_fact(resource="//compute.googleapis.com/projects/p/zones/z/instances/c",
                cost=Decimal("1.25"), row_count=1),
    ]  # fmt: skip

    pull(DETAILED)

    stored = {f.resource: (f.cost.amount, f.row_count) for f in CostFact.objects.all()}
    # By hand: b (4) is kept; a + c = 3.75 from 4 rows fold into "(other)".
    assert stored == {
        "//compute.googleapis.com/projects/p/zones/z/instances/b": (Decimal(4), 2),
        "(other)": (Decimal("3.75"), 4),
    }


def test_a_focus_table_is_mapped_in_bigquery_and_matches_its_file_import(
    bigquery: FakeBigQuery, settings: Settings, tmp_path: Path
) -> None:
    rows = with_list_cost(detailed_rows())
    for row in rows:  # FOCUS keeps quantities as NUMERIC: nine places
        for name in ("amount", "amount_in_pricing_units"):
            row["usage"][name] = numeric(row["usage"][name])
    focus = focus_rows(rows)
    for row, source_row in zip(focus, rows, strict=True):
        row["ListCost"] = source_row["cost_at_list"]
    import_files(paths=[write_jsonl(tmp_path / "focus.jsonl", focus)], source_name="files")
    bigquery.facts = answer_by_resource(rows, settings.QUARTERDECK_BILLING_TIME_ZONE)

    output = pull(FOCUS, "--source", "pulled")

    assert "as the FOCUS export" in output
    assert BillingSource.objects.get(name="pulled").shape == "focus"
    assert digests("pulled") == digests("files")
    assert totals("pulled") == totals("files") == (TOTAL_COST, TOTAL_CREDITS, 25)
    for step in ("export-times", "daily-facts"):
        sql = bigquery.last(step).sql
        assert f"FROM `{FOCUS}`" in sql
        assert "x_ExportTime AS export_time" in sql
        assert "STRUCT(FORMAT_TIMESTAMP('%Y%m', BillingPeriodStart, 'America/Los_Angeles')" in sql
        assert "(_PARTITIONTIME >= @since OR _PARTITIONTIME IS NULL)" in sql
    sql = bigquery.last("daily-facts").sql
    assert (
        "BilledCost - IFNULL((SELECT SUM(credit.Amount) FROM UNNEST(x_Credits) AS credit), 0)"
        in sql
    )
    assert "ARRAY(SELECT AS STRUCT credit.Type AS type, credit.Amount AS amount" in sql
    assert "STRUCT(x_Project.Id AS id" in sql
    assert "FROM UNNEST(x_Labels) AS pair) AS labels" in sql
    assert "IF(LOWER(ChargeClass) = 'correction', 'CORRECTION', NULL)" in sql


def test_the_three_shapes_pulled_give_the_same_totals(
    bigquery: FakeBigQuery, settings: Settings
) -> None:
    zone = settings.QUARTERDECK_BILLING_TIME_ZONE
    for name, table, rows in (("standard", STANDARD, standard_rows()),
                              ("detailed", DETAILED, detailed_rows()),
                              ("focus", FOCUS, detailed_rows())):  # fmt: skip
        rows = with_list_cost(rows)
        bigquery.facts = (
            aggregate_like_bigquery(rows, zone) if table == STANDARD
            else answer_by_resource(rows, zone)
        )  # fmt: skip
        pull(table, "--source", name)
    totals_by_shape = [totals(name) for name in ("standard", "detailed", "focus")]
    assert totals_by_shape == [(TOTAL_COST, TOTAL_CREDITS, 25)] * 3
    standard = bigquery.queries[1].sql
    assert "resource" not in standard  # the standard export's SQL is as it was


def test_a_view_with_its_own_name_is_read_in_the_shape_given(
    bigquery: FakeBigQuery, settings: Settings
) -> None:
    view = "acme-billing.finops.focus_view"

    output = pull(view, "--shape", "focus", "--dry-run")

    assert "(FOCUS export): nothing billed" in output
    assert "BilledCost" in bigquery.last("daily-facts").sql
    assert not BillingSource.objects.exists()

    bigquery.facts = [bq_fact(resource="", cost=Decimal("1.5"))]
    pull(view, "--shape", "focus")
    pull(view)  # the source remembers its shape
    assert "BilledCost" in bigquery.last("export-times").sql
    assert BillingSource.objects.get().shape == "focus"
    assert to_decimal(CostFact.objects.get().cost_nanos) == Decimal("1.5")


def test_a_pull_of_the_standard_table_without_a_resource_column_is_unchanged(
    bigquery: FakeBigQuery,
) -> None:
    bigquery.facts = [bq_fact(usage_date=datetime.date(2026, 9, 10))]
    pull(STANDARD)
    assert BillingSource.objects.get().shape == "standard"
    assert "resources_per_sku" not in bigquery.last("daily-facts").parameters
    assert CostFact.objects.get().resource == ""


# --- The pushed-down SQL itself, run on DuckDB ------------------------------------------
#
# sqlglot transpiles our BigQuery SQL to DuckDB; the export table is a DuckDB table of the
# rows, typed as BigQuery types them. Handled here by name, where sqlglot's mapping is not
# BigQuery's:
# - BIGNUMERIC: sqlglot writes DECIMAL(38, 5), which would round every amount to five
#   places; DECIMAL(38, 18) holds these amounts exactly.
# - FORMAT_TIMESTAMP(format, timestamp, zone): sqlglot drops the zone; it becomes
#   STRFTIME(timezone(zone, timestamp), format), the wall clock in that zone.
# - The table name: sqlglot writes `project.dataset.table` as catalog.schema.table; the
#   stand-in table is named export_table and the name is put back in the SQL text.

DETAILED_TABLE = """
  billing_account_id VARCHAR, service STRUCT(id VARCHAR, description VARCHAR),
  sku STRUCT(id VARCHAR, description VARCHAR), usage_start_time TIMESTAMPTZ,
  usage_end_time TIMESTAMPTZ,
  project STRUCT(id VARCHAR, number VARCHAR, name VARCHAR,
                 labels STRUCT(key VARCHAR, value VARCHAR)[], ancestry_numbers VARCHAR),
  labels STRUCT(key VARCHAR, value VARCHAR)[],
  location STRUCT(location VARCHAR, region VARCHAR), export_time TIMESTAMPTZ, cost DOUBLE,
  currency VARCHAR, currency_conversion_rate DOUBLE,
  usage STRUCT(amount DOUBLE, unit VARCHAR, amount_in_pricing_units DOUBLE,
               pricing_unit VARCHAR),
  credits STRUCT(name VARCHAR, amount DOUBLE, type VARCHAR)[], invoice STRUCT(month VARCHAR),
  cost_type VARCHAR, cost_at_list DOUBLE, adjustment_info STRUCT(id VARCHAR, type VARCHAR),
  resource STRUCT(name VARCHAR, global_name VARCHAR)
"""  # the detailed export's columns the query reads, FLOAT64 as DOUBLE
FOCUS_TABLE = """
  BilledCost DECIMAL(38, 9), BillingAccountId VARCHAR, BillingCurrency VARCHAR,
  BillingPeriodStart TIMESTAMPTZ, ChargeCategory VARCHAR, ChargeClass VARCHAR,
  ChargeDescription VARCHAR, ChargePeriodStart TIMESTAMPTZ, ChargePeriodEnd TIMESTAMPTZ,
  ConsumedQuantity DECIMAL(38, 9), ConsumedUnit VARCHAR, ListCost DECIMAL(38, 9),
  PricingQuantity DECIMAL(38, 9), PricingUnit VARCHAR, RegionId VARCHAR, ResourceId VARCHAR,
  ResourceName VARCHAR, ServiceName VARCHAR, SkuId VARCHAR,
  x_Credits STRUCT(Name VARCHAR, Amount DECIMAL(38, 9), Type VARCHAR)[], x_CostType VARCHAR,
  x_CurrencyConversionRate DOUBLE, x_ExportTime TIMESTAMPTZ, x_Location VARCHAR,
  x_Project STRUCT(Id VARCHAR, Number VARCHAR, Name VARCHAR, AncestryNumbers VARCHAR),
  x_ServiceId VARCHAR, x_Labels STRUCT(Key VARCHAR, Value VARCHAR)[],
  x_ProjectLabels STRUCT(Key VARCHAR, Value VARCHAR)[]
"""  # the FOCUS export's columns the query reads (NUMERIC as DECIMAL(38, 9))


def _duckdb_node(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.BIGDECIMAL:
        return exp.DataType.build("DECIMAL(38, 18)")
    if isinstance(node, exp.TimeToStr) and node.args.get("zone") is not None:
        zone, moment = node.args["zone"], node.this
        local = exp.Anonymous(this="timezone", expressions=[zone, moment])
        return exp.Anonymous(this="strftime", expressions=[local, node.args["format"]])
    return node


def on_duckdb(sql: str, table: ExportTable, parameters: list) -> list[dict]:
    tree = sqlglot.parse_one(sql.replace(table.sql, "export_table"), read="bigquery")
    text = tree.transform(_duckdb_node).sql(dialect="duckdb")
    values = {
        p.name: list(p.values) if isinstance(p, ArrayQueryParameter) else p.value
        for p in parameters
        if isinstance(p, ArrayQueryParameter | ScalarQueryParameter)
    }
    cursor = DUCKDB.execute(text, values)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


DUCKDB = duckdb.connect()
DUCKDB.execute("SET TimeZone = 'UTC'")


class BigQueryOnDuckDB(FakeBigQuery):
    """The fake client, answering every query by running its SQL on DuckDB."""

    def __init__(self, table: ExportTable) -> None:
        super().__init__()
        self.table = table

    def query(self, sql: str, job_config: QueryJobConfig) -> FakeJob:
        self.queries.append(Query(job_config.labels["quarterdeck-step"], sql, {}, job_config))
        rows = on_duckdb(sql, self.table, job_config.query_parameters)
        return FakeJob([as_row(row) for row in rows], 1, 1)


def load_table(columns: str, rows: list[dict], tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "table.jsonl", rows)
    types = ", ".join(f"'{name}': '{kind.strip()}'" for name, kind in _columns(columns))
    DUCKDB.execute("DROP TABLE IF EXISTS export_table")
    DUCKDB.execute(
        "CREATE TABLE export_table AS SELECT *, CAST(NULL AS TIMESTAMPTZ) AS _PARTITIONTIME "
        f"FROM read_json('{path}', format = 'newline_delimited', columns = {{{types}}})"
    )


def _columns(columns: str) -> list[tuple[str, str]]:
    """(name, type) of a column list, commas inside STRUCT(...) left alone."""
    found, depth, current = [], 0, ""
    for char in columns + ",":
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            if current.strip():
                name, kind = current.strip().split(" ", 1)
                found.append((name, " ".join(kind.split())))
            current = ""
        else:
            current += char
    return found


def _utc_offsets(value: object) -> object:
    """Times written `2020-11-09 23:00:00 UTC` (as bq extract does) as DuckDB reads them."""
    if isinstance(value, str) and value.endswith(" UTC"):
        return value.removesuffix(" UTC") + "+00:00"
    if isinstance(value, list):
        return [_utc_offsets(item) for item in value]
    if isinstance(value, dict):
        return {key: _utc_offsets(item) for key, item in value.items()}
    return value


@pytest.mark.parametrize("shape", ["standard", "detailed", "focus"])
def test_the_pushed_down_sql_run_on_duckdb_stores_the_file_import_facts(
    shape: str, monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path
) -> None:
    """The standard, detailed and FOCUS queries, as sent to BigQuery, resources folded in
    SQL (two per day and SKU), give the facts the file import of the same rows stores,
    and the same totals."""
    settings.QUARTERDECK_RESOURCES_PER_SKU = 2
    rows = with_list_cost(detailed_rows())
    # The four BigQuery Analysis rows as four jobs of 9 November (11:00 on, Pacific time).
    analysis = [row for row in rows if row["sku"]["description"] == "Analysis"]
    for hour, (row, job, amount) in enumerate(zip(
        analysis, "abcd", ["0.25", "0.125", "0.5", "0.0625"], strict=True
    )):  # fmt: skip
        row["usage_start_time"] = f"2020-11-09 {19 + hour}:00:00 UTC"
        row["usage_end_time"] = f"2020-11-09 {20 + hour}:00:00 UTC"
        row["cost"] = row["cost_at_list"] = amount
        row["resource"] = {"name": job, "global_name": f"//bigquery.googleapis.com/jobs/{job}"}
    if shape == "focus":
        exported, table, columns = focus_rows(rows), ExportTable.parse(FOCUS), FOCUS_TABLE
    else:
        if shape == "standard":
            for row in rows:
                del row["resource"], row["price"]
        exported, columns = rows, DETAILED_TABLE  # a standard table has no resource: null
        table = ExportTable.parse(DETAILED if shape == "detailed" else STANDARD)
    load_table(columns, [_utc_offsets(row) for row in exported], tmp_path)
    fake = BigQueryOnDuckDB(table)
    monkeypatch.setattr(cost.google, "make_client", fake.client)
    import_files(paths=[write_jsonl(tmp_path / "files.jsonl", exported)], source_name="files")

    pull(str(table), "--source", "pulled", "--months", "202011")

    assert digests("pulled") == digests("files")
    stored = dict(
        CostFact.objects.filter(month__source__name="pulled", sku_description="Analysis")
        .values_list("resource").annotate(total=Sum("cost_nanos"))
    )  # fmt: skip
    # By hand: the four jobs cost 0.9375; the Security Command Center rows 0.000032,
    # the Logging rows 10 x 0.0025, and the credits cancel Security Command Center's.
    assert totals("pulled") == (Decimal("0.9375") + Decimal("0.025032"), TOTAL_CREDITS, 25)
    if shape == "standard":
        assert stored == {"": 937_500_000}
        return
    # c (0.5) and a (0.25) kept; b + d = 0.125 + 0.0625 fold into (other).
    assert stored == {
        "//bigquery.googleapis.com/jobs/c": 500_000_000,
        "//bigquery.googleapis.com/jobs/a": 250_000_000,
        "(other)": 187_500_000,
    }
    assert "@resources_per_sku" in fake.last("daily-facts").sql
