import datetime
import gzip
import json
from collections import Counter, defaultdict
from itertools import combinations

import pytest
from django.db.models import Sum

from cost.models import BigQueryJob, BigQueryTable, JobImportRun, JobUsageDay, JobUser
from cost.usage.runs import import_job_files
from demo.job_history import (
    JOINED_PAIRS,
    JOINED_TRIPLE,
    LEGACY_TABLE,
    RESERVATION,
    TEAM_SLUGS,
    all_tables,
    demo_team_members,
    generate_jobs,
    write_jobs_file,
)

MONDAY = datetime.date(2026, 11, 2)


def _names(row: dict) -> list[str]:
    return sorted({f"{t['dataset_id']}.{t['table_id']}" for t in row["referenced_tables"]})


def _counted(row: dict) -> bool:
    """Counted as a query by the usage reports: a QUERY job that is not a SCRIPT parent."""
    return row["job_type"] == "QUERY" and row.get("statement_type") != "SCRIPT"


@pytest.fixture(scope="module")
def week() -> list[dict]:
    """A generated working week and weekend, at the demo's size."""
    return list(generate_jobs(start=MONDAY, days=7, jobs_per_day=3000))


def test_the_generator_is_deterministic_and_a_day_does_not_depend_on_the_range():
    first = list(generate_jobs(start=MONDAY, days=2, jobs_per_day=400))
    again = list(generate_jobs(start=MONDAY, days=2, jobs_per_day=400))
    assert first == again
    other_seed = list(generate_jobs(start=MONDAY, days=2, jobs_per_day=400, seed=8))
    assert [row["job_id"] for row in other_seed] != [row["job_id"] for row in first]
    # Tuesday's jobs are the same when generated from Sunday on: overlapping exports
    # hold the same job ids.
    tuesday = [row for row in first if row["creation_time"].startswith("2026-11-03")]
    longer = list(generate_jobs(start=MONDAY - datetime.timedelta(days=1), days=3,
                                jobs_per_day=400))  # fmt: skip
    assert [row for row in longer if row["creation_time"].startswith("2026-11-03")] == tuesday
    assert len({row["job_id"] for row in longer}) == len(longer)


def test_rows_are_shaped_like_a_jobs_export(week):
    rows = week
    assert {row["project_id"] for row in rows} == {"acme-analytics"}
    assert all(isinstance(row["total_slot_ms"], str) for row in rows)
    assert all(
        isinstance(row["total_bytes_billed"], str) for row in rows if row["job_type"] == "QUERY"
    )
    stamps = [row["creation_time"] for row in rows]
    assert any(stamp.endswith(" UTC") for stamp in stamps)
    assert any("T" in stamp and stamp.endswith(("Z", "+00:00")) for stamp in stamps)
    days = sorted({stamp[:10] for stamp in stamps})
    assert days == [f"2026-11-{day:02d}" for day in range(2, 9)]
    # A fifth of the queries are cache hits: no tables, nothing billed.
    queries = [row for row in rows if _counted(row)]
    hits = [row for row in queries if row["cache_hit"]]
    assert 0.15 < len(hits) / len(queries) < 0.25
    assert all(row["referenced_tables"] == [] and row["total_bytes_billed"] == "0" for row in hits)
    assert any(row["query"] == "SELECT 1" and not row["referenced_tables"] for row in queries)
    # dbt: SCRIPT parents with their child jobs, labelled with the model.
    parents = {row["job_id"]: row for row in rows if row.get("statement_type") == "SCRIPT"}
    children = [row for row in rows if row.get("parent_job_id")]
    assert parents
    assert {row["parent_job_id"] for row in children} == set(parents)
    for parent_id, parent in parents.items():
        mine = [row for row in children if row["parent_job_id"] == parent_id]
        assert len(mine) == 3
        assert int(parent["total_bytes_billed"]) == sum(int(r["total_bytes_billed"]) for r in mine)
        model = mine[1]["destination_table"]["table_id"]  # the MERGE writes the model
        assert {"key": "dbt_model", "value": model} in parent["labels"]
        assert all({"key": "dbt_model", "value": model} in row["labels"] for row in mine)
    types = Counter(row["job_type"] for row in rows)
    assert min(types["LOAD"], types["COPY"], types["EXTRACT"]) > 0
    on_reservation = [row for row in rows if row.get("reservation_id") == RESERVATION]
    assert 0 < len(on_reservation) < len(rows) * 0.03
    assert all(int(row["total_slot_ms"]) > 0 for row in on_reservation)
    assert 0 < sum(1 for row in rows if row.get("error_result")) < len(rows) * 0.03
    assert any("job_stages" in row for row in rows)
    assert any("total_modified_partitions" in row for row in rows)
    service = {row["user_email"] for row in rows if row["principal_subject"].startswith(
        "serviceAccount:")}  # fmt: skip
    assert len(service) == 10
    assert all(email.endswith("@acme-analytics.iam.gserviceaccount.com") for email in service)
    people = {row["user_email"] for row in rows} - service
    assert 280 <= len(people) <= 310
    assert all(email.endswith("@acme.example") and "." in email.split("@")[0] for email in people)
    tables = all_tables()
    assert 380 <= len(tables) <= 420
    assert {table.dataset for table in tables.values()} == {
        "legacy_sales", "legacy_marketing", "marts", "staging", "raw", "finance"}  # fmt: skip


def test_the_demo_shape_holds_in_a_generated_week(week):
    queries = [row for row in week if _counted(row)]
    # The legacy table: read by well over 100 people every weekday.
    readers = defaultdict(set)
    for row in queries:
        if LEGACY_TABLE in _names(row) and row["principal_subject"].startswith("user:"):
            readers[row["creation_time"][:10]].add(row["user_email"])
    weekdays = [f"2026-11-{day:02d}" for day in range(2, 7)]
    assert all(len(readers[day]) >= 100 for day in weekdays), {d: len(readers[d]) for d in readers}
    assert all(len(readers[day]) < 60 for day in ("2026-11-07", "2026-11-08"))
    # About 50 tables carry most reads.
    reads = Counter(name for row in queries for name in _names(row))
    ranked = [count for _name, count in reads.most_common()]
    assert len(ranked) > 250
    assert sum(ranked[:50]) / sum(ranked) > 0.8
    # The three pairs are the most joined, and the triple the most joined triple.
    pairs = Counter(pair for row in queries for pair in combinations(_names(row), 2))
    top = [pair for pair, _count in pairs.most_common(3)]
    assert set(top) == {tuple(sorted(pair)) for pair in JOINED_PAIRS}
    triples = Counter(triple for row in queries for triple in combinations(_names(row), 3))
    assert triples.most_common(1)[0][0] == tuple(sorted(JOINED_TRIPLE))


def test_the_team_mapping_covers_the_people_and_owned_service_accounts(week):
    members = demo_team_members()
    emails = [email for email, _team in members]
    assert len(emails) == len(set(emails))
    assert {team for _email, team in members} == set(TEAM_SLUGS)
    people = [email for email in emails if email.endswith("@acme.example")]
    assert 260 <= len(people) <= 290  # the rest of the ~300 belong to no team
    seen = {row["user_email"] for row in week}
    assert set(emails) <= seen  # everyone mapped ran jobs that week
    unmapped = seen - set(emails)
    assert len(unmapped) > 10
    assert "legacy-sales-export@acme-analytics.iam.gserviceaccount.com" in unmapped


@pytest.mark.django_db(transaction=True)
def test_generated_jobs_import_cleanly_and_again_change_nothing(tmp_path):
    path = tmp_path / "jobs.jsonl.gz"
    today = MONDAY + datetime.timedelta(days=2)
    rows = write_jobs_file(path, start=MONDAY, days=2, jobs_per_day=500)
    with gzip.open(path, "rt") as lines:
        written = [json.loads(line) for line in lines]
    assert rows == len(written)
    run = import_job_files([path], location="US", by_name="test", today=today)
    assert run.status == JobImportRun.Status.SUCCEEDED
    assert (run.rows_read, run.jobs_written) == (rows, rows)
    assert (run.first_day, run.last_day) == (MONDAY, MONDAY + datetime.timedelta(days=1))
    assert BigQueryJob.objects.count() == rows
    counted = [row for row in written if _counted(row)]
    usage = JobUsageDay.objects.aggregate(
        queries=Sum("queries"), hits=Sum("cache_hits"), billed=Sum("bytes_billed")
    )
    assert usage["queries"] == len(counted)
    assert usage["hits"] == sum(1 for row in counted if row["cache_hit"])
    assert usage["billed"] == sum(int(row.get("total_bytes_billed") or 0) for row in counted)
    assert JobUser.objects.filter(is_service_account=True).count() == 10
    legacy = BigQueryTable.objects.get(dataset_id="legacy_sales", table_id="daily_sales_v1")
    assert legacy.table_sets.exists()
    # Anonymous result tables are not tables anyone uses.
    assert not BigQueryTable.objects.filter(dataset_id__startswith="_").exists()
    capacity = BigQueryJob.objects.filter(reservation_id=RESERVATION)
    assert capacity.exists()
    assert {job.pricing for job in capacity} == {BigQueryJob.Pricing.CAPACITY}
    again = import_job_files([path], location="US", by_name="test", today=today)
    assert (again.rows_read, again.jobs_written) == (rows, 0)
    assert BigQueryJob.objects.count() == rows


@pytest.mark.django_db(transaction=True)
def test_the_demo_job_history_ends_today_and_maps_people_to_teams():
    from core.models import Team
    from demo.loader import _load_job_history

    teams = {slug: Team.objects.create(name=slug.title(), slug=slug) for slug in TEAM_SLUGS}
    today = datetime.date(2026, 11, 20)
    imported = _load_job_history(today=today, teams=teams, jobs_per_day=150)
    assert imported == BigQueryJob.objects.count() > 5000
    days = JobUsageDay.objects.order_by("day").values_list("day", flat=True)
    assert days.first() == today - datetime.timedelta(days=41)
    assert days.last() == today
    support = JobUser.objects.filter(team__slug="support")
    assert support.count() > 40
    nobody = JobUser.objects.filter(team=None)
    assert nobody.filter(email="legacy-sales-export@acme-analytics.iam.gserviceaccount.com")
    # Someone moves a person to another team; loading again keeps that and adds nothing.
    person = support.first()
    person.team = teams["finance"]
    person.save()
    assert _load_job_history(today=today, teams=teams, jobs_per_day=150) == 0
    assert BigQueryJob.objects.count() == imported
    person.refresh_from_db()
    assert person.team == teams["finance"]
