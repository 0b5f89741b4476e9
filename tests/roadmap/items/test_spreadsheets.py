import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from roadmap.items.spreadsheets import EXPORT_COLUMNS, ImportRejected, import_items
from roadmap.models import RoadmapItem
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, ThemeFactory, quarter

pytestmark = pytest.mark.django_db


@pytest.fixture
def roadmap(manager):
    theme = ThemeFactory(name="Intermediate tables")
    ae = TeamFactory(name="Analytics Engineering", slug="ae", weekly_rate=Decimal("4200"))
    finance = TeamFactory(name="Finance", slug="finance")
    first = RoadmapItemFactory(
        title="int_orders_enriched",
        theme=theme,
        team=ae,
        owner=manager,
        rank=1,
        description='Orders joined with customers, "quoted", with a comma, and\na new line.',
        start_quarter=quarter("2027-Q1"),
        target_quarter=quarter("2027-Q2"),
        reach=400,
        impact=Decimal("2"),
        confidence=80,
        rice_effort_months=Decimal("1.5"),
        business_value=13,
        time_criticality=8,
        risk_reduction=5,
        job_size=3,
        effort_weeks=Decimal("6"),
        bq_monthly_cost_change=Decimal("-900.50"),
        hours_saved_per_month=Decimal("120"),
        users_affected=400,
        benefit_chain="analysts -> product managers",
        links="https://wiki.example.com/a",
    )
    first.requesting_teams.set([finance, ae])
    second = RoadmapItemFactory(
        title="売上ダッシュボード", theme=theme, team=ae, rank=2, impact=Decimal("0.25")
    )
    second.depends_on.set([first])
    return first, second


def export(client) -> bytes:
    response = client.get(reverse("roadmap:item-export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return response.content


def rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def upload(client, content: bytes, name: str = "roadmap.csv"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse("roadmap:item-import"), {"file": file})


def test_export_has_every_column_and_readable_values(manager_client, roadmap):
    data = export(manager_client)
    assert data.startswith("\ufeff".encode())  # spreadsheets then read UTF-8 correctly
    first, second = rows(data)
    assert list(first) == EXPORT_COLUMNS
    assert first["requesting_teams"] == "ae;finance"
    assert first["start_quarter"] == "2027-Q1"
    assert first["impact"] == "2"
    assert first["owner"] == "manager"
    assert first["rice_score"] == "426.67"  # 400 x 2 x 0.8 / 1.5
    assert Decimal(first["people_cost"]) == Decimal("25200")  # 6 weeks x 4,200
    assert first["people_cost_currency"] == "USD"
    assert second["title"] == "売上ダッシュボード"
    assert second["depends_on"] == str(roadmap[0].pk)


def test_export_reimports_without_change(manager_client, roadmap):
    before = export(manager_client)
    history_before = RoadmapItem.history.count()
    response = upload(manager_client, before)
    assert response.status_code == 302
    assert RoadmapItem.history.count() == history_before
    assert export(manager_client) == before
    messages = [str(m) for m in response.wsgi_request._messages]
    assert "0 created, 0 updated, 2 unchanged" in messages[0]


def test_import_updates_and_creates_from_an_edited_export(manager_client, manager, roadmap):
    table = rows(export(manager_client))
    table[0]["effort_weeks"] = "8"
    table[0]["status"] = "In progress"  # the label works as well as the value
    new = dict.fromkeys(EXPORT_COLUMNS, "")
    new.update(
        title="int_sessions",
        theme="Intermediate tables",
        team="ae",
        status="proposed",
        target_quarter="2027-Q3",
        currency="USD",
        requesting_teams="finance",
    )
    table.append(new)
    out = io.StringIO()
    writer = csv.DictWriter(out, EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(table)
    response = upload(manager_client, out.getvalue().encode())
    assert response.status_code == 302
    first = RoadmapItem.objects.get(pk=roadmap[0].pk)
    assert (first.effort_weeks, first.status, first.version) == (Decimal("8"), "in_progress", 2)
    assert first.history.latest().history_user == manager
    created = RoadmapItem.objects.get(title="int_sessions")
    assert (created.rank, created.target_quarter.code) == (3, "2027-Q3")
    assert [t.slug for t in created.requesting_teams.all()] == ["finance"]


def test_bad_rows_are_all_reported_with_line_and_column_and_nothing_is_written(
    manager_client, roadmap
):
    text = export(manager_client).decode("utf-8-sig")
    table = rows(text.encode())
    extra = dict(table[1], id="", title="", team="nobody")
    table[0]["impact"] = "7"
    table[0]["target_quarter"] = "2027-Q9"
    table[1]["theme"] = "No such theme"
    table[1]["effort_weeks"] = "lots"
    out = io.StringIO()
    writer = csv.DictWriter(out, EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows([*table, extra])
    before = export(manager_client)

    response = upload(manager_client, out.getvalue().encode(), name="q1-draft.csv")
    assert response.status_code == 400
    found = {(e.line, e.column) for e in response.context["errors"]}
    # Line 1 is the header; the first item's description spans two lines (2-3).
    assert found == {
        (2, "impact"),
        (2, "target_quarter"),
        (4, "theme"),
        (4, "effort_weeks"),
        (5, "title"),
        (5, "team"),
    }
    page = response.content.decode()
    assert "q1-draft.csv: 6 problems, nothing was imported" in page
    assert "2027-Q9" in page
    assert "No theme named “No such theme”" in page
    assert "No team with slug “nobody”" in page
    assert export(manager_client) == before


def test_a_row_exported_before_someone_elses_edit_is_refused(manager_client, roadmap):
    stale = export(manager_client)
    item = roadmap[0]
    item.title = "Renamed meanwhile"
    item.version += 1
    item.save()
    with pytest.raises(ImportRejected) as rejected:
        import_items(data=stale, by=roadmap[0].owner)
    assert [(e.line, e.column) for e in rejected.value.errors] == [(2, "version")]
    assert "export again" in rejected.value.errors[0].message
    assert RoadmapItem.objects.get(pk=item.pk).title == "Renamed meanwhile"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", [(1, "-")]),
        (b"title,colour\nx,red\n", [(1, "colour")]),
        (b"theme,team\nx,y\n", [(1, "title")]),
        (b"title\nNew item\n", [(2, "theme"), (2, "team")]),
        ("title,theme,team\nCafé,x,y\n".encode("latin-1"), [(2, "-")]),
        (b"id,title,theme,team\n12345,x,y,z\n", [(2, "id"), (2, "theme"), (2, "team")]),
        ("id,title,theme,team\n\u00b2,x,y,z\n".encode(), [(2, "id"), (2, "theme"), (2, "team")]),
        (
            b"id,title,theme,team\n" + b"9" * 5000 + b",x,y,z\n",
            [(2, "id"), (2, "theme"), (2, "team")],
        ),
        (b"title,theme,team,status\nx,y,z,someday\n", [(2, "theme"), (2, "team"), (2, "status")]),
        (b"title,theme,team\na,b,c,d\n", [(2, "-"), (2, "theme"), (2, "team")]),
        # Over csv.field_size_limit() (128 KB), still under the upload limit.
        (b"title,theme,team\n\n" + b"x" * 4_000_000 + b",y,z\n", [(3, "-")]),
        (b'"title,theme,team\n', [(1, "-")]),
    ],
    ids=[
        "empty",
        "unknown-column",
        "no-title",
        "new-item-without-theme",
        "not-utf8",
        "unknown-id",
        "superscript-id",
        "huge-id",
        "bad-status",
        "too-many-cells",
        "4-mb-cell",
        "header-ends-in-quotes",
    ],
)
def test_malformed_files_are_refused_with_where_the_problem_is(manager, content, expected):
    with pytest.raises(ImportRejected) as rejected:
        import_items(data=content, by=manager)
    assert [(e.line, e.column) for e in rejected.value.errors] == expected
    assert RoadmapItem.objects.count() == 0


def test_the_same_item_twice_in_one_file_is_refused(manager_client, roadmap):
    text = export(manager_client).decode("utf-8-sig")
    lines = text.splitlines(keepends=True)
    doubled = "".join([*lines, lines[-1]]).encode()
    with pytest.raises(ImportRejected) as rejected:
        import_items(data=doubled, by=roadmap[0].owner)
    assert [e.column for e in rejected.value.errors] == ["id"]
    assert "already appears on line 4" in rejected.value.errors[0].message


def test_columns_left_out_keep_their_values(manager_client, roadmap):
    first = roadmap[0]
    sheet = f"id,title\n{first.pk},Renamed only\n".encode()
    result = import_items(data=sheet, by=first.owner)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    renamed = RoadmapItem.objects.get(pk=first.pk)
    assert renamed.title == "Renamed only"
    assert (renamed.effort_weeks, renamed.reach, renamed.requesting_teams.count()) == (
        Decimal("6.0"),
        400,
        2,
    )


def test_a_minimal_sheet_creates_proposed_items_at_the_bottom(manager_client, roadmap):
    sheet = b"title,theme,team\nNew idea,Intermediate tables,ae\n"
    import_items(data=sheet, by=roadmap[0].owner)
    item = RoadmapItem.objects.get(title="New idea")
    assert (item.status, item.rank, item.currency) == ("proposed", 3, "USD")


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_defused_and_round_trips(
    manager_client, roadmap
):
    formula = '=HYPERLINK("https://evil.example.com","click")'
    item = roadmap[0]
    item.title = formula
    item.benefit_chain = "-> analysts"
    item.save()
    before = export(manager_client)
    row = rows(before)[0]
    assert row["title"] == "'" + formula
    assert row["benefit_chain"] == "'-> analysts"
    assert row["bq_monthly_cost_change"] == "-900.50"  # numbers stay numbers
    result = import_items(data=before, by=item.owner)
    assert result.unchanged == 2
    assert RoadmapItem.objects.get(pk=item.pk).title == formula


def test_two_rows_that_close_a_dependency_loop_together_are_refused(manager_client, roadmap):
    first, second = roadmap
    second.depends_on.clear()
    sheet = f"id,depends_on\n{first.pk},{second.pk}\n{second.pk},{first.pk}\n".encode()
    with pytest.raises(ImportRejected) as rejected:
        import_items(data=sheet, by=first.owner)
    assert [(e.line, e.column) for e in rejected.value.errors] == [
        (2, "depends_on"),
        (3, "depends_on"),
    ]
    assert "makes a loop: int_orders_enriched → 売上ダッシュボード → int_orders_enriched" in (
        rejected.value.errors[0].message
    )
    assert not first.depends_on.exists()
    assert not second.depends_on.exists()


def test_a_dependency_on_a_dropped_item_round_trips(manager_client, roadmap):
    first, second = roadmap
    first.status = "dropped"
    first.save()
    before = export(manager_client)
    result = import_items(data=before, by=first.owner)
    assert result.unchanged == 2
    assert list(second.depends_on.all()) == [first]


def test_a_sheets_rank_wins_over_the_item_already_there(manager_client, roadmap):
    first, _second = roadmap
    third = RoadmapItemFactory(title="Third", theme=first.theme, team=first.team, rank=3)
    import_items(data=f"id,rank\n{third.pk},1\n".encode(), by=first.owner)
    order = list(RoadmapItem.objects.order_by("rank").values_list("title", "rank"))
    assert order == [("Third", 1), ("int_orders_enriched", 2), ("売上ダッシュボード", 3)]


def test_line_numbers_count_blank_lines(manager):
    sheet = b"title,theme,team\n\nok,,\n\n\nbad,,\n"
    with pytest.raises(ImportRejected) as rejected:
        import_items(data=sheet, by=manager)
    assert sorted({e.line for e in rejected.value.errors}) == [3, 6]


def test_a_rejected_import_writes_no_quarters(manager, roadmap):
    from roadmap.models import Quarter

    before = set(Quarter.objects.values_list("code", flat=True))
    sheet = b"title,theme,team,target_quarter\nNew,No such theme,ae,2031-Q2\n"
    with pytest.raises(ImportRejected):
        import_items(data=sheet, by=manager)
    assert set(Quarter.objects.values_list("code", flat=True)) == before


@pytest.mark.parametrize("code", ["0000-Q1", "9999-Q4", "2027-Q0"])
def test_quarters_outside_planning_years_are_a_row_error(manager, roadmap, code):
    sheet = f"title,theme,team,target_quarter\nNew,Intermediate tables,ae,{code}\n".encode()
    with pytest.raises(ImportRejected) as rejected:
        import_items(data=sheet, by=manager)
    assert [(e.line, e.column) for e in rejected.value.errors] == [(2, "target_quarter")]


def test_text_starting_with_an_apostrophe_round_trips(manager_client, roadmap):
    item = roadmap[0]
    item.title = "'-- not a formula"
    item.save()
    result = import_items(data=export(manager_client), by=item.owner)
    assert result.unchanged == 2
    assert RoadmapItem.objects.get(pk=item.pk).title == "'-- not a formula"


def test_a_file_over_the_upload_limit_is_refused_and_nothing_is_imported(manager_client, roadmap):
    from core.forms import MAX_UPLOAD_BYTES

    before = RoadmapItem.objects.count()
    response = upload(manager_client, b"title\n" + b"x" * MAX_UPLOAD_BYTES)
    assert response.status_code == 400
    assert "The file is larger than 5 MB." in response.content.decode()
    assert RoadmapItem.objects.count() == before


def test_a_cell_too_big_for_the_csv_module_is_a_line_error_not_a_server_error(
    manager_client, roadmap
):
    before = RoadmapItem.objects.count()
    cell = "x" * 4_000_000
    response = upload(manager_client, f"id,title\n{roadmap[0].pk},{cell}\n".encode())
    assert response.status_code == 400
    assert [(e.line, e.column) for e in response.context["errors"]] == [(2, "-")]
    page = response.content.decode()
    assert "roadmap.csv: 1 problem, nothing was imported" in page
    assert "cannot be read as CSV: field larger than field limit" in page
    assert RoadmapItem.objects.count() == before
    assert RoadmapItem.objects.get(pk=roadmap[0].pk).version == 1


def test_a_file_ending_inside_quotes_is_refused_not_cut_short(manager, roadmap):
    sheet = 'title,theme,team\nGood row,Intermediate tables,ae\nLast,Intermediate tables,"ae\n'
    with pytest.raises(ImportRejected) as rejected:
        import_items(data=sheet.encode(), by=manager)
    assert [(e.line, e.column) for e in rejected.value.errors] == [(3, "-")]
    assert "unexpected end of data" in rejected.value.errors[0].message
    assert not RoadmapItem.objects.filter(title__in=["Good row", "Last"]).exists()


def test_a_new_row_already_done_or_dropped_is_imported_after_every_open_item(
    manager_client, roadmap
):
    first = roadmap[0]
    sheet = (f"title,theme,team,status\nShipped last year,{first.theme.name},{first.team.slug},"
             f"done\nGiven up,{first.theme.name},{first.team.slug},dropped\n").encode()  # fmt: skip
    result = import_items(data=sheet, by=first.owner)
    assert result.created == 2
    ranks = dict(RoadmapItem.objects.values_list("title", "rank"))
    open_ranks = sorted(r for t, r in ranks.items() if t not in ("Shipped last year", "Given up"))
    assert open_ranks == [1, 2]  # the open items keep 1..n
    assert ranks["Shipped last year"] > 2
    assert ranks["Given up"] == ranks["Shipped last year"] + 1
