"""Realised benefit from a constructed job history, every figure worked out by hand in the
comments beside it.

The calendar (2026): the main item shipped on Wednesday 2 September (ISO week 36, whose
Monday is 31 August). The before window is 8 July to 1 September, the after window 2
September to 27 October; as_of is Wednesday 28 October (week 44), so the after window is
complete. 365/12 = 30.41666... days make a month.
"""

from decimal import Decimal

import pytest

from core.money import Money
from cost.models import AllocationRule, BigQueryJob, BigQueryTable
from roadmap.evidence.benefit import (
    CostSource,
    Outcome,
    benefit_by_quarter,
    benefit_of_items,
    item_benefit,
)
from roadmap.models import RoadmapItem, StakeholderInterview
from tests.cost.factories import CostFactFactory
from tests.roadmap.evidence.job_history import AS_OF, SA, SHIPPED, D, constructed_world, item

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict:
    return constructed_world()


def test_adoption_per_iso_week_from_the_delivery_day(world):
    adoption = item_benefit(item=world["main"], as_of=AS_OF).adoption
    weeks = [(w.label, w.people, w.service_accounts, w.teams, w.queries) for w in adoption.weeks]
    assert weeks == [
        # p1 (2 queries on the 2nd; the 1st, before shipping, not counted), p2; the
        # dashboard account's 3 queries: 6 queries, 2 people of one team.
        ("2026-W36", 2, 1, 1, 6),
        ("2026-W37", 2, 0, 2, 101),  # p3 (Sales) 1, p1 (Analysts) 100
        ("2026-W38", 8, 0, 1, 8),  # the 8 people of Ops, 1 query each
        ("2026-W39", 1, 0, 0, 5),  # p4, in no team; 5 queries reading two tables, once
        ("2026-W40", 0, 0, 0, 0),
        ("2026-W41", 0, 0, 0, 0),
        ("2026-W42", 0, 0, 0, 0),
        ("2026-W43", 0, 0, 0, 0),
        ("2026-W44", 0, 0, 0, 0),
    ]
    assert (adoption.people, adoption.teams, adoption.queries) == (12, 3, 120)
    # First days: p1 2 Sep (day 0), p2 4 Sep (2), p3 8 Sep (6), the 8 of Ops 15 Sep (13):
    # the 10th person came on day 13; there were never 50.
    assert adoption.days_to_10_people == 13
    assert adoption.days_to_50_people is None
    assert adoption.days_to_people(3) == 6
    # Interviewed: Analysts and Finance (Sales' interview names no item); Analysts query.
    assert adoption.interviewed_teams == ("Analysts", "Finance")
    assert adoption.adopting_interviewed_teams == ("Analysts",)
    assert adoption.interviewed_share == Decimal("0.50")


def test_an_item_in_progress_shows_the_last_eight_weeks_and_no_milestones(world):
    adoption = item_benefit(item=world["building"], as_of=AS_OF).adoption
    # 3 September to 28 October: p2 (4 Sep), p3, p1, the 8 of Ops and p4: 12 people (p1's
    # queries of 1 and 2 September fall before).
    assert adoption.since == D(2026, 9, 3)
    assert adoption.people == 12
    assert adoption.days_to_10_people is None  # not delivered: no milestone


def test_readers_left_per_week_the_people_to_talk_to_and_flagged_reads(world):
    retirement = item_benefit(item=world["main"], as_of=AS_OF).retirement
    assert retirement.since == D(2026, 7, 8)  # 8 weeks before delivery
    counts = {w.label: w.readers for w in retirement.weeks if w.readers}
    # p1 and p3 in week 35; lee in 37; the dashboard in 40; the dashboard and lee in 43.
    assert counts == {"2026-W35": 2, "2026-W37": 1, "2026-W40": 1, "2026-W43": 2}
    assert len(retirement.weeks) == 17  # weeks 28 to 44
    assert [(t.table.table_id, t.last_read_on) for t in retirement.per_table] == [
        ("legacy", D(2026, 10, 25))
    ]
    # Read in the 28 days up to 28 October (from 1 October): lee (3 queries on the 25th)
    # and the dashboard (2 on the 2nd, 1 on the 20th); newest first.
    assert [(r.email, r.team, r.last_query_on, r.queries) for r in retirement.remaining] == [
        ("lee@acme.example", "Sales", D(2026, 10, 25), 3),
        (SA, "", D(2026, 10, 20), 3),
    ]
    assert retirement.last_read_on == D(2026, 10, 25)
    assert retirement.last_reader_left_on is None  # two readers remain
    # On or after the target date, 1 October.
    assert [(f.day, f.email, f.queries) for f in retirement.flagged] == [
        (D(2026, 10, 2), SA, 2),
        (D(2026, 10, 20), SA, 1),
        (D(2026, 10, 25), "lee@acme.example", 3),
    ]


def test_the_last_reader_left_the_day_after_the_last_read(world):
    retirement = item_benefit(item=world["retired"], as_of=AS_OF).retirement
    # kim read old2 last on 10 September; nobody in the 28 days up to 28 October.
    assert retirement.last_read_on == D(2026, 9, 10)
    assert retirement.last_reader_left_on == D(2026, 9, 11)
    assert retirement.remaining == []
    assert retirement.flagged == []  # nothing read it from 20 September
    # As of 5 October the 28 days reach back to 8 September: kim has not left yet.
    earlier = item_benefit(item=world["retired"], as_of=D(2026, 10, 5)).retirement
    assert earlier.last_reader_left_on is None
    assert [r.email for r in earlier.remaining] == ["kim@acme.example"]


def test_cost_before_and_after_from_the_queries_on_its_tables(world):
    cost = item_benefit(item=world["main"], as_of=AS_OF).cost
    assert cost.source == CostSource.QUERIES
    assert (cost.before.since, cost.before.until) == (D(2026, 7, 8), D(2026, 9, 1))
    assert (cost.after.since, cost.after.until) == (SHIPPED, D(2026, 10, 27))
    # Before: 10 + 4 (legacy) + 2 (new, the day before) = 16 USD over 56 days.
    assert cost.before.total == Money(Decimal("16"), "USD")
    assert cost.before.monthly == Money(Decimal("8.69"), "USD")  # 16 x 30.4166 / 56
    # After: 5 (the dashboard on new) + 1 (lee on legacy) = 6 USD.
    assert cost.after.monthly == Money(Decimal("3.26"), "USD")  # 6 x 30.4166 / 56
    assert cost.monthly_change == Money(Decimal("-5.43"), "USD")
    assert cost.declared == Money(Decimal("-100.00"), "USD")
    assert cost.complete
    assert "estimate" in cost.explanation


def test_cost_from_the_billing_facts_its_rules_allocate(world):
    funded = world["retired"]
    funded.bq_monthly_cost_change = Decimal("-150")
    funded.save()
    rule = AllocationRule.objects.create(name="old2", team=world["finance"], roadmap_item=funded)
    CostFactFactory(usage_date=D(2026, 8, 1), cost=Decimal("560"), allocation_rule=rule)
    CostFactFactory(usage_date=D(2026, 9, 10), cost=Decimal("280"), credits=Decimal("-28"),
                    allocation_rule=rule)  # fmt: skip
    CostFactFactory(usage_date=D(2026, 11, 1), cost=Decimal("999"), allocation_rule=rule)
    benefit = item_benefit(item=funded, as_of=AS_OF)
    assert benefit.cost.source == CostSource.RULES
    assert benefit.cost.before.monthly == Money(Decimal("304.17"), "USD")  # 560 x 30.4166 / 56
    assert benefit.cost.after.monthly == Money(Decimal("136.88"), "USD")  # 252 x 30.4166 / 56
    assert benefit.cost.monthly_change == Money(Decimal("-167.29"), "USD")
    # A saving of 167.29 a month is at least the 150 promised.
    cost_check = next(check for check in benefit.targets if check.kind == "cost")
    assert cost_check.outcome == Outcome.MET


def test_hours_saved_by_the_queries_that_moved(world):
    hours = item_benefit(item=world["main"], as_of=AS_OF).hours
    # p1 and p3 read legacy before; on new since: p1 2 + 100, p3 1 = 103 queries in the
    # 56 days: 103 x 30.4166 / 56 = 55.94 -> 55.9 a month.
    assert hours.moved_queries_per_month == Decimal("55.9")
    # Medians: 300, 400, 500, 9000 -> 450 s before; 100, 200 -> 150 s after.
    assert hours.median_before_seconds == Decimal("450.000")
    assert hours.median_after_seconds == Decimal("150.000")
    assert hours.measured == Decimal("4.7")  # 55.9 x 300 / 3600 = 4.66
    assert hours.promised == Decimal("40.0")


def test_hours_are_not_measured_rather_than_guessed(world):
    no_build_on = item_benefit(item=world["retired"], as_of=AS_OF).hours
    assert no_build_on.measured is None
    assert no_build_on.reason.startswith("Not measured")
    no_moves = item_benefit(item=world["recent"], as_of=AS_OF).hours
    assert no_moves.measured is None
    # The runtimes are gone (as after the retention): the proxy is not measured.
    BigQueryJob.objects.all().delete()
    gone = item_benefit(item=world["main"], as_of=AS_OF).hours
    assert gone.measured is None
    assert "retention" in gone.reason


def test_targets_met_missed_not_yet_due_and_the_ratio_per_quarter(world):
    benefits = benefit_of_items(
        items=[world["main"], world["retired"], world["recent"], world["building"]], as_of=AS_OF
    )
    main = {check.kind: check.outcome for check in benefits[world["main"].pk].targets}
    # 3 people by 8 September (day 6) within 2 weeks; legacy read after 1 October; a
    # change of -5.43 a month is not the -100 declared.
    assert main == {"adoption": Outcome.MET, "retirement": Outcome.MISSED,
                    "cost": Outcome.MISSED}  # fmt: skip
    assert benefits[world["main"].pk].outcome == Outcome.MISSED
    assert benefits[world["retired"].pk].outcome == Outcome.MET  # nobody read from 20 Sep
    # Shipped 20 October, 5 people within 4 weeks (to 16 November): nobody yet.
    recent = benefits[world["recent"].pk]
    assert recent.outcome == Outcome.NOT_YET_DUE
    assert recent.targets[0].due_on == D(2026, 11, 16)
    assert benefits[world["building"].pk].outcome == Outcome.NO_TARGET
    quarters = benefit_by_quarter(benefits.values())
    assert [(q.quarter, q.met, q.missed, q.not_yet_due, q.ratio) for q in quarters] == [
        ("2026-Q3", 1, 1, 0, 0.5),
        ("2026-Q4", 0, 0, 1, None),
    ]


def test_as_of_leaves_later_history_out(world):
    # As of 9 September: a week after shipping, p1, p2 and p3 (the first 3 people).
    early = item_benefit(item=world["main"], as_of=D(2026, 9, 9)).adoption
    assert early.people == 3
    assert [w.label for w in early.weeks] == ["2026-W36", "2026-W37"]
    benefit = item_benefit(item=world["main"], as_of=D(2026, 9, 9))
    assert not benefit.cost.complete
    assert {c.kind: c.outcome for c in benefit.targets}["cost"] == Outcome.NOT_YET_DUE


def _items(count: int, tables: list[BigQueryTable]) -> list[RoadmapItem]:
    return [item(f"Bulk {n}", retire=[tables[n % 2]], build_on=[tables[2]],
                 status=RoadmapItem.Status.DONE, delivered_on=SHIPPED)
            for n in range(count)]  # fmt: skip


@pytest.mark.parametrize("count", [3, 30])
def test_the_bulk_function_runs_the_same_queries_for_3_or_30_items(
    world, count, django_assert_num_queries
):
    items = _items(count, [world["legacy"], world["old2"], world["new"]])
    StakeholderInterview.objects.create(date=D(2026, 5, 1), team=world["finance"],
                                        people="Fei").items.add(*items)  # fmt: skip
    with django_assert_num_queries(9):
        benefits = benefit_of_items(items=items, as_of=AS_OF)
    assert len(benefits) == count
    assert all(b.adoption.people == 12 for b in benefits.values())
