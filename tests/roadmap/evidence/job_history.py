"""A constructed job history for realised-benefit tests (tests/roadmap/evidence/
test_benefit.py works out every figure of it by hand)."""

import datetime
import itertools
from decimal import Decimal

from cost.models import (
    BigQueryJob,
    BigQueryTable,
    JobUsageDay,
    JobUser,
    TableSet,
    TableSetMember,
    to_nanos,
)
from roadmap.models import ItemTable, RoadmapItem, StakeholderInterview
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory

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


def constructed_world() -> dict:
    """The job history, items and interviews the module docstring of test_benefit describes."""
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
