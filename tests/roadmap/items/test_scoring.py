from decimal import Decimal

import pytest

from roadmap.items import scoring
from tests.roadmap.factories import RoadmapItemFactory


@pytest.mark.parametrize(
    ("reach", "impact", "confidence", "effort", "expected"),
    [
        # 500 x 2 x 0.8 / 2 = 400
        (500, Decimal("2"), 80, Decimal("2"), Decimal("400.00")),
        # 150 x 3 x 1.0 / 1.5 = 300
        (150, Decimal("3"), 100, Decimal("1.5"), Decimal("300.00")),
        # 40 x 0.25 x 0.5 / 0.5 = 10
        (40, Decimal("0.25"), 50, Decimal("0.5"), Decimal("10.00")),
        # 1000 x 1 x 0.8 / 3 = 266.666... -> 266.67
        (1000, Decimal("1"), 80, Decimal("3"), Decimal("266.67")),
        # 7 x 0.5 x 0.5 / 4 = 0.4375 -> 0.44
        (7, Decimal("0.5"), 50, Decimal("4"), Decimal("0.44")),
    ],
)
def test_rice_matches_hand_computed_examples(reach, impact, confidence, effort, expected):
    assert scoring.rice(reach, impact, confidence, effort) == expected


def test_rice_counts_effort_below_half_a_month_as_half_a_month():
    assert scoring.rice(100, Decimal("1"), 100, Decimal("0.1")) == Decimal("200.00")


@pytest.mark.parametrize("missing", [0, 1, 2, 3])
def test_rice_is_unknown_until_every_input_is_known(missing):
    inputs = [500, Decimal("2"), 80, Decimal("2")]
    inputs[missing] = None
    assert scoring.rice(*inputs) is None


@pytest.mark.parametrize(
    ("value", "criticality", "risk", "size", "expected"),
    [
        ((8), 13, 8, 3, Decimal("9.67")),  # 29 / 3 = 9.666...
        (13, 13, 8, 5, Decimal("6.80")),  # 34 / 5
        (1, 1, 1, 20, Decimal("0.15")),  # 3 / 20
        (20, 20, 20, 1, Decimal("60.00")),
    ],
)
def test_wsjf_matches_hand_computed_examples(value, criticality, risk, size, expected):
    assert scoring.wsjf(value, criticality, risk, size) == expected


def test_wsjf_is_unknown_without_job_size():
    assert scoring.wsjf(8, 8, 8, None) is None


def test_competition_ranks_share_ties_and_skip_unscored():
    scores = {"a": Decimal(10), "b": Decimal(30), "c": Decimal(10), "d": None, "e": Decimal(5)}
    ranks = scoring.competition_ranks(scores, scores.get)
    assert ranks == {"b": 1, "a": 2, "c": 2, "e": 4}


@pytest.mark.django_db
def test_adding_an_item_never_changes_another_items_score():
    first = RoadmapItemFactory(
        reach=200,
        impact=Decimal("1"),
        confidence=80,
        rice_effort_months=Decimal("1"),
        business_value=5,
        time_criticality=3,
        risk_reduction=2,
        job_size=2,
    )
    before = (first.rice_score(), first.wsjf_score())
    RoadmapItemFactory(
        reach=100_000,
        impact=Decimal("3"),
        confidence=100,
        rice_effort_months=Decimal("0.5"),
        business_value=20,
        time_criticality=20,
        risk_reduction=20,
        job_size=1,
    )
    first.refresh_from_db()
    assert (
        (first.rice_score(), first.wsjf_score()) == before == (Decimal("160.00"), Decimal("5.00"))
    )
