"""pull_billing of the detailed and FOCUS exports, through the same fake Google client as
the standard pull's tests (tests/cost/billing/test_pull.py: only cost.google.make_client
is replaced; it records the SQL and answers with what the aggregation returns).

The fake does not run the SQL: what it answers is computed in Python from the export
rows (aggregate_like_bigquery, the standard pull tests' stand-in), per resource. The pulled
facts are then compared with the file import of the same rows in the same shape, digest
for digest; the SQL itself is checked for the mapping it must carry.
"""

import datetime
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from pytest_django.fixtures import Settings

import cost.google
from cost.billing.runs import import_files
from cost.models import BillingMonth, BillingSource, CostFact, to_decimal
from tests.cost.billing.test_pull import FakeBigQuery, aggregate_like_bigquery, bq_fact
from tests.cost.billing.test_shapes import (
    TOTAL_COST,
    TOTAL_CREDITS,
    detailed_rows,
    focus_rows,
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
    focus = focus_rows()
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
