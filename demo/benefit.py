"""The demo's delivered item with a realised benefit to show: an intermediate table built
five weeks ago that more people and teams query each week, and the legacy snapshot it
replaces, whose readers fell to a handful (three people and a dashboard's service account,
one of them reading after the switch-off date), with interviews of two of those teams.

Its job history is generated here (seeded, a few thousand jobs) and stored as an import
stores it: one job row per query and the daily usage rows summed from them, within the
days the demo's job history covers. Safe to run again: nothing is made twice."""

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from core.models import Team
from cost.models import BigQueryJob, BigQueryTable, JobUsageDay, JobUser, TableSet
from cost.usage.runs import table_set_id
from demo.job_history import PROJECT, SA_DOMAIN
from roadmap.evidence.interviews import save_interview
from roadmap.evidence.tables import set_item_tables
from roadmap.items.planning import save_item
from roadmap.models import Quarter, RoadmapItem, StakeholderInterview, Theme

TITLE = "int_revenue_daily: booked revenue per order line and day"
BUILD_ON = "intermediate.int_revenue_daily"
RETIRE = "legacy_finance.revenue_snapshot"
DELIVERED_DAYS_AGO = 35  # five weeks
SWITCH_OFF_DAYS_AGO = 6  # one person still read it three days ago
ADOPTION_TARGET = (30, 8)  # people, weeks
SEED = 15
# Teams in the order they take the new table up, with their number of people (40 in all).
_ADOPTING = {"finance": 10, "product-analytics": 10, "marketing": 8, "product": 6, "support": 4,
             "ae": 2}  # fmt: skip
DASHBOARD_ACCOUNT = f"finance-snapshot-dashboard@{SA_DOMAIN}"
NEW_ACCOUNT = f"revenue-dashboard@{SA_DOMAIN}"
MIB = 2**20
TIB = 2**40
PRICE_NANOS_PER_TIB = 6_250_000_000  # USD 6.25 a TiB on demand


@dataclass(frozen=True)
class DemoBenefitResult:
    item_created: bool
    jobs: int
    interviews: int


_INTERVIEWS = [
    (
        "finance",
        "Priya Raman (FP&A lead), Lena Fischer (controller)",
        (
            "The close still reads the old snapshot out of habit",
            "Two controllers keep a saved query on revenue_snapshot for the board deck",
        ),
        "Two weeks after the switch the close ran on `int_revenue_daily` for the first "
        "time. The controllers' board-deck query is the last one on the snapshot; they "
        "move it once the deck template is updated.",
        25,
    ),
    (
        "product-analytics",
        "Ravi Kumar, Aiko Sato (product analysts)",
        ("Year-on-year revenue by product line needs two years of history",),
        "They moved their morning queries in the first week; history back to 2024 "
        "arrived with the backfill. Nothing left on the snapshot.",
        12,
    ),
]


def _people(slugs: list[str]) -> list[JobUser]:
    return list(
        JobUser.objects.filter(is_service_account=False, team__slug__in=slugs)
        .select_related("team")
        .order_by("email")
    )


@transaction.atomic
def load_benefit(*, today: datetime.date) -> DemoBenefitResult:
    """The delivered item, its two tables, their generated usage and the interviews.
    Needs the demo's job history (its people mapped to teams): nothing without it."""
    span = JobUsageDay.objects.aggregate(first=Min("day"), last=Max("day"))
    if span["first"] is None or RoadmapItem.objects.filter(title=TITLE).exists():
        return DemoBenefitResult(item_created=False, jobs=0, interviews=0)
    rng = random.Random(SEED)  # noqa: S311 - demo data
    delivered = today - datetime.timedelta(days=DELIVERED_DAYS_AGO)
    switch_off = today - datetime.timedelta(days=SWITCH_OFF_DAYS_AGO)
    first_day = max(span["first"], today - datetime.timedelta(days=41))
    last_day = min(span["last"], today)

    by_team: dict[str, list[JobUser]] = defaultdict(list)
    for person in _people(list(_ADOPTING)):
        by_team[person.team.slug if person.team else ""].append(person)
    if any(len(by_team[slug]) < count + 2 for slug, count in _ADOPTING.items()):
        return DemoBenefitResult(item_created=False, jobs=0, interviews=0)
    for people in by_team.values():
        rng.shuffle(people)
    finance, analysts = by_team["finance"], by_team["product-analytics"]
    marketing = by_team["marketing"]
    # The handful left on the snapshot: the people to talk to next.
    handful = [finance[0], finance[1], marketing[0]]
    legacy = finance[2:12] + analysts[:8] + marketing[1:9]
    # Finance first, then the analysts, then the teams that heard of it: each week more
    # people and more teams. The first 10 of finance, 8 analysts and 4 marketers moved
    # from the snapshot.
    adopters = [person for slug, count in _ADOPTING.items()
                for person in by_team[slug][2 if slug == "finance" else 5 if slug == "marketing"
                                            else 0:][:count]]  # fmt: skip
    teams = {team.slug: team for team in Team.objects.all()}
    dashboard, _ = JobUser.objects.get_or_create(
        email=DASHBOARD_ACCOUNT, defaults={"is_service_account": True, "team": teams["finance"]}
    )
    new_account, _ = JobUser.objects.get_or_create(
        email=NEW_ACCOUNT, defaults={"is_service_account": True, "team": teams["finance"]}
    )

    # who -> the days they query each table (the plan), then one job per query.
    plan: list[tuple[JobUser, datetime.date, str, int]] = []
    day = first_day
    while day <= last_day:
        weekday = day.weekday() < 5
        after = (day - delivered).days  # negative before delivery

        def active(p_weekday: float, weekday: bool = weekday) -> bool:
            return rng.random() < (p_weekday if weekday else p_weekday / 6)

        # The snapshot: everyone before delivery, half of them the first week after,
        # nobody but the handful from the second week on.
        for person in legacy:
            if (after < 0 and active(0.7)) or (0 <= after < 7 and active(0.3)):
                plan.append((person, day, RETIRE, rng.randint(1, 5)))
        cutoffs = [(handful[0], 8, 0.5), (handful[1], 12, 0.25), (handful[2], 9, 0.4)]
        for person, stop_days_ago, chance in cutoffs:
            # Each of them every Tuesday at least, until they stop.
            if (today - day).days >= stop_days_ago and (day.weekday() == 1 or active(chance)):
                plan.append((person, day, RETIRE, rng.randint(1, 3)))
        if (today - day).days >= 7 and weekday:
            plan.append((dashboard, day, RETIRE, 4))
        if day == today - datetime.timedelta(days=3):  # read after the switch-off
            plan.append((handful[2], day, RETIRE, 1))
        # The new table: adopters join one after another from the delivery day.
        if after >= 0:
            for number, person in enumerate(adopters):
                start = int(number * 0.85)
                if after == start or (after > start and active(0.65)):
                    plan.append((person, day, BUILD_ON, rng.randint(1, 6)))
            if after >= 3:
                plan.append((new_account, day, BUILD_ON, 6))
        day += datetime.timedelta(days=1)

    jobs = _store(plan, rng=rng, today=today)
    item = _item(today=today, delivered=delivered, switch_off=switch_off, teams=teams)
    interviews = _interviews(item=item, today=today, teams=teams)
    return DemoBenefitResult(item_created=True, jobs=jobs, interviews=interviews)


def _store(
    plan: list[tuple[JobUser, datetime.date, str, int]], *, rng: random.Random, today: datetime.date
) -> int:
    set_ids = {}
    for name in (BUILD_ON, RETIRE):
        dataset, table = name.split(".")
        bq_table, _ = BigQueryTable.objects.get_or_create(
            project_id=PROJECT, dataset_id=dataset, table_id=table
        )
        set_ids[name] = table_set_id([bq_table.pk], TableSet.digest_of([bq_table.pk]))
    now = timezone.now()
    jobs: list[BigQueryJob] = []
    usage: dict[tuple[datetime.date, int, int], JobUsageDay] = {}
    for person, day, name, queries in plan:
        midnight = datetime.datetime.combine(day, datetime.time(0), datetime.UTC)
        latest = min(86_399, int((now - midnight).total_seconds()) - 600)
        if latest < 0:
            continue
        legacy = name == RETIRE
        for _query in range(queries):
            created = midnight + datetime.timedelta(seconds=rng.randint(min(latest, 13 * 3600),
                                                                        latest))  # fmt: skip
            runtime = rng.uniform(35, 95) if legacy else rng.uniform(3, 12)
            billed = rng.randint(200, 900) * MIB if legacy else rng.randint(20, 120) * MIB
            cost = billed * PRICE_NANOS_PER_TIB // TIB
            start = created + datetime.timedelta(seconds=0.4)
            jobs.append(
                BigQueryJob(
                    project_id=PROJECT, job_id=f"demo_benefit_{len(jobs):06d}", location="US",
                    creation_time=created, start_time=start,
                    end_time=start + datetime.timedelta(seconds=runtime), user=person,
                    job_type="QUERY", statement_type="SELECT", state="DONE",
                    priority="INTERACTIVE", total_bytes_processed=billed,
                    total_bytes_billed=billed, total_slot_ms=int(runtime * 2500),
                    table_set_id=set_ids[name], pricing=BigQueryJob.Pricing.ON_DEMAND,
                    cost_nanos=cost, digest=f"{len(jobs):032x}",
                )
            )  # fmt: skip
            key = (day, person.pk, set_ids[name])
            row = usage.get(key)
            if row is None:
                usage[key] = row = JobUsageDay(
                    day=day, project_id=PROJECT, user_id=person.pk, table_set_id=set_ids[name],
                    queries=0, last_seen=created,
                )  # fmt: skip
            row.queries += 1
            row.bytes_processed += billed
            row.bytes_billed += billed
            row.slot_ms += int(runtime * 2500)
            row.cost_nanos += cost
            row.last_seen = max(row.last_seen, created)
    BigQueryJob.objects.bulk_create(jobs, batch_size=500)
    JobUsageDay.objects.bulk_create(usage.values(), batch_size=500)
    return len(jobs)


def _item(
    *, today: datetime.date, delivered: datetime.date, switch_off: datetime.date,
    teams: dict[str, Team],
) -> RoadmapItem:  # fmt: skip
    manager = get_user_model().objects.filter(username="manager").first()
    quarter = Quarter.objects.for_code(Quarter.code_for_date(delivered))
    item = RoadmapItem(
        title=TITLE,
        description=(
            "One row per order line and day with the booked revenue as finance closes it, "
            "so that the nightly `legacy_finance.revenue_snapshot` can be switched off."
        ),
        theme=Theme.objects.filter(name="Intermediate tables").first(),
        owner=manager,
        team=teams["ae"],
        status=RoadmapItem.Status.DONE,
        start_quarter=quarter,
        target_quarter=quarter,
        delivered_on=delivered,
        reach=60,
        impact=Decimal(2),
        confidence=80,
        rice_effort_months=Decimal(1),
        effort_weeks=Decimal(5),
        currency="USD",
        bq_monthly_cost_change=Decimal(-300),
        users_affected=60,
        hours_saved_per_month=Decimal(20),
        adoption_target_people=ADOPTION_TARGET[0],
        adoption_target_weeks=ADOPTION_TARGET[1],
        retirement_target_date=switch_off,
        benefit_chain="AE team -> finance and analysts -> month close",
    )
    item = save_item(
        item=item,
        requesting_teams=[teams["finance"], teams["product-analytics"]],
        depends_on=[],
        expected_version=None,
        by=manager,
    )
    set_item_tables(item=item, retire=[f"{PROJECT}.{RETIRE}"], build_on=[f"{PROJECT}.{BUILD_ON}"])
    return item


def _interviews(*, item: RoadmapItem, today: datetime.date, teams: dict[str, Team]) -> int:
    manager = get_user_model().objects.filter(username="manager").first()
    created = 0
    for slug, people, pains, notes, days_ago in _INTERVIEWS:
        if StakeholderInterview.objects.filter(team=teams[slug], people=people).exists():
            continue
        save_interview(
            interview=StakeholderInterview(
                date=today - datetime.timedelta(days=days_ago),
                team=teams[slug],
                people=people,
                pain_points="\n".join(pains),
                notes=notes,
            ),
            items=[item],
            by=manager,
        )
        created += 1
    return created
