"""import_billing: exact, idempotent, versioned, and precise about bad input."""

import csv
import datetime
import gzip
import hashlib
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from cost.billing import rows
from cost.billing.runs import ImportFailed, import_files
from cost.models import (
    BillingMonth,
    BillingSource,
    CostCredit,
    CostFact,
    ImportRun,
    to_decimal,
)
from demo.billing_export import generate_rows, write_export
from tests.cost.factories import BillingSourceFactory

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "real-samples"
SAMPLE_JSONL = SAMPLES / "gcp-billing-standard-koku-202011.jsonl"


# --- helpers -------------------------------------------------------------------------


def read_rows(path: Path) -> list[dict]:
    """The export's rows, parsed independently of the importer (exact decimals)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line, parse_float=Decimal) for line in handle if line.strip()]


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, default=str) + "\n" for row in rows))
    return path


def current_totals(*group: str) -> dict:
    """SUM of cost and credits of current facts, grouped, as Decimals."""
    result = {}
    rows = (CostFact.objects.current().values(*group)
            .annotate(cost=Sum("cost_nanos"), credits=Sum("credits_nanos")))  # fmt: skip
    for row in rows:
        key = tuple(row[name] for name in group)
        result[key] = (to_decimal(row["cost"]), to_decimal(row["credits"]))
    return result


def independent_totals(rows: list[dict], key) -> dict:
    totals: dict = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        total = totals[key(row)]
        total[0] += Decimal(str(row["cost"]))
        total[1] += sum((Decimal(str(c["amount"])) for c in row.get("credits") or []),
                        Decimal(0))  # fmt: skip
    return {k: (v[0], v[1]) for k, v in totals.items()}


def snapshot() -> tuple:
    return (
        list(CostFact.objects.order_by("id").values_list("id", "cost_nanos", "month_id")),
        list(BillingMonth.objects.order_by("id").values_list("id", "valid_to", "digest")),
        CostCredit.objects.count(),
    )


@pytest.fixture
def small_export(tmp_path) -> Path:
    path = tmp_path / "export.jsonl.gz"
    write_export(path, generate_rows(first_month=datetime.date(2026, 1, 1), months=3,
                                     hours_per_day=2))  # fmt: skip
    return path


# --- real rows, every format ----------------------------------------------------------


def test_real_sample_in_every_format_gives_the_same_exact_totals(tmp_path):
    parquet = tmp_path / "sample.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{SAMPLE_JSONL}')) TO '{parquet}' (FORMAT parquet)")
    expected = independent_totals(read_rows(SAMPLE_JSONL), lambda row: row["invoice"]["month"])
    assert expected == {"202011": (Decimal("0.000032"), Decimal("-0.000032"))}
    for name, path in [
        ("jsonl", SAMPLE_JSONL),
        ("gz", SAMPLES / "gcp-billing-standard-koku-202011.jsonl.gz"),
        ("csv", SAMPLES / "gcp-billing-standard-koku-202011.csv"),
        ("parquet", parquet),
    ]:
        run = import_files(paths=[path], source_name=f"sample-{name}")
        assert run.rows_read == 25
        totals = {
            month: value
            for (month, source), value in current_totals(
                "invoice_month", "month__source__name"
            ).items()
            if source == f"sample-{name}"
        }
        assert totals == expected, name
    digests = set(BillingMonth.objects.values_list("digest", flat=True))
    assert len(digests) == 1  # all four formats produced exactly the same facts


def test_credits_are_kept_per_type_and_micro_amounts_stay_exact():
    import_files(paths=[SAMPLE_JSONL], source_name="sample")
    by_type = dict(CostCredit.objects.values("credit_type").annotate(total=Sum("amount_nanos"))
                   .values_list("credit_type", "total"))  # fmt: skip
    assert {kind: to_decimal(total) for kind, total in by_type.items()} == {
        "PROMOTION": Decimal("-0.000032")
    }
    # One row of 5e-06 is one fact's cost, not a rounded zero.
    assert CostFact.objects.filter(cost_nanos=5000).exists()


def test_usage_day_is_the_date_in_the_billing_time_zone():
    import_files(paths=[SAMPLE_JSONL], source_name="sample")
    pacific = ZoneInfo("America/Los_Angeles")
    expected = set()
    for row in read_rows(SAMPLE_JSONL):
        start = datetime.datetime.fromisoformat(row["usage_start_time"].replace(" UTC", "+00:00"))
        expected.add((row["sku"]["id"], start.astimezone(pacific).date()))
    assert set(CostFact.objects.values_list("sku_id", "usage_date")) == expected
    # The row of 2020-11-09 04:00 UTC is a fact of the evening of 8 November in California.
    row = next(r for r in read_rows(SAMPLE_JSONL)
               if r["usage_start_time"] == "2020-11-09 04:00:00 UTC")  # fmt: skip
    dates = set(CostFact.objects.filter(sku_id=row["sku"]["id"])
                .values_list("usage_date", flat=True))  # fmt: skip
    assert datetime.date(2020, 11, 8) in dates


# --- a realistic generated export ------------------------------------------------------


def test_totals_equal_independent_sums_per_month_service_project_and_label(small_export):
    run = import_files(paths=[small_export], source_name="generated")
    rows = read_rows(small_export)
    assert run.rows_read == len(rows)

    def team(row):
        return next((label["value"] for label in row["labels"] if label["key"] == "team"), None)

    checks = [
        (("invoice_month",), lambda r: (r["invoice"]["month"],)),
        (("service_description",), lambda r: (r["service"]["description"],)),
        (("project_id",), lambda r: (r["project"]["id"],)),
        (("invoice_month", "cost_type"), lambda r: (r["invoice"]["month"], r["cost_type"])),
    ]
    for group, key in checks:
        assert current_totals(*group) == independent_totals(rows, key), group
    by_team = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for fact in CostFact.objects.current().select_related("label_set"):
        totals = by_team[fact.label_set.labels.get("team")]
        totals[0] += to_decimal(fact.cost_nanos)
        totals[1] += to_decimal(fact.credits_nanos)
    assert {k: tuple(v) for k, v in by_team.items()} == independent_totals(rows, team)
    # The export has a tax row per month, a correction billed on a later invoice month and
    # late rows of each month billed on the next one: all are kept.
    assert CostFact.objects.filter(cost_type="tax").count() == 3
    correction = CostFact.objects.get(is_correction=True)
    assert (correction.invoice_month, correction.usage_date.month) == ("202602", 1)
    assert CostFact.objects.filter(invoice_month="202604").exists()


def test_japanese_yen_billing_keeps_its_currency_and_converts_to_usd(tmp_path):
    path = tmp_path / "jpy.jsonl"
    rows = generate_rows(first_month=datetime.date(2026, 1, 1), months=1, hours_per_day=1,
                         currency="JPY", rate=Decimal("150.5"))  # fmt: skip
    write_export(path, rows)
    import_files(paths=[path], source_name="jpy")
    rows = read_rows(path)
    assert set(CostFact.objects.values_list("currency", flat=True)) == {"JPY"}
    total = to_decimal(CostFact.objects.aggregate(total=Sum("cost_nanos"))["total"])
    assert total == sum(Decimal(str(row["cost"])) for row in rows)
    fact = CostFact.objects.filter(cost_nanos__gt=0).first()
    expected_usd = to_decimal(fact.cost_nanos) / Decimal("150.5")
    assert abs(to_decimal(fact.cost_usd_nanos) - expected_usd) < Decimal("0.000000001")


def test_loading_the_same_files_twice_changes_nothing(small_export):
    first = import_files(paths=[small_export], source_name="generated")
    before = snapshot()
    second = import_files(paths=[small_export], source_name="generated")
    assert snapshot() == before
    assert second.facts_written == 0
    assert {m["outcome"] for m in second.months} == {"unchanged"}
    assert {m["outcome"] for m in first.months} == {"new"}


def test_an_extract_split_in_many_files_loads_like_one(small_export, tmp_path):
    rows = read_rows(small_export)
    parts = [write_rows(tmp_path / f"part-{n}.json", rows[n::3]) for n in range(3)]
    import_files(paths=[small_export], source_name="whole")
    import_files(paths=parts, source_name="parts")
    digests = {
        source: set(BillingMonth.objects.filter(source__name=source)
                    .values_list("invoice_month", "digest"))
        for source in ("whole", "parts")
    }  # fmt: skip
    assert digests["whole"] == digests["parts"]


def test_a_corrected_month_replaces_the_old_one_which_stays_reproducible(small_export, tmp_path):
    import_files(paths=[small_export], source_name="generated")
    seen_at = timezone.now()
    rows = read_rows(small_export)
    for row in rows:
        if row["invoice"]["month"] == "202602" and row["project"]["id"] == "acme-marketing":
            row["cost"] = Decimal(str(row["cost"])) + Decimal("1.000001")
    changed = sum(1 for r in rows if r["invoice"]["month"] == "202602"
                  and r["project"]["id"] == "acme-marketing")  # fmt: skip
    newer = write_rows(tmp_path / "newer.json", rows)
    old_february = current_totals("invoice_month")[("202602",)]

    run = import_files(paths=[newer], source_name="generated")

    outcomes = {m["month"]: m["outcome"] for m in run.months}
    assert outcomes == {"202601": "unchanged", "202602": "replaced", "202603": "unchanged",
                        "202604": "unchanged"}  # fmt: skip
    new_february = current_totals("invoice_month")[("202602",)]
    assert new_february[0] - old_february[0] == Decimal("1.000001") * changed
    # As of before the reload, the old figure is what a report shows.
    as_of = CostFact.objects.as_of(seen_at).filter(invoice_month="202602")
    assert to_decimal(as_of.aggregate(total=Sum("cost_nanos"))["total"]) == old_february[0]
    superseded = BillingMonth.objects.get(invoice_month="202602", valid_to__isnull=False)
    assert superseded.superseded_by == run
    assert superseded.facts.exists()


# --- bad input: a precise message, and nothing written --------------------------------


BASE_ROW = json.loads(SAMPLE_JSONL.read_text().splitlines()[0])


def _variant(**changes) -> dict:
    row = json.loads(json.dumps(BASE_ROW))
    for path, value in changes.items():
        target = row
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is _DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return row


_DELETE = object()


@pytest.mark.parametrize(
    ("bad_row", "field", "message"),
    [
        (_variant(cost=_DELETE), "cost", "missing"),
        (_variant(cost="abc"), "cost", "'abc' is not a number"),
        (_variant(cost=True), "cost", "True is not a number"),
        (_variant(currency="XYZ"), "currency", "'XYZ' is not an ISO 4217 currency code"),
        (_variant(invoice__month="2020-11"), "invoice.month", "is not a month written YYYYMM"),
        (_variant(usage_start_time="yesterday"), "usage_start_time", "'yesterday' is not a time"),
        (_variant(service="BigQuery"), "service", "expected a record, got str"),
        (_variant(sku__id=_DELETE), "sku.id", "missing"),
        (_variant(credits=[{"amount": "lots", "type": "PROMOTION"}]), "credits[0].amount",
         "'lots' is not a number"),
        (_variant(currency_conversion_rate=0), "currency_conversion_rate",
         "must be greater than 0"),
    ],
    ids=["missing-cost", "text-cost", "bool-cost", "currency", "invoice-month", "timestamp",
         "structure", "missing-sku", "credit-amount", "rate"],
)  # fmt: skip
def test_a_bad_row_stops_the_import_naming_file_line_and_field(tmp_path, bad_row, field, message):
    import_files(paths=[SAMPLE_JSONL], source_name="generated")
    before = snapshot()
    rows = [BASE_ROW, BASE_ROW, bad_row, BASE_ROW]
    path = write_rows(tmp_path / "bad.jsonl", rows)
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="generated")
    problem = failed.value.problems[0]
    assert (problem.file, problem.line, problem.field) == (str(path), 3, field)
    assert message in problem.message
    assert f"bad.jsonl, line 3, field {field}:" in str(problem)
    assert snapshot() == before
    run = ImportRun.objects.latest("id")
    assert run.status == ImportRun.Status.FAILED
    assert message in run.error


def test_malformed_json_names_its_line(tmp_path):
    path = tmp_path / "broken.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps(BASE_ROW) + "\n\n" + json.dumps(BASE_ROW)[:-5] + "\n")
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="generated")
    problem = failed.value.problems[0]
    assert problem.line == 3
    assert "not valid JSON" in problem.message
    assert not CostFact.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", b"", "the file is empty"),
        ("blank.jsonl", b"\n\n", "no rows"),
        ("header-only.csv", b"billing_account_id,cost\n", "header but no rows"),
        ("export.xlsx", b"PK\x03\x04", "unknown format"),
        ("latin1.jsonl", json.dumps(BASE_ROW).replace("Security", "S\u00e9curit\u00e9")
         .encode("latin-1") + b"\n", "not UTF-8"),
    ],
)  # fmt: skip
def test_files_that_hold_no_billing_rows_are_reported(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="generated")
    assert message in str(failed.value.problems[0])
    assert not CostFact.objects.exists()


def test_a_missing_file_is_named_before_anything_is_read(tmp_path):
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[SAMPLE_JSONL, tmp_path / "nope.json"], source_name="generated")
    assert str(failed.value.problems[0]) == f"{tmp_path / 'nope.json'}: no such file"
    assert not CostFact.objects.exists()


def test_a_bad_csv_cell_names_its_line_and_column(tmp_path):
    lines = (SAMPLES / "gcp-billing-standard-koku-202011.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("cost")] = "twelve"
    path = tmp_path / "flat.csv"
    path.write_text("\n".join([lines[0], lines[1], ",".join(cells)]) + "\n")
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="generated")
    assert str(failed.value.problems[0]).endswith(
        "flat.csv, line 3, field cost: 'twelve' is not a number"
    )


def test_a_bad_parquet_value_names_its_row(tmp_path):
    source = write_rows(tmp_path / "rows.jsonl", [BASE_ROW, _variant(currency="ZZZ")])
    parquet = tmp_path / "rows.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{source}')) TO '{parquet}' (FORMAT parquet)")
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[parquet], source_name="generated")
    assert "rows.parquet, row 2, field currency: 'ZZZ'" in str(failed.value.problems[0])


# --- formats of values -------------------------------------------------------------------


def test_numbers_as_strings_other_timestamps_and_unknown_columns_are_accepted(tmp_path):
    plain = write_rows(tmp_path / "plain.jsonl", [BASE_ROW])
    variant = _variant(
        cost="5e-06",
        usage_start_time="2020-11-09T23:00:00Z",
        export_time="2020-11-10T05:49:32.199Z",
        brand_new_column={"anything": [1, 2]},
        usage=_DELETE,  # optional columns may be missing (the sample has no cost_at_list)
    )
    variant["credits"][0]["amount"] = "-5e-06"
    odd = write_rows(tmp_path / "odd.jsonl", [variant])
    import_files(paths=[plain], source_name="plain")
    import_files(paths=[odd], source_name="odd")
    assert current_totals("month__source__name") == {
        ("plain",): (Decimal("0.000005"), Decimal("-0.000005")),
        ("odd",): (Decimal("0.000005"), Decimal("-0.000005")),
    }


def test_an_import_run_records_its_files_and_months(small_export):
    run = import_files(paths=[small_export], source_name="generated", by_name="cli:tester")
    digest = hashlib.sha256(small_export.read_bytes()).hexdigest()
    assert run.files == [{"name": str(small_export), "format": "json",
                          "bytes": small_export.stat().st_size, "sha256": digest,
                          "shape": "standard"}]  # fmt: skip
    assert [m["month"] for m in run.months] == ["202601", "202602", "202603", "202604"]
    assert run.status == ImportRun.Status.SUCCEEDED
    assert run.facts_written == CostFact.objects.count()
    assert run.duration_seconds > 0


def test_import_billing_command_prints_a_summary_and_fails_clearly(small_export, tmp_path, capsys):
    call_command("import_billing", str(small_export), "--source", "cli")
    output = capsys.readouterr().out
    assert "202601: new" in output
    assert f"{CostFact.objects.count():,} facts written" in output
    bad = write_rows(tmp_path / "bad.jsonl", [_variant(currency="XYZ")])
    with pytest.raises(CommandError, match=r"nothing was imported:\n  .*bad.jsonl, line 1, "
                                           r"field currency"):  # fmt: skip
        call_command("import_billing", str(bad))


# --- found in review: file names, broken files, labels, sizes ----------------------------


def test_a_file_name_with_glob_characters_reads_only_that_file(tmp_path):
    star = write_rows(tmp_path / "jan*.jsonl", [BASE_ROW])
    write_rows(tmp_path / "jan-old.jsonl", [BASE_ROW, BASE_ROW])
    run = import_files(paths=[star], source_name="glob")
    assert run.rows_read == 1


def test_the_same_file_twice_is_refused(tmp_path):
    one = write_rows(tmp_path / "a.jsonl", [BASE_ROW])
    copy = write_rows(tmp_path / "b.jsonl", [BASE_ROW])
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[one, copy], source_name="twice")
    assert str(failed.value.problems[0]) == f"{copy}: the same content as {one}"
    assert not CostFact.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("truncated.jsonl.gz", "truncated", "cannot be read"),
        ("latin1.csv", "latin1-csv", "line 2: not UTF-8 text"),
        ("list-currency.jsonl", "list-currency", "field currency: ['USD'] is not an ISO"),
    ],
)
def test_broken_files_fail_the_run_with_a_message_not_a_crash(tmp_path, name, content, message):
    BillingSourceFactory(name="broken")  # a new source would not be made, nor its run
    path = tmp_path / name
    if content == "truncated":
        data = gzip.compress((json.dumps(BASE_ROW) + "\n").encode() * 200)
        path.write_bytes(data[: len(data) // 2])
    elif content == "latin1-csv":
        path.write_bytes("billing_account_id,cost\nS\xe9curit\xe9,1\n".encode("latin-1"))
    else:
        write_rows(path, [_variant(currency=["USD"])])
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="broken")
    assert message in str(failed.value.problems[0])
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert not CostFact.objects.exists()


@pytest.mark.parametrize(
    ("labels", "field", "message"),
    [
        ([{"key": None, "value": "x"}], "labels[0].key", "missing"),
        ([{"key": "team", "value": "a"}, {"key": "team", "value": "b"}], "labels[1].key",
         "'team' appears twice"),
    ],
)  # fmt: skip
def test_labels_without_a_key_or_with_a_key_twice_are_refused(tmp_path, labels, field, message):
    path = write_rows(tmp_path / "labels.jsonl", [BASE_ROW, _variant(labels=labels)])
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="labels")
    problem = failed.value.problems[0]
    assert (problem.line, problem.field, problem.message) == (2, field, message)


def test_an_amount_too_large_to_store_is_refused_before_anything_is_written(tmp_path):
    path = write_rows(tmp_path / "huge.jsonl", [_variant(cost="1e16")])
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="huge")
    assert str(failed.value.problems[0]).endswith(
        "field cost: '1e16' is larger than any real amount"
    )
    day = [_variant(cost="5e9"), _variant(cost="5e9")]  # each fine, their day is not
    path = write_rows(tmp_path / "day.jsonl", day)
    with pytest.raises(ImportFailed, match="more than Quarterdeck stores"):
        import_files(paths=[path], source_name="huge")
    assert not CostFact.objects.exists()


def test_an_empty_file_among_good_ones_is_reported(tmp_path):
    empty = tmp_path / "empty.jsonl.gz"
    empty.write_bytes(gzip.compress(b"\n  \n"))
    good = write_rows(tmp_path / "good.jsonl", [BASE_ROW])
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[good, empty], source_name="empty")
    assert str(failed.value.problems[0]) == f"{empty}: the file has no rows"


def test_parquet_problems_name_the_row_in_file_order(tmp_path):
    rows = [BASE_ROW] * 5000
    rows[4321] = _variant(currency="ZZZ")
    source = write_rows(tmp_path / "rows.jsonl", rows)
    parquet = tmp_path / "rows.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{source}')) TO '{parquet}' "
               "(FORMAT parquet, ROW_GROUP_SIZE 500)")  # fmt: skip
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[parquet], source_name="parquet")
    assert "rows.parquet, row 4322, field currency: 'ZZZ'" in str(failed.value.problems[0])


def test_csv_from_a_spreadsheet_with_a_byte_order_mark_loads(tmp_path):
    text = (SAMPLES / "gcp-billing-standard-koku-202011.csv").read_text()
    path = tmp_path / "excel.csv"
    path.write_text("\ufeff" + text)
    assert import_files(paths=[path], source_name="excel").rows_read == 25


def test_a_csv_header_with_a_column_twice_is_refused(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("billing_account_id,cost,cost\nx,1,2\n")
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="csv")
    assert (
        str(failed.value.problems[0]) == f"{path}, line 1, field cost: appears twice in the header"
    )


def test_timestamps_python_would_accept_but_the_reader_would_not_are_refused_precisely(tmp_path):
    path = write_rows(
        tmp_path / "times.jsonl", [BASE_ROW, _variant(usage_start_time="20201109T230000Z")]
    )
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="times")
    problem = failed.value.problems[0]
    assert (problem.line, problem.field) == (2, "usage_start_time")


def test_files_cannot_be_loaded_into_a_bigquery_source(tmp_path):
    BillingSource.objects.create(name="bq", kind=BillingSource.Kind.BIGQUERY, table="a.b.c")
    with pytest.raises(ImportFailed, match="loaded from BigQuery"):
        import_files(paths=[SAMPLE_JSONL], source_name="bq")


def test_late_hours_billed_on_the_next_invoice_stay_a_fact_of_their_own(tmp_path):
    path = tmp_path / "hourly.jsonl.gz"
    write_export(path, generate_rows(first_month=datetime.date(2026, 1, 1), months=1))
    rows = read_rows(path)
    import_files(paths=[path], source_name="hourly")
    expected = independent_totals(rows, lambda row: (row["invoice"]["month"],))
    assert current_totals("invoice_month") == expected
    assert set(expected) == {("202601",), ("202602",)}  # the last hour of January
    # The same day, project and SKU, on two invoices: two facts, one per invoice month.
    last_day = CostFact.objects.filter(
        usage_date=datetime.date(2026, 1, 31), project_id="acme-marketing",
        sku_description="Analysis",
    )  # fmt: skip
    assert sorted(last_day.values_list("invoice_month", flat=True)) == ["202601", "202602"]


def test_labels_in_another_order_are_the_same_label_set(tmp_path):
    row = _variant(labels=[{"key": "team", "value": "ae"}, {"key": "env", "value": "prod"}])
    swapped = _variant(labels=[{"key": "env", "value": "prod"}, {"key": "team", "value": "ae"}])
    path = write_rows(tmp_path / "order.jsonl", [row, swapped])
    import_files(paths=[path], source_name="order")
    fact = CostFact.objects.get()
    assert (fact.row_count, fact.label_set.labels) == (2, {"env": "prod", "team": "ae"})


# --- Issue 19: times no real export holds --------------------------------------------------


def _days_from_now(days: float) -> str:
    moment = timezone.now() + datetime.timedelta(days=days)
    return f"{moment.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"usage_start_time": "2999-12-31 00:00:00 UTC", "invoice__month": "299912"},
         ["usage_start_time", "invoice.month"]),
        ({"usage_start_time": "1970-01-01 00:00:00 UTC", "invoice__month": "197001"},
         ["usage_start_time", "invoice.month"]),
        ({"usage_start_time": "2014-12-31T23:59:59.999999Z"}, ["usage_start_time"]),
        ({"usage_end_time": "2999-12-31 01:00:00 UTC"}, ["usage_end_time"]),
        ({"export_time": "1970-01-01 00:00:00 UTC"}, ["export_time"]),
        ({"invoice__month": "299912"}, ["invoice.month"]),
        ({"invoice__month": 201412}, ["invoice.month"]),
    ],
    ids=["year-2999", "year-1970", "just-before-2015", "usage-end", "export-time",
         "invoice-month-only", "invoice-month-number"],
)  # fmt: skip
def test_times_outside_the_export_era_are_refused_naming_line_and_field(tmp_path, changes, fields):
    import_files(paths=[SAMPLE_JSONL], source_name="window")
    before = snapshot()
    path = write_rows(tmp_path / "odd.jsonl", [BASE_ROW, _variant(**changes)])
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="window")
    problems = failed.value.problems
    assert [(p.file, p.line, p.field) for p in problems] == [(str(path), 2, f) for f in fields]
    assert all("is outside 2015-01-01 to " in p.message for p in problems)
    assert snapshot() == before


def test_a_time_more_than_two_days_ahead_is_refused_in_every_format(tmp_path):
    ahead = _variant(usage_start_time=_days_from_now(3))
    ahead["invoice"]["month"] = ahead["usage_start_time"][:7].replace("-", "")
    jsonl = write_rows(tmp_path / "ahead.jsonl", [BASE_ROW, ahead])
    parquet = tmp_path / "ahead.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{jsonl}')) TO '{parquet}' (FORMAT parquet)")
    with (SAMPLES / "gcp-billing-standard-koku-202011.csv").open(newline="") as sample:
        header, *rows = list(csv.reader(sample))
    cells = list(rows[1])
    cells[header.index("usage_start_time")] = ahead["usage_start_time"]
    cells[header.index("invoice.month")] = ahead["invoice"]["month"]
    flat = tmp_path / "ahead.csv"
    with flat.open("w", newline="") as out:
        csv.writer(out).writerows([header, rows[0], cells])
    for path, where in [(jsonl, "line 2"), (parquet, "row 2"), (flat, "line 3")]:
        with pytest.raises(ImportFailed) as failed:
            import_files(paths=[path], source_name="ahead")
        assert [str(p).split(": ")[0] for p in failed.value.problems] == [
            f"{path}, {where}, field usage_start_time"
        ]
    assert not CostFact.objects.exists()


def test_the_ends_of_the_window_are_accepted(tmp_path):
    first = _variant(usage_start_time="2015-01-01 00:00:00 UTC", invoice__month="201501",
                     usage_end_time="2015-01-01 01:00:00 UTC",
                     export_time="2015-01-01 02:00:00 UTC")  # fmt: skip
    soon = _variant(usage_start_time=_days_from_now(1), usage_end_time=_days_from_now(1.04))
    soon["invoice"]["month"] = soon["usage_start_time"][:7].replace("-", "")
    path = write_rows(tmp_path / "ends.jsonl", [first, soon])
    assert import_files(paths=[path], source_name="ends").rows_read == 2


def test_import_billing_of_a_row_from_2999_exits_with_the_line_and_writes_nothing(tmp_path):
    import_files(paths=[SAMPLE_JSONL], source_name="billing-files")
    before = snapshot()
    path = write_rows(tmp_path / "2999.jsonl", [_variant(usage_start_time="2999-12-31 00:00:00 UTC",
                                                         invoice__month="299912")])  # fmt: skip
    with pytest.raises(CommandError) as failed:
        call_command("import_billing", str(path))
    assert f"{path}, line 1, field usage_start_time: '2999-12-31 00:00:00 UTC' is outside" in (
        str(failed.value)
    )
    assert snapshot() == before
    assert set(BillingMonth.objects.values_list("invoice_month", flat=True)) == {"202011"}


def test_a_csv_file_cut_short_inside_a_quoted_cell_is_refused(tmp_path):
    with (SAMPLES / "gcp-billing-standard-koku-202011.csv").open(newline="") as sample:
        header, *rows = list(csv.reader(sample))
    last = header.index("sku.description")
    order = [i for i in range(len(header)) if i != last] + [last]  # the description last
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL).writerows(
        [[row[i] for i in order] for row in (header, rows[0], rows[1])]
    )
    path = tmp_path / "cut.csv"
    path.write_text(buffer.getvalue().rstrip('"\r\n'))  # cut before the closing quote
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="cut")
    assert [str(p) for p in failed.value.problems] == [
        f"{path}, line 3: not readable as CSV: unexpected end of data"
    ]
    assert not CostFact.objects.exists()


def _with_credit_type(kind: str) -> dict:
    row = _variant()
    row["credits"][0]["type"] = kind
    return row


@pytest.mark.parametrize(
    ("bad_row", "field", "message"),
    [
        (_variant(sku__description="Analysis\u0000"), "sku.description", "a NUL character"),
        (_variant(project__name="\u0000"), "project.name", "a NUL character"),
        (_variant(labels=[{"key": "team", "value": "a\u0000e"}]), "labels[0].value",
         "a NUL character"),
        (_variant(project__labels=[{"key": "c\u0000c", "value": "x"}]), "project.labels[0].key",
         "a NUL character"),
        (_with_credit_type("PROMO\u0000"), "credits[0].type", "a NUL character"),
        # json.loads takes half a surrogate pair; DuckDB cannot read the line at all.
        (_variant(sku__description="Analysis \ud800"), "sku.description",
         "half a surrogate pair"),
        (_variant(brand_new={"note": "\udc00"}), "brand_new.note", "half a surrogate pair"),
    ],
    ids=["description", "project-name", "label-value", "project-label-key", "credit-type",
         "surrogate", "surrogate-unread-column"],
)  # fmt: skip
def test_text_no_database_stores_is_refused_naming_line_and_field(
    tmp_path, bad_row, field, message
):
    # PostgreSQL refuses NUL in text (SQLite takes it): refused on both, before storing.
    path = write_rows(tmp_path / "text.jsonl", [BASE_ROW, bad_row])
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="text")
    assert [(p.file, p.line, p.field) for p in failed.value.problems] == [(str(path), 2, field)]
    assert message in failed.value.problems[0].message
    assert not CostFact.objects.exists()


def test_a_nul_character_in_a_csv_cell_is_refused_naming_line_and_field(tmp_path):
    with (SAMPLES / "gcp-billing-standard-koku-202011.csv").open(newline="") as sample:
        header, *rows = list(csv.reader(sample))
    cells = list(rows[1])
    cells[header.index("service.description")] = "Security\x00 Command Center"
    path = tmp_path / "nul.csv"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows([header, rows[0], cells])
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="nul")
    assert [str(p) for p in failed.value.problems] == [
        f"{path}, line 3, field service.description: contains a NUL character (\\u0000)"
    ]
    assert not CostFact.objects.exists()


# --- A new --source is made only by a good import (issue 19) -----------------------------


@pytest.mark.parametrize("problem", ["bad-row", "missing-file", "too-large-to-store"])
def test_a_failed_import_into_a_new_source_leaves_no_source_behind(tmp_path, problem):
    if problem == "bad-row":
        path = write_rows(tmp_path / "bad.jsonl", [BASE_ROW, _variant(currency="XYZ")])
        expected = f"{path}, line 2, field currency: 'XYZ' is not an ISO 4217 currency code"
    elif problem == "missing-file":
        path = tmp_path / "nope.jsonl"
        expected = f"{path}: no such file"
    else:  # each row fits, their day does not: refused when stored
        path = write_rows(tmp_path / "day.jsonl", [_variant(cost="5e9"), _variant(cost="5e9")])
        expected = "could not store the facts: 202011 2020-11-09 billing-example-00000"
    with pytest.raises(CommandError) as failed:
        call_command("import_billing", "--source", "brand-new", str(path))
    assert str(failed.value).startswith(f"nothing was imported:\n  {expected}")
    assert not BillingSource.objects.exists()
    assert not ImportRun.objects.exists()
    assert not BillingMonth.objects.exists()


def test_a_good_import_makes_its_new_source_with_the_run_and_the_facts(small_export):
    run = import_files(paths=[small_export], source_name="brand-new", by_name="cli:tester")
    source = BillingSource.objects.get()
    assert (source.name, source.kind) == ("brand-new", BillingSource.Kind.FILES)
    assert run.source == source
    assert run.status == ImportRun.Status.SUCCEEDED
    stored = ImportRun.objects.get()
    assert stored.started_at == run.started_at < stored.finished_at
    assert stored.started_at <= source.created_at  # the run counts the reading too
    assert CostFact.objects.filter(month__source=source).count() == run.facts_written > 0


def test_a_failed_import_into_an_existing_source_is_recorded_on_it(tmp_path):
    BillingSourceFactory(name="known")
    path = write_rows(tmp_path / "bad.jsonl", [_variant(currency="XYZ")])
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="known")
    assert failed.value.run == ImportRun.objects.get(source__name="known")
    assert failed.value.run.status == ImportRun.Status.FAILED


# --- Lines too long to read (issue 19) -------------------------------------------------


def test_a_json_line_too_long_for_the_reader_is_named_by_the_users_file_and_line(tmp_path):
    # DuckDB refuses a line of about 32 MiB and more, naming its own copy of the file.
    BillingSourceFactory(name="huge")  # so that the failed run is recorded
    huge = _variant(brand_new="x" * (40 * 2**20))
    path = write_rows(tmp_path / "huge.jsonl", [BASE_ROW, huge, _variant(currency="XYZ")])
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="huge")
    assert [str(p) for p in failed.value.problems] == [
        f"{path}, line 2: longer than 16 MiB, the most a line may hold (a real row is a few KB)",
        f"{path}, line 3, field currency: 'XYZ' is not an ISO 4217 currency code",
    ]
    assert "quarterdeck-ingest" not in failed.value.run.error
    assert not CostFact.objects.exists()


def test_lines_up_to_the_limit_are_read_whole_and_longer_ones_skipped(monkeypatch):
    monkeypatch.setattr(rows, "MAX_LINE_BYTES", 10)
    stream = io.BytesIO(b"0123456789\n0123456789A\n\nlast456789A" + b"B" * 30 + b"\n0123456789")
    assert list(rows.bounded_lines(stream)) == [
        (1, b"0123456789\n"), (2, None), (3, b"\n"), (4, None), (5, b"0123456789"),
    ]  # fmt: skip
