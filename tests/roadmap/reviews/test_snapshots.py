"""What changed between two reviews, on a constructed pair of snapshots that covers every
kind of change, and the snapshot record of an item."""

from decimal import Decimal

import pytest

from roadmap.reviews.snapshots import changes_between, item_record, live_items


def record(key: int, **fields) -> dict:
    """A snapshot record as item_record writes it, with only what the diff reads."""
    base = {
        "id": key,
        "title": f"Item {key}",
        "status": "planned",
        "target_quarter": "2027-Q1",
        "rank": key,
        "rice_score": "10.0",
        "wsjf_score": "2.5",
        "people_cost": {"amount": "20000.00", "currency": "USD"},
        "bq_monthly_cost_change": None,
    }
    return {**base, **fields}


BEFORE = [
    record(1),  # unchanged
    record(2),  # slips a quarter
    record(3),  # pulled in
    record(4),  # moves down the ranking and is re-scored
    record(5),  # re-costed: more effort, and a BigQuery change appears
    record(6),  # done
    record(7),  # dropped
    record(8),  # deleted from the roadmap
    record(9, status="in_progress"),  # done, and the rank goes away: not "re-prioritised"
]
AFTER = [
    record(1),
    record(2, target_quarter="2027-Q3"),
    record(3, target_quarter="2026-Q4"),
    record(4, rank=12, rice_score="4.0"),
    record(
        5,
        people_cost={"amount": "32000.00", "currency": "USD"},
        bq_monthly_cost_change={"amount": "-150.00", "currency": "USD"},
    ),
    record(6, status="done", rank=None),
    record(7, status="dropped", rank=None),
    record(9, status="done", rank=None),
    record(10, target_quarter="2027-Q2"),  # new
]


def test_every_kind_of_change_between_two_snapshots_with_before_and_after():
    changes = {item.item_key: item for item in changes_between(before=BEFORE, after=AFTER)}
    assert 1 not in changes  # unchanged items are left out
    found = {
        key: [(c.kind, c.before, c.after) for c in item.changes] for key, item in changes.items()
    }
    assert found == {
        2: [("slipped", "2027-Q1", "2027-Q3")],
        3: [("pulled_in", "2027-Q1", "2026-Q4")],
        4: [
            ("reprioritised", "#4", "#12"),
            ("rescored", "RICE 10.0, WSJF 2.5", "RICE 4.0, WSJF 2.5"),
        ],
        5: [(
            "recosted",
            "people 20,000.00 USD, BigQuery none/month",
            "people 32,000.00 USD, BigQuery -150.00 USD/month",
        )],
        6: [("done", "planned", "done")],
        7: [("dropped", "planned", "dropped")],
        9: [("done", "in progress", "done")],
        10: [("added", "", "2027-Q2")],
        8: [("dropped", "planned", "deleted")],
    }  # fmt: skip
    # Item 5 stays 5th: only item 4 moved, though ranks 6, 7 and 9 left the open list.
    # Newer snapshot's order first, disappeared items last.
    assert list(changes) == [2, 3, 4, 5, 6, 7, 9, 10, 8]


def test_ranks_renumbered_after_a_finished_item_are_not_re_prioritisation():
    before = [record(1), record(2), record(3), record(4)]
    after = [record(1, status="done", rank=None), record(2, rank=1), record(3, rank=2),
             record(4, rank=3)]  # fmt: skip
    changes = changes_between(before=before, after=after)
    assert [(item.item_key, item.kinds) for item in changes] == [(1, ["done"])]


def test_of_two_items_that_swapped_places_the_one_that_moved_further_is_reported():
    before = [record(1), record(2), record(3), record(4), record(5)]
    after = [record(1), record(2, rank=5), record(3, rank=2), record(4, rank=3),
             record(5, rank=4)]  # fmt: skip
    changes = changes_between(before=before, after=after)
    assert [(item.item_key, item.kinds) for item in changes] == [(2, ["reprioritised"])]
    assert changes[0].changes[0].before == "#2"
    assert changes[0].changes[0].after == "#5"


def test_nothing_changes_between_identical_snapshots():
    assert changes_between(before=BEFORE, after=BEFORE) == []
    assert changes_between(before=[], after=[]) == []


@pytest.mark.django_db
def test_an_item_record_keeps_every_field_as_plain_json():
    import json

    from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, UserFactory, quarter

    requester = TeamFactory(name="Product Analytics")
    item = RoadmapItemFactory(
        title="Orders table", effort_weeks=Decimal("5"), reach=300, impact=Decimal("2"),
        confidence=80, rice_effort_months=Decimal("1.5"), bq_monthly_cost_change=Decimal("-90"),
        hours_saved_per_month=Decimal("40"), owner=UserFactory(username="owner"),
        start_quarter=quarter("2026-Q4"), target_quarter=quarter("2027-Q1"),
    )  # fmt: skip
    item.requesting_teams.add(requester)
    data = item_record(next(iter(live_items())))
    assert json.loads(json.dumps(data)) == data  # JSON-safe: no Decimal, no date
    assert data["people_cost"] == {"amount": "20000.000", "currency": "USD"}
    assert data["rice_score"] == str(item.rice_score())
    assert (data["start_quarter"], data["target_quarter"]) == ("2026-Q4", "2027-Q1")
    assert data["requesting_teams"] == ["Product Analytics"]
    assert data["bq_monthly_cost_change"] == {"amount": "-90.00", "currency": "USD"}
