"""Realised benefit from a constructed job history, every figure worked out by hand in the
comments beside it.

The calendar (2026): the main item shipped on Wednesday 2 September (ISO week 36, whose
Monday is 31 August). The before window is 8 July to 1 September, the after window 2
September to 27 October; as_of is Wednesday 28 October (week 44), so the after window is
complete. 365/12 = 30.41666... days make a month.
"""

import datetime
import itertools
from decimal import Decimal

import pytest

from core.money import Money
from cost.models import (
    AllocationRule,
    BigQueryJob,
    BigQueryTable,
    JobUsageDay,
    JobUser,
    TableSet,
    TableSetMember,
    to_nanos,
)
from roadmap.evidence.benefit import (
    CostSource,
    Outcome,
    benefit_by_quarter,
    benefit_of_items,
    item_benefit,
)
from roadmap.models import ItemTable, RoadmapItem, StakeholderInterview
from tests.cost.factories import CostFactFactory
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory

pytestmark = pytest.mark.django_db

D = datetime.date
SHIPPED = D(2026, 9, 2)
AS_OF = D(2026, 10, 28)
SA = "dash@acme-analytics.iam.gserviceaccount.com"
_job_ids = itertools.count(1)


def table(name: str) -> BigQueryTable:
    return BigQueryTable.objects.get_or_create(project_id="acme", dataset_id="marts",
                                               table_id=name)[0]  # fmt: skip


def table_set(*tables: BigQueryTable) -> TableSet:
    ids = [t.pk for t in tables]
    found, created = TableSet.objects.get_or_create(
        digest=TableSet.digest_of(ids), defaults={"size": len(ids)}
    )
    if created:
        TableSetMember.objects.bulk_create(TableSetMember(table_set=found, table=t) for t in tables)
    return found


def user(email: str, team=None) -> JobUser:
    return JobUser.objects.get_or_create(
        email=email,
        defaults={"team": team, "is_service_account": email.endswith("gserviceaccount.com")},
    )[0]


def used(day: D, who: JobUser, *tables: BigQueryTable, queries: int = 1,
         cost: str = "0") -> None:  # fmt: skip
    """A day of job usage: `queries` jobs by `who` reading `tables`, allocated `cost` USD."""
    JobUsageDay.objects.create(
        day=day, project_id="acme", user=who, table_set=table_set(*tables), queries=queries,
        cost_nanos=to_nanos(Decimal(cost)),
        last_seen=datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC),
    )  # fmt: skip


def ran(day: D, who: JobUser, seconds: int, *tables: BigQueryTable) -> None:
    """One job row that ran `seconds`, for the runtimes."""
    start = datetime.datetime.combine(day, datetime.time(9), tzinfo=datetime.UTC)
    BigQueryJob.objects.create(
        project_id="acme", job_id=f"job-{next(_job_ids)}", creation_time=start,
        start_time=start, end_time=start + datetime.timedelta(seconds=seconds), user=who,
        job_type="QUERY", statement_type="SELECT", state="DONE",
        table_set=table_set(*tables), pricing=BigQueryJob.Pricing.ON_DEMAND, digest="x",
    )  # fmt: skip


def item(title: str, *, retire=(), build_on=(), **fields) -> RoadmapItem:
    made = RoadmapItemFactory(title=title, **fields)
    for role, tables in ((ItemTable.Role.RETIRE, retire), (ItemTable.Role.BUILD_ON, build_on)):
        for t in tables:
            ItemTable.objects.create(item=made, table=t, role=role)
    return made


@pytest.fixture
def world():
    legacy, new, other, old2 = table("legacy"), table("new"), table("other"), table("old2")
    analysts, sales, ops, finance = (TeamFactory(name=n, slug=n.lower()) for n in
                                     ("Analysts", "Sales", "Ops", "Finance"))  # fmt: skip
    p1, p2 = user("p1@acme.example", analysts), user("p2@acme.example", analysts)
    p3, p4 = user("p3@acme.example", sales), user("p4@acme.example")  # p4: in no team
    crowd = [user(f"c{n}@acme.example", ops) for n in range(5, 13)]  # 8 people
    lee, kim, dash = user("lee@acme.example", sales), user("kim@acme.example", sales), user(SA)

    used(D(2026, 7, 1), p2, other)  # the job history starts before the before window
    used(D(2026, 10, 28), p2, other)  # ... and reaches as_of
    # Before delivery, on the legacy table: p1 and p3 (who will move), and the new table
    # tried the day before it shipped (which is no adoption).
    used(D(2026, 8, 26), p1, legacy, queries=2, cost="10")
    used(D(2026, 8, 27), p3, legacy, cost="4")
    used(D(2026, 9, 1), p1, new, cost="2")
    # Adoption of the new table.
    used(SHIPPED, p1, new, queries=2)  # week 36
    used(D(2026, 9, 4), p2, new)
    used(D(2026, 9, 4), dash, new, queries=3, cost="5")
    used(D(2026, 9, 8), p3, new)  # week 37
    used(D(2026, 9, 9), p1, new, queries=100)
    for person in crowd:  # week 38
        used(D(2026, 9, 15), person, new)
    used(D(2026, 9, 22), p4, new, other, queries=5)  # week 39; both tables: once
    # Readers left on the legacy table.
    used(D(2026, 9, 10), lee, legacy)  # week 37
    used(D(2026, 9, 30), dash, legacy)  # week 40
    used(D(2026, 10, 2), dash, legacy, queries=2)  # week 40, after the target date
    used(D(2026, 10, 20), dash, legacy)  # week 43
    used(D(2026, 10, 25), lee, legacy, queries=3, cost="1")  # week 43 (its Sunday)
    # The second retired table: its last reader reads on 10 September.
    used(D(2026, 8, 10), kim, old2)
    used(D(2026, 9, 10), kim, old2, queries=2)
    # Runtimes: 300, 400, 500 s on the legacy table before; 100, 200 s on the new after.
    for seconds in (300, 500, 400):
        ran(D(2026, 8, 26), p1, seconds, legacy)
    ran(D(2026, 8, 1), p1, 9000, legacy, other)  # reads the legacy table too: counts
    ran(D(2026, 9, 9), p1, 100, new)
    ran(D(2026, 9, 10), p1, 200, new)
    ran(D(2026, 9, 11), p1, 10, legacy)  # the legacy table after delivery: not compared

    main = item(
        "Intermediate sales tables", retire=[legacy], build_on=[new],
        status=RoadmapItem.Status.DONE, delivered_on=SHIPPED,
        adoption_target_people=3, adoption_target_weeks=2,
        retirement_target_date=D(2026, 10, 1), bq_monthly_cost_change=Decimal("-100"),
        hours_saved_per_month=Decimal("40"),
    )  # fmt: skip
    interview = StakeholderInterview.objects.create(date=D(2026, 5, 1), team=analysts,
                                                    people="Ann")  # fmt: skip
    interview.items.add(main)
    StakeholderInterview.objects.create(date=D(2026, 5, 2), team=finance,
                                        people="Fei").items.add(main)  # fmt: skip
    StakeholderInterview.objects.create(date=D(2026, 5, 3), team=sales, people="Sam")  # no item
    retired = item("Switch off old2", retire=[old2], status=RoadmapItem.Status.DONE,
                   delivered_on=SHIPPED, retirement_target_date=D(2026, 9, 20))  # fmt: skip
    recent = item("Sales cube", build_on=[new], status=RoadmapItem.Status.DONE,
                  delivered_on=D(2026, 10, 20), adoption_target_people=5,
                  adoption_target_weeks=4)  # fmt: skip
    building = item("Orders mart", build_on=[new], status=RoadmapItem.Status.IN_PROGRESS)
    return {"main": main, "retired": retired, "recent": recent, "building": building,
            "legacy": legacy, "old2": old2, "new": new, "finance": finance}  # fmt: skip


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
