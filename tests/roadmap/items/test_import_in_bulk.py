"""A sheet of thousands of rows is checked and written in bulk: the number of queries does
not grow with the rows, and what each row leaves (versions, history, teams, dependencies,
ranks) is what saving the items one by one leaves."""

import csv
import io
import math
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from roadmap.items.history import item_history
from roadmap.items.planning import EditConflict, ItemChange, save_items
from roadmap.items.spreadsheets import EXPORT_COLUMNS, export_items, import_items, items_for_export
from roadmap.models import RoadmapItem
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, ThemeFactory, quarter

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    return (
        TeamFactory(slug="ae", name="Analytics Engineering"),
        TeamFactory(slug="finance", name="Finance"),
        TeamFactory(slug="sales", name="Sales"),
    )


def seed(count: int, teams) -> list[RoadmapItem]:
    theme = ThemeFactory(name="Marts")
    return [
        RoadmapItemFactory(title=f"Item {n}", theme=theme, team=teams[0], rank=n + 1)
        for n in range(count)
    ]


def sheet(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(dict.fromkeys(EXPORT_COLUMNS, "") | row for row in rows)
    return out.getvalue().encode()


def exported() -> list[dict]:
    out = io.StringIO()
    export_items(items_for_export(), out)
    return list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))


def new_rows(count: int, depends_on: int) -> list[dict]:
    return [
        {"title": f"New {n}", "theme": "Marts", "team": "ae", "status": "proposed",
         "currency": "USD", "requesting_teams": "finance;sales", "depends_on": str(depends_on),
         "target_quarter": "2027-Q3", "effort_weeks": "3"}
        for n in range(count)
    ]  # fmt: skip


def edited_rows(count: int) -> list[dict]:
    table = exported()[:count]
    for row in table:
        row["effort_weeks"] = "8"
        row["requesting_teams"] = "finance"
    return table


def queries_to_import(data: bytes, manager) -> int:
    with CaptureQueriesContext(connection) as captured:
        import_items(data=data, by=manager)
    return len(captured)


def insert_batches(rows: int) -> int:
    """INSERT statements Django needs for `rows` new items: one on PostgreSQL; on SQLite
    one per 999 parameters (Django's figure for that limit)."""
    fields = [field for field in RoadmapItem._meta.concrete_fields if not field.primary_key]
    return math.ceil(rows / connection.ops.bulk_batch_size(fields, [None] * rows))


def test_edited_rows_cost_no_queries_of_their_own(manager, teams):
    seed(210, teams)
    few = queries_to_import(sheet(edited_rows(10)), manager)
    many = queries_to_import(sheet(edited_rows(200)), manager)  # 190 of them changed
    assert many == few


def test_new_rows_cost_no_queries_of_their_own(manager, teams):
    (first,) = seed(1, teams)
    few = queries_to_import(sheet(new_rows(10, first.pk)), manager)
    many = queries_to_import(sheet(new_rows(200, first.pk)), manager)
    assert many - few <= insert_batches(200) - insert_batches(10)  # 0 on PostgreSQL


def test_created_items_get_version_one_record_teams_dependencies_and_the_bottom_ranks(
    manager, teams
):
    first, second = seed(2, teams)
    import_items(data=sheet(new_rows(3, first.pk)), by=manager)

    created = list(RoadmapItem.objects.filter(title__startswith="New").order_by("pk"))
    assert [(item.title, item.rank, item.version) for item in created] == [
        ("New 0", 3, 1),
        ("New 1", 4, 1),
        ("New 2", 5, 1),
    ]
    for item in created:
        assert sorted(team.slug for team in item.requesting_teams.all()) == ["finance", "sales"]
        assert list(item.depends_on.all()) == [first]
        assert item.target_quarter == quarter("2027-Q3")
        (record,) = item.history.all()  # one record, as save_item leaves
        assert (record.history_type, record.history_user, record.history_change_reason) == (
            "~",
            manager,
            None,
        )
        assert (record.version, record.rank, record.effort_weeks) == (1, item.rank, Decimal(3))
        assert sorted(row.team.slug for row in record.requesting_teams.all()) == [
            "finance",
            "sales",
        ]
        assert [row.to_roadmapitem_id for row in record.depends_on.all()] == [first.pk]
    assert second.history.count() == 1  # its creation: its rank did not move


def test_updated_items_get_a_new_version_and_one_record_of_the_change(manager, teams):
    items = seed(3, teams)
    items[0].requesting_teams.set([teams[2]])
    table = edited_rows(2)
    result = import_items(data=sheet(table), by=manager)

    assert (result.created, result.updated, result.unchanged) == (0, 2, 0)
    for item in items[:2]:
        item.refresh_from_db()
        assert (item.version, item.effort_weeks) == (2, Decimal(8))
        assert [team.slug for team in item.requesting_teams.all()] == ["finance"]
        latest = item.history.latest()
        assert (latest.version, latest.history_user) == (2, manager)
        assert [row.team.slug for row in latest.requesting_teams.all()] == ["finance"]
    change = item_history(items[0])[0]
    assert (change.kind, change.who) == ("changed", "Mika Tanaka")
    assert {(c.field, c.old, c.new) for c in change.changes} == {
        ("effort_weeks", "—", "8.0"),
        ("requesting_teams", "Sales", "Finance"),
    }
    items[2].refresh_from_db()
    assert items[2].version == 1  # not in the sheet


def test_sheet_ranks_are_applied_and_the_items_that_move_are_recorded(manager, teams):
    first, second, third = seed(3, teams)
    first.requesting_teams.set([teams[1], teams[2]])
    records = {item.pk: item.history.count() for item in (first, second, third)}
    rows = new_rows(2, first.pk)
    rows[1]["rank"] = "1"
    import_items(data=sheet(rows), by=manager)

    order = list(RoadmapItem.objects.order_by("rank").values_list("title", "rank"))
    assert order == [("New 1", 1), ("Item 0", 2), ("Item 1", 3), ("Item 2", 4), ("New 0", 5)]
    for item in (first, second, third):  # not in the sheet, moved down one
        assert item.history.count() == records[item.pk] + 1
        moved = item.history.latest()
        assert (moved.rank, moved.version, moved.history_user) == (item.rank + 1, 1, manager)
        # The record of a move keeps the item's teams and dependencies.
        assert {row.team_id for row in moved.requesting_teams.all()} == {
            team.pk for team in item.requesting_teams.all()
        }


def test_a_sheet_that_closes_items_renumbers_the_open_ones(manager, teams):
    seed(3, teams)
    table = exported()
    table[0]["status"] = "done"
    import_items(data=sheet(table[:1]), by=manager)
    ranks = dict(RoadmapItem.objects.values_list("title", "rank"))
    assert (ranks["Item 1"], ranks["Item 2"]) == (1, 2)


def test_saving_in_bulk_refuses_every_item_if_one_moved_past_its_version(manager, teams):
    first, second = seed(2, teams)
    RoadmapItem.objects.filter(pk=second.pk).update(version=5)  # someone saved it meanwhile
    for item in (first, second):
        item.title = "Renamed"
    changes = [
        ItemChange(item=item, requesting_teams=[], depends_on=[], expected_version=1)
        for item in (first, second)
    ]
    records = RoadmapItem.history.count()
    with pytest.raises(EditConflict) as conflict:
        save_items(changes=changes, by=manager)
    assert conflict.value.item.pk == second.pk
    assert not RoadmapItem.objects.filter(title="Renamed").exists()
    assert RoadmapItem.history.count() == records
