"""The `benefit` scenario: the realised benefit of 40 delivered items, each building on a
table and retiring one or two, over a job history of 1,000,000 jobs (180 days): the
jobs' daily usage rows summed from them, the job rows themselves kept for the last 90
days (the retention), as an import leaves them. Seeded with COPY and one INSERT ...
SELECT (PostgreSQL only: the bar is for PostgreSQL).

Measured: `benefit_of_items` for the 40 items as of the last day, and its query count.

Imported by bench.scenarios once Django is set up."""

import datetime
import io
import random
import time
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.jobs import _row, _timed
from core.models import Team
from cost.models import BigQueryJob, BigQueryTable, JobUsageDay, JobUser, TableSet, TableSetMember
from roadmap.evidence.benefit import benefit_of_items
from roadmap.models import ItemTable, RoadmapItem, Theme

JOBS = 1_000_000
DAYS = 180
KEEP_DAYS = 90
LAST_DAY = datetime.date(2026, 11, 25)
FIRST_DAY = LAST_DAY - datetime.timedelta(days=DAYS - 1)
ITEMS = 40
OTHER_TABLES = 320
OTHER_SETS = 1800
PEOPLE, ACCOUNTS = 560, 40
TEAMS = 8
ITEM_SHARE = 0.3  # of the jobs, those reading an item's table
BAR_MS = 500
PROJECT = "bench-analytics"


def _seed_catalogue(rng: random.Random) -> tuple[list[RoadmapItem], dict, list[int], list[int]]:
    """Teams, users, tables, table sets and the 40 items with their tables. Returns the
    items, per item (retire set ids, build-on set ids), the other set ids, the user ids."""
    teams = Team.objects.bulk_create(
        Team(name=f"Bench team {n}", slug=f"bench-team-{n}") for n in range(TEAMS)
    )
    users = JobUser.objects.bulk_create(
        [JobUser(email=f"person{n:04d}@bench.example", team=teams[n % TEAMS])
         for n in range(PEOPLE)]
        + [JobUser(email=f"account{n:02d}@bench.iam.gserviceaccount.com", is_service_account=True,
                   team=teams[n % TEAMS]) for n in range(ACCOUNTS)]
    )  # fmt: skip
    others = BigQueryTable.objects.bulk_create(
        BigQueryTable(project_id=PROJECT, dataset_id="marts", table_id=f"table_{n:03d}")
        for n in range(OTHER_TABLES)
    )
    item_tables = BigQueryTable.objects.bulk_create(
        BigQueryTable(project_id=PROJECT, dataset_id=dataset, table_id=f"{kind}_{n:02d}")
        for n in range(ITEMS)
        for dataset, kind in (("intermediate", "int"), ("legacy", "legacy"), ("legacy", "old"))
    )
    sets: list[list[int]] = []

    known: dict[tuple[int, ...], int] = {}

    def new_set(table_ids: list[int]) -> int:
        ids = tuple(sorted(set(table_ids)))
        if ids not in known:
            known[ids] = len(sets)
            sets.append(list(ids))
        return known[ids]

    other_sets = [new_set(rng.sample([t.pk for t in others], rng.choice([1, 1, 2, 3, 4])))
                  for _ in range(OTHER_SETS)]  # fmt: skip
    per_item: list[tuple[list[int], list[int]]] = []
    for n in range(ITEMS):
        build, legacy, old = item_tables[3 * n : 3 * n + 3]
        retire_tables = [legacy.pk] + ([old.pk] if n % 3 == 0 else [])
        retire = [new_set([t]) for t in retire_tables]
        retire += [new_set([*retire_tables, rng.choice(others).pk]) for _ in range(3)]
        built = [new_set([build.pk])]
        built += [new_set([build.pk, rng.choice(others).pk]) for _ in range(3)]
        per_item.append((retire, built))
    table_sets = TableSet.objects.bulk_create(
        TableSet(digest=TableSet.digest_of(ids), size=len(ids)) for ids in sets
    )
    TableSetMember.objects.bulk_create(
        (TableSetMember(table_set_id=table_sets[i].pk, table_id=t)
         for i, ids in enumerate(sets) for t in ids),
        batch_size=5000,
    )  # fmt: skip
    ae = Team.objects.create(name="Analytics Engineering", slug="ae")
    theme = Theme.objects.create(name="Legacy retirement", colour="#336699", position=0)
    items = RoadmapItem.objects.bulk_create(
        RoadmapItem(
            title=f"Bench item {n}: int_{n:02d} replacing legacy_{n:02d}",
            team=ae,
            theme=theme,
            status=RoadmapItem.Status.DONE,
            delivered_on=LAST_DAY - datetime.timedelta(days=7 + 3 * n),  # 1 to 18 weeks ago
            currency="USD",
            bq_monthly_cost_change=Decimal(-200),
            hours_saved_per_month=Decimal(10),
            adoption_target_people=50,
            adoption_target_weeks=8,
            retirement_target_date=LAST_DAY - datetime.timedelta(days=3 * n),
            rank=n + 1,
        )
        for n in range(ITEMS)
    )
    links = []
    for n, item in enumerate(items):
        build, legacy, old = item_tables[3 * n : 3 * n + 3]
        links.append(ItemTable(item=item, table=build, role=ItemTable.Role.BUILD_ON))
        links.append(ItemTable(item=item, table=legacy, role=ItemTable.Role.RETIRE))
        if n % 3 == 0:
            links.append(ItemTable(item=item, table=old, role=ItemTable.Role.RETIRE))
    ItemTable.objects.bulk_create(links)
    set_id = [table_set.pk for table_set in table_sets]
    by_item = {
        item.pk: ([set_id[i] for i in retire], [set_id[i] for i in built])
        for item, (retire, built) in zip(items, per_item, strict=True)
    }
    return items, by_item, [set_id[i] for i in other_sets], [user.pk for user in users]


def _copy_jobs(rng: random.Random, items, by_item, other_sets, user_ids) -> int:
    """1,000,000 query jobs over DAYS days: each user reads a few habitual table sets;
    ITEM_SHARE of the jobs read an item's tables, the retired ones before its delivery and
    fewer and fewer after, the built-on ones from delivery on, more and more."""
    habits = {user: rng.sample(other_sets, 6) for user in user_ids}
    per_day = JOBS // DAYS
    columns = ("project_id, job_id, location, creation_time, start_time, end_time, user_id, "
               "job_type, statement_type, state, priority, total_bytes_processed, "
               "total_bytes_billed, total_slot_ms, cache_hit, table_set_id, labels, "
               "reservation_id, parent_job_id, error_reason, error_message, query_hash, "
               "query_text, pricing, cost_nanos, digest")  # fmt: skip
    written = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY cost_bigqueryjob ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for offset in range(DAYS):
                day = FIRST_DAY + datetime.timedelta(days=offset)
                midnight = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
                count = per_day + (JOBS - per_day * DAYS if offset == DAYS - 1 else 0)
                buffer = io.StringIO()
                for _ in range(count):
                    user = rng.choice(user_ids)
                    if rng.random() < ITEM_SHARE:
                        item = rng.choice(items)
                        retire, built = by_item[item.pk]
                        after = (day - item.delivered_on).days
                        moved = 0 if after < 0 else min(0.97, 0.3 + after / 60)
                        chosen = rng.choice(built if rng.random() < moved else retire)
                    else:
                        chosen = rng.choice(habits[user])
                    created = midnight + datetime.timedelta(seconds=rng.randrange(86_400))
                    runtime = datetime.timedelta(seconds=rng.uniform(1, 90))
                    billed = rng.randrange(10, 4000) << 20
                    buffer.write(
                        f"{PROJECT}\tjob_{written:07d}\tUS\t{created.isoformat()}\t"
                        f"{created.isoformat()}\t{(created + runtime).isoformat()}\t{user}\t"
                        f"QUERY\tSELECT\tDONE\tINTERACTIVE\t{billed}\t{billed}\t"
                        f"{int(runtime.total_seconds() * 900)}\tf\t{chosen}\t{{}}\t\t\t\t\t\t\t"
                        f"on_demand\t{billed * 6_250_000_000 >> 40}\t{written:032x}\n"
                    )
                    written += 1
                copy.write(buffer.getvalue())
        cursor.execute(
            "INSERT INTO cost_jobusageday (day, project_id, user_id, table_set_id, queries, "
            "cache_hits, bytes_processed, bytes_billed, slot_ms, cost_nanos, last_seen, "
            "location) "
            "SELECT (creation_time AT TIME ZONE 'UTC')::date, project_id, user_id, "
            "table_set_id, COUNT(*), SUM(cache_hit::int), SUM(total_bytes_processed), "
            "SUM(total_bytes_billed), SUM(total_slot_ms), SUM(cost_nanos), "
            "MAX(creation_time), '' FROM cost_bigqueryjob GROUP BY 1, 2, 3, 4"
        )
        kept_from = datetime.datetime.combine(
            LAST_DAY - datetime.timedelta(days=KEEP_DAYS - 1), datetime.time(), datetime.UTC
        )
        cursor.execute("DELETE FROM cost_bigqueryjob WHERE creation_time < %s", [kept_from])
        cursor.execute("ANALYZE")
    return written


def realised_benefit(database: str) -> list[dict]:
    if connection.vendor != "postgresql":
        return []  # the bar is for PostgreSQL; COPY seeds it
    rng = random.Random(15)
    started = time.perf_counter()
    items, by_item, other_sets, user_ids = _seed_catalogue(rng)
    jobs = _copy_jobs(rng, items, by_item, other_sets, user_ids)
    seeded = time.perf_counter() - started
    usage_rows, kept = JobUsageDay.objects.count(), BigQueryJob.objects.count()
    items = list(RoadmapItem.objects.filter(pk__in=[item.pk for item in items]))

    def run() -> dict:
        return benefit_of_items(items=items, as_of=LAST_DAY)

    with CaptureQueriesContext(connection) as captured:
        benefits = run()
    assert len(benefits) == ITEMS
    read = sum(len(b.adoption.weeks) for b in benefits.values() if b.adoption)
    assert read > 0
    timings = _timed(run)
    row = _row(
        database,
        f"realised benefit of {ITEMS} delivered items (benefit_of_items)",
        timings,
        BAR_MS,
        f"{jobs:,} jobs over {DAYS} days: {usage_rows:,} daily usage rows, {kept:,} job "
        f"rows kept ({KEEP_DAYS} days); {TableSet.objects.count():,} table sets; "
        f"seeded in {seeded:.0f} s",
    )
    row["queries"] = len(captured)
    return [row]
