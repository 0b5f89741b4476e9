"""Incidents from a CSV file: the example file, every kind of bad input (all or nothing,
with file, line and column), re-imports that change nothing, and the command."""

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from roadmap.budgets.incidents import ImportRejected, import_incidents
from roadmap.budgets.rules import budget_statuses
from roadmap.models import DataProduct, Incident
from tests.roadmap.factories import RoadmapItemFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).parent / "data" / "incidents.csv"
HEADER = "title,detected_at,resolved_at,severity,impact,products,cause,caused_by,follow_up\n"
GOOD_ROW = "Orders late,2026-10-05T09:30,2026-10-05T11:00,sev2,late_data,revenue-marts,,,\n"


@pytest.fixture
def products() -> dict[str, DataProduct]:
    """The products and roadmap items the example file names (the tests' zone is UTC)."""
    made = {}
    for slug, name, allowed in [
        ("revenue-marts", "Revenue marts", 4),
        ("support-dashboard", "Support dashboard", 2),
        ("finance-pipeline", "Finance pipeline", 6),
        ("sales-dashboard-jp", "売上ダッシュボード", 2),
    ]:
        made[slug] = DataProduct.objects.create(
            slug=slug, name=name, incidents_allowed=allowed, ready_by=datetime.time(7),
            late_days_allowed=2,
        )  # fmt: skip
    RoadmapItemFactory(pk=41, title="Move orders to incremental models")
    RoadmapItemFactory(pk=42, title="Row-count checks on the revenue marts")
    return made


def write(tmp_path: Path, text: str | bytes, name: str = "incidents.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def rejected(path: Path) -> list[tuple[int | None, str | None, str]]:
    """The problems an import of `path` reports; it must write nothing."""
    before = Incident.objects.count()
    with pytest.raises(ImportRejected) as refused:
        import_incidents(path=path)
    assert Incident.objects.count() == before
    for error in refused.value.errors:
        assert str(error).startswith(f"{path}, ")  # every message names the file
    return [(error.line, error.column, error.message) for error in refused.value.errors]


def local(text: str) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.fromisoformat(text))


# --- The example file ------------------------------------------------------------------


def test_the_example_file_records_every_incident(products):
    manager = UserFactory(username="mika")
    result = import_incidents(path=EXAMPLE, by=manager)
    assert (result.created, result.updated, result.unchanged) == (7, 0, 0)
    orders = Incident.objects.get(title="Orders table lost a day of rows")
    assert (orders.detected_at, orders.resolved_at) == (
        local("2026-10-05T09:30"),
        local("2026-10-05T15:45"),
    )
    assert (orders.severity, orders.impact) == ("sev1", "wrong_numbers")  # by label
    assert sorted(p.slug for p in orders.products.all()) == ["revenue-marts", "support-dashboard"]
    # A cell over two lines, with the spreadsheet's CRLF stored as LF.
    assert orders.cause == (
        "The incremental model of orders skipped a late-arriving partition.\n"
        "Backfilled 4 October and re-ran the marts."
    )
    assert (orders.caused_by_id, orders.follow_up_id, orders.recorded_by) == (41, 42, manager)
    # With an offset: 14:10 in Tokyo is 05:10 UTC.
    frozen = Incident.objects.get(title="Ticket counts frozen on the support dashboard")
    assert frozen.detected_at == local("2026-11-02T05:10")
    assert frozen.impact == "outage"
    # A day alone is midnight local time; values in any case.
    refunds = Incident.objects.get(title="Refunds double-counted in daily revenue")
    assert refunds.detected_at == local("2026-09-28T00:00")
    assert (refunds.severity, refunds.impact) == ("sev2", "wrong_numbers")
    assert (
        refunds.cause == 'Refund events were joined twice after the "refunds_v2" source was added.'
    )
    assert Incident.objects.get(title="Cost allocation missing a project").resolved_at is None
    japanese = Incident.objects.get(title="売上ダッシュボードの為替レートが古い")
    assert japanese.cause == "為替レートのテーブルが前日のまま更新されていなかった。"
    again = Incident.objects.get(title="Revenue marts late again")
    assert (again.severity, again.impact) == ("sev3", "late_data")
    assert sorted(p.slug for p in again.products.all()) == ["finance-pipeline", "revenue-marts"]
    # The budgets spend them: in Q4, revenue marts had 4 incidents (5 and 20 October,
    # 12 and 18 November; not 28 September), 2 of them late-data days.
    revenue = {s.product.slug: s for s in budget_statuses(today=datetime.date(2026, 11, 20))}[
        "revenue-marts"
    ]
    assert (revenue.used, revenue.late_days_used, revenue.state) == (4, 2, "exhausted")


def test_a_file_with_a_byte_order_mark_reads_the_same(products, tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + EXAMPLE.read_bytes())
    result = import_incidents(path=path)
    assert (result.created, result.updated, result.unchanged) == (7, 0, 0)
    assert Incident.objects.filter(title="Orders table lost a day of rows").exists()


# --- Re-imports ------------------------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(products):
    import_incidents(path=EXAMPLE)
    rows = list(Incident.objects.values().order_by("id"))
    links = list(Incident.products.through.objects.values_list("incident_id", "dataproduct_id"))
    history = Incident.history.count()
    result = import_incidents(path=EXAMPLE)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 7)
    assert list(Incident.objects.values().order_by("id")) == rows
    assert (
        list(Incident.products.through.objects.values_list("incident_id", "dataproduct_id"))
        == links
    )
    assert Incident.history.count() == history  # not even a history entry


def test_a_row_matching_a_recorded_incident_updates_it_and_replaces_its_products(
    products, tmp_path
):
    import_incidents(path=EXAMPLE)
    orders = Incident.objects.get(title="Orders table lost a day of rows")
    changed = write(tmp_path, HEADER + (
        # The same moment written with an offset still names the same incident.
        "Orders table lost a day of rows,2026-10-05T18:30+09:00,2026-10-05T16:00,sev2,"
        "wrong_numbers,support-dashboard,Fixed.,,42\n"
        "Cost allocation missing a project,2026-11-10T08:15,2026-11-11T09:00,sev3,"
        "wrong_numbers,finance-pipeline,,,\n"
        "Revenue marts late again,2026-11-18T07:00,2026-11-18T09:30,sev3,late_data,"
        "revenue-marts;finance-pipeline,,,42\n"
    ))  # fmt: skip
    result = import_incidents(path=changed)
    assert (result.created, result.updated, result.unchanged) == (0, 2, 1)
    assert Incident.objects.count() == 7
    orders.refresh_from_db()
    assert (orders.severity, orders.resolved_at, orders.cause) == (
        "sev2",
        local("2026-10-05T16:00"),
        "Fixed.",
    )
    assert (orders.caused_by_id, orders.follow_up_id) == (None, 42)
    assert [p.slug for p in orders.products.all()] == ["support-dashboard"]
    cost = Incident.objects.get(title="Cost allocation missing a project")
    assert cost.resolved_at == local("2026-11-11T09:00")


def test_columns_a_file_leaves_out_keep_the_recorded_values(products, tmp_path):
    import_incidents(path=EXAMPLE)
    short = write(tmp_path, "Title,Detected_at,Severity,Impact,Products\n"
                  "Orders table lost a day of rows,2026-10-05T09:30,sev2,wrong_numbers,"
                  "revenue-marts\n")  # fmt: skip
    result = import_incidents(path=short)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    orders = Incident.objects.get(title="Orders table lost a day of rows")
    assert orders.severity == "sev2"
    assert orders.resolved_at == local("2026-10-05T15:45")
    assert orders.cause.startswith("The incremental model")
    assert (orders.caused_by_id, orders.follow_up_id) == (41, 42)
    assert [p.slug for p in orders.products.all()] == ["revenue-marts"]


def test_a_dry_run_counts_and_writes_nothing(products, tmp_path):
    result = import_incidents(path=EXAMPLE, dry_run=True)
    assert (result.created, result.updated, result.unchanged, result.dry_run) == (7, 0, 0, True)
    assert not Incident.objects.exists()
    import_incidents(path=EXAMPLE)
    changed = write(tmp_path, HEADER + "Cost allocation missing a project,2026-11-10T08:15,"
                    "2026-11-11T09:00,sev3,wrong_numbers,finance-pipeline,,,\n")  # fmt: skip
    result = import_incidents(path=changed, dry_run=True)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert Incident.objects.get(title="Cost allocation missing a project").resolved_at is None


def test_the_database_holds_one_incident_per_title_and_moment(products, tmp_path):
    """The file's key is the database's: a row names at most one recorded incident."""
    from django.db import IntegrityError, transaction

    Incident.objects.create(title="Orders late", detected_at=local("2026-10-05T09:30"),
                            severity="sev2", impact="late_data")  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(title="Orders late", detected_at=local("2026-10-05T09:30"),
                                severity="sev3", impact="outage")  # fmt: skip
    result = import_incidents(path=write(tmp_path, HEADER + GOOD_ROW))
    assert (result.created, result.updated) == (0, 1)
    assert Incident.objects.get().severity == "sev2"


# --- Bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("Late,2026-10-05T09:30,,sev2,outage,revenue-mart,,,",
         "products", "no data product has the slug 'revenue-mart' (did you mean revenue-marts?)"),
        ("Late,2026-10-05T09:30,,sev2,outage,revenue-marts;nope,,,",
         "products", "no data product has the slug 'nope'"),
        ("Late,2026-10-05T09:30,,sev2,outage,,,,",
         "products", "name at least one data product whose budget it spends"),
        ("Late,2026-10-05T09:30,,sev2,outage,revenue-marts,,999,",
         "caused_by", "no roadmap item has the id 999"),
        ("Late,2026-10-05T09:30,,sev2,outage,revenue-marts,,,#42",
         "follow_up", "'#42' is not a roadmap item id (a whole number, e.g. 42)"),
        ("Late,2026-10-05T09:30,2026-10-05T08:00,sev2,outage,revenue-marts,,,",
         "resolved_at", "resolved (2026-10-05T08:00+00:00) before it was detected "
                        "(2026-10-05T09:30+00:00)"),
        ("Late,5/10/2026 09:30,,sev2,outage,revenue-marts,,,",
         "detected_at", "'5/10/2026 09:30' is not a date and time; write 2026-10-05T09:30"),
        ("Late,,,sev2,outage,revenue-marts,,,",
         "detected_at", "give the moment it was detected"),
        ("Late,2026-10-05T09:30,yesterday,sev2,outage,revenue-marts,,,",
         "resolved_at", "'yesterday' is not a date and time"),
        ("Late,2099-10-05T09:30,,sev2,outage,revenue-marts,,,",
         "detected_at", "'2099-10-05T09:30' is in the future"),
        ("Late,1999-12-31,,sev2,outage,revenue-marts,,,",
         "detected_at", "'1999-12-31' is outside the years 2000 to 2099"),
        ("Late,2026-10-05T09:30,,critical,outage,revenue-marts,,,",
         "severity", "'critical' is not a known severity; use one of sev1 (SEV1: critical), "
                     "sev2 (SEV2: major), sev3 (SEV3: minor)"),
        ("Late,2026-10-05T09:30,,,outage,revenue-marts,,,",
         "severity", "give the severity"),
        ("Late,2026-10-05T09:30,,sev2,slow,revenue-marts,,,",
         "impact", "'slow' is not a known impact; use one of wrong_numbers (Wrong numbers)"),
        (",2026-10-05T09:30,,sev2,outage,revenue-marts,,,",
         "title", "the title is empty"),
        (f"{'x' * 201},2026-10-05T09:30,,sev2,outage,revenue-marts,,,",
         "title", "the title is 201 characters long; at most 200 fit"),
        ("Late,2026-10-05T09:30,,sev2,outage,revenue-marts,,,,extra",
         None, "10 cells, but the header names 9 columns"),
    ],
)  # fmt: skip
def test_each_bad_cell_is_reported_with_line_and_column(products, tmp_path, row, column, message):
    problems = rejected(write(tmp_path, HEADER + GOOD_ROW + row + "\n"))
    assert len(problems) == 1
    line, where, text = problems[0]
    assert (line, where) == (3, column)
    assert text.startswith(message), text


@pytest.mark.parametrize("column", ["caused_by", "follow_up"])
@pytest.mark.parametrize("cell", ["²", "\u0664\u0662", "9" * 19, "9" * 30, "9" * 5000])
def test_an_item_id_that_is_not_a_small_whole_number_is_reported(products, tmp_path, column, cell):
    cells = {"caused_by": "", "follow_up": ""} | {column: cell}
    row = f"Late,2026-10-05T09:30,,sev2,outage,revenue-marts,,{cells['caused_by']},"
    problems = rejected(write(tmp_path, HEADER + GOOD_ROW + row + cells["follow_up"] + "\n"))
    assert problems == [(3, column, f"{cell!r} is not a roadmap item id (a whole number, e.g. 42)")]


def test_every_problem_is_listed_and_lines_count_multi_line_cells(products, tmp_path):
    path = write(tmp_path, HEADER + (
        'Orders late,2026-10-05T09:30,,sev2,late_data,revenue-marts,"Line one\n'  # 2
        'line two\n'  # 3
        'line three",41,\n'  # 4
        "Bad day,2026-10-06,,sev5,outage,revenue-marts,,,\n"  # 5
        "\n"  # 6: blank
        "Bad products,2026-10-07,2026-10-06,sev1,outage,kpi,,,7\n"  # 7
    ))  # fmt: skip
    problems = rejected(path)
    assert [(line, column) for line, column, _message in problems] == [
        (5, "severity"),
        (7, "products"),
        (7, "follow_up"),
        (7, "resolved_at"),
    ]
    with pytest.raises(ImportRejected) as refused:
        import_incidents(path=path)
    assert str(refused.value.errors[0]).startswith(f"{path}, line 5, severity: 'sev5' is not")


def test_the_same_incident_twice_in_a_file_is_refused(products, tmp_path):
    same_moment = GOOD_ROW.replace("2026-10-05T09:30", "2026-10-05T18:30+09:00", 1)
    path = write(tmp_path, HEADER + GOOD_ROW + same_moment)
    assert rejected(path) == [
        (3, "title", "the same incident (title and detected_at) is already on line 2")
    ]


def test_missing_required_columns_are_named(products, tmp_path):
    problems = rejected(write(tmp_path, "title,detected_at,products,cause\n" + "x,2026-10-05,,\n"))
    assert problems == [
        (1, "severity", "this required column is missing (required: title, detected_at, "
                        "severity, impact, products)"),
        (1, "impact", "this required column is missing (required: title, detected_at, "
                      "severity, impact, products)"),
    ]  # fmt: skip


def test_unknown_and_repeated_columns_are_refused(products, tmp_path):
    header = "title,detected_at,severity,impact,products,owner,title\n"
    problems = rejected(write(tmp_path, header + "x,2026-10-05,sev2,outage,revenue-marts,me,x\n"))
    assert [(line, column) for line, column, _message in problems] == [
        (1, "owner"),
        (1, "title"),
    ]
    assert problems[0][2].startswith("unknown column 'owner' (the columns are: title, ")
    assert problems[1][2] == "this column appears twice"


def test_a_spreadsheet_s_trailing_empty_columns_are_ignored(products, tmp_path):
    path = write(tmp_path, HEADER.rstrip("\n") + ",,\n" + GOOD_ROW.rstrip("\n") + ",,\n")
    assert import_incidents(path=path).created == 1


def test_semicolon_separated_files_are_refused_with_a_hint(products, tmp_path):
    path = write(tmp_path, HEADER.replace(",", ";") + GOOD_ROW.replace(",", ";"))
    assert rejected(path) == [(1, None, "the columns must be separated by commas, not semicolons")]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n \n"])
def test_an_empty_file_is_refused(products, tmp_path, content):
    problems = rejected(write(tmp_path, content))
    assert problems == [
        (1, None, "the file is empty; it needs a header line (title, detected_at, resolved_at, "
                  "severity, impact, products, cause, caused_by, follow_up) and a line per "
                  "incident"),
    ]  # fmt: skip


def test_a_file_that_is_not_utf8_is_refused_at_its_line(products, tmp_path):
    latin1 = HEADER + GOOD_ROW + "Café orders late,2026-10-06,,sev2,outage,revenue-marts,,,\n"
    problems = rejected(write(tmp_path, latin1.encode("cp1252")))
    assert problems == [
        (3, None, "this is not UTF-8 text (byte 0xe9); save the file as CSV UTF-8"),
    ]


def test_a_missing_file_is_refused(products, tmp_path):
    path = tmp_path / "no-such.csv"
    with pytest.raises(ImportRejected) as refused:
        import_incidents(path=path)
    assert [str(error) for error in refused.value.errors] == [
        f"{path}: cannot read the file: No such file or directory"
    ]


def test_local_times_follow_the_time_zone_and_clock_changes_need_an_offset(
    products, tmp_path, settings
):
    settings.TIME_ZONE = "America/Los_Angeles"
    # 1 November 2026, 01:30 happens twice in California (clocks go back at 02:00).
    repeated = GOOD_ROW.replace("2026-10-05T09:30", "2026-11-01T01:30", 1)
    problems = rejected(write(tmp_path, HEADER + repeated))
    assert problems == [
        (2, "detected_at", "'2026-11-01T01:30' is skipped or repeated in America/Los_Angeles "
                           "when the clocks change; add the UTC offset: 2026-11-01T01:30-07:00 "
                           "or 2026-11-01T01:30-08:00"),
    ]  # fmt: skip
    with_offset = "Orders late again,2026-11-01T01:30-08:00,,sev2,late_data,revenue-marts,,,\n"
    import_incidents(path=write(tmp_path, HEADER + GOOD_ROW + with_offset))
    detected = sorted(Incident.objects.values_list("detected_at", flat=True))
    utc = datetime.UTC
    assert detected == [
        datetime.datetime(2026, 10, 5, 16, 30, tzinfo=utc),  # 09:30 PDT
        datetime.datetime(2026, 11, 1, 9, 30, tzinfo=utc),
    ]


# --- The command -----------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_incidents", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_counts_and_reimports_change_nothing(products):
    assert run(str(EXAMPLE), "--dry-run") == (
        f"{EXAMPLE}: dry run, nothing written; it would be 7 created, 0 updated, 0 unchanged.\n"
    )
    assert not Incident.objects.exists()
    assert run(str(EXAMPLE)) == f"{EXAMPLE}: incidents 7 created, 0 updated, 0 unchanged.\n"
    assert run(str(EXAMPLE)) == f"{EXAMPLE}: incidents 0 created, 0 updated, 7 unchanged.\n"
    assert Incident.objects.count() == 7


def test_the_command_lists_every_problem_and_writes_nothing(products, tmp_path):
    path = write(tmp_path, HEADER + GOOD_ROW + "Late,2026-10-05,,sev2,outage,nope,,,\n"
                 "Later,2026-10-06,,sev9,outage,revenue-marts,,,\n")  # fmt: skip
    with pytest.raises(CommandError) as failed:
        run(str(path))
    message = str(failed.value)
    assert message.startswith("nothing was imported:\n")
    assert f"{path}, line 3, products: no data product has the slug 'nope'" in message
    assert f"{path}, line 4, severity: 'sev9' is not a known severity" in message
    assert not Incident.objects.exists()


def test_a_cell_the_csv_reader_cannot_read_is_reported_at_its_line(products, tmp_path):
    huge = f'Huge,2026-10-06,,sev2,outage,revenue-marts,"{"x" * 200_000}",,\n'
    problems = rejected(write(tmp_path, HEADER + GOOD_ROW + "\n" + huge))
    assert problems == [(4, None, "cannot read it: field larger than field limit (131072)")]


# --- Found by an outside probe (issue 19) ------------------------------------------------


def test_a_nul_character_in_a_cell_is_refused_with_its_line_and_column(products, tmp_path):
    # PostgreSQL cannot store it (SQLite can): refused on both, before the database.
    path = write(tmp_path, HEADER + GOOD_ROW + "Orders\x00 late,2026-10-06,,sev2,outage,"
                 'revenue-marts,"first line\nthen a NUL: \x00",,\n')  # fmt: skip
    assert rejected(path) == [
        (3, "title", "contains a NUL character (\\u0000)"),
        (3, "cause", "contains a NUL character (\\u0000)"),
    ]


def test_the_command_names_a_nul_character_instead_of_a_traceback(products, tmp_path):
    path = write(tmp_path, HEADER + "Orders late\x00,2026-10-05,,sev2,late_data,revenue-marts,,,\n")
    with pytest.raises(CommandError) as failed:
        run(str(path))
    assert str(failed.value) == (
        f"nothing was imported:\n  {path}, line 2, title: contains a NUL character (\\u0000)"
    )
    assert not Incident.objects.exists()


def test_a_file_cut_short_inside_a_quoted_cell_is_refused(products, tmp_path):
    cut = 'Late again,2026-10-06,,sev2,outage,revenue-marts,"The load job was killed'
    assert rejected(write(tmp_path, HEADER + GOOD_ROW + cut)) == [
        (3, None, "a quoted cell is never closed: the file ends inside it (is it cut short?)")
    ]
    with pytest.raises(CommandError, match="line 3: a quoted cell is never closed"):
        run(str(tmp_path / "incidents.csv"))
    assert not Incident.objects.exists()
