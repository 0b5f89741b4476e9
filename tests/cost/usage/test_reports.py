"""The usage reports (cost/usage/reports.py) against figures worked out by hand on a small job
history: two days of jobs with cache hits, a SCRIPT with two children, a service account,
jobs that read no table, a job on a reservation, labels, two teams and an unmapped user.

Prices (the defaults, pinned below): on-demand 6.25 USD per TiB in the US, slot-hours on
a reservation 0.06 USD (enterprise). U = 2^38 bytes = 1/4 TiB costs 1.5625 USD on demand.
"""

import datetime
import hashlib
import itertools
import json
import random
from collections import Counter, defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from django.utils import timezone

from cost.models import BigQueryJob, BigQueryTable, JobUser, to_nanos
from cost.usage.reports import (
    CurvePoint,
    gap_percent,
    joined_tables,
    table_usage,
    table_users,
)
from cost.usage.runs import import_job_files, retention_start
from cost.usage.spending import CostRow, expensive_queries, query_cost, reconcile
from tests.cost.factories import BillingMonthFactory, CostFactFactory
from tests.roadmap.factories import TeamFactory

pytestmark = pytest.mark.django_db

U = 2**38  # bytes: a quarter of a TiB, 1.5625 USD on demand
SLOT_HOUR = 3_600_000  # slot-ms
D0, D1, D2 = datetime.date(2026, 11, 1), datetime.date(2026, 11, 2), datetime.date(2026, 11, 3)
IMPORTED_ON = datetime.date(2026, 11, 10)  # inside the retention for every job

PROJECT, DBT_PROJECT = "acme-analytics", "acme-dbt-prod"
ANA, BEN, CLEO, ZOE = (
    "ana@acme.example",
    "ben@acme.example",
    "cleo@acme.example",
    "zoe@acme.example",
)
DBT = "dbt-runner@acme-dbt-prod.iam.gserviceaccount.com"

L = "acme-analytics.legacy_sales.daily_sales_v1"
C = "acme-analytics.marts.dim_customers"
O = "acme-analytics.marts.fct_orders"  # noqa: E741 - the letter of the orders table
S = "acme-analytics.marts.fct_sessions"
DU = "acme-analytics.marts.dim_users"

Q1 = "SELECT * FROM marts.fct_orders JOIN marts.dim_customers USING (customer_id)"
Q2 = "SELECT * FROM legacy_sales.daily_sales_v1 WHERE day = CURRENT_DATE()"
Q6 = "BEGIN CREATE TABLE marts.orders_daily AS ...; INSERT legacy_sales.daily_sales_v1 ...; END"
Q7 = "CREATE TABLE marts.orders_daily AS SELECT * FROM marts.fct_orders JOIN ..."
Q8 = "INSERT legacy_sales.daily_sales_v1 SELECT * FROM legacy_sales.daily_sales_v1"
Q9 = "SELECT COUNT(*) FROM `region-us`.INFORMATION_SCHEMA.JOBS"
Q10 = "SELECT * FROM marts.fct_sessions JOIN marts.dim_users USING (user_id)"
Q16 = "SELECT order_id FROM marts.fct_orders JOIN marts.dim_customers USING (customer_id)"


def _table(name: str) -> dict:
    project, dataset, table = name.split(".")
    return {"project_id": project, "dataset_id": dataset, "table_id": table}


def _at(day: datetime.date, clock: str) -> str:
    return f"{day.isoformat()} {clock} UTC"


def _job(job_id: str, when: str, user: str, query: str | None, tables=(), billed: int = 0,
         **fields) -> dict:  # fmt: skip
    row = {
        "creation_time": when,
        "project_id": PROJECT,
        "job_id": job_id,
        "user_email": user,
        "principal_subject": f"user:{user}",
        "job_type": "QUERY",
        "statement_type": "SELECT",
        "state": "DONE",
        "priority": "INTERACTIVE",
        "total_bytes_processed": str(billed),
        "total_bytes_billed": str(billed),  # INT64 arrive as strings
        "total_slot_ms": "1000",
        "cache_hit": False,
        "referenced_tables": [_table(name) for name in tables],
        "labels": [],
    }
    if query is not None:
        row["query"] = query
    row.update(fields)
    return row


def usage_job_rows(first: datetime.date) -> list[dict]:
    """The job history: `first` (D0) has one job, the next two days (D1, D2) the rest."""
    d0, d1, d2 = first, first + datetime.timedelta(days=1), first + datetime.timedelta(days=2)
    dbt = {"project_id": DBT_PROJECT, "principal_subject": f"serviceAccount:{DBT}"}
    script = f"script_{d1:%Y%m%d}"
    return [
        _job("j0", _at(d0, "10:00:00"), BEN, Q2, [L], U),
        _job("j1", _at(d1, "09:00:00"), ANA, Q1, [O, C], 4 * U,
             labels=[{"key": "team", "value": "ae"}]),
        _job("j2", _at(d1, "10:00:00"), ANA, Q1, [O, C], 2 * U),
        _job("j3", _at(d1, "11:00:00"), BEN, Q2, [L], U),
        # A cache hit: no referenced tables, nothing billed.
        _job("j4", _at(d1, "11:05:00"), BEN, Q2, [], 0, cache_hit=True),
        _job("j5", _at(d1, "12:00:00"), CLEO, Q2, [L], U,
             labels=[{"key": "team", "value": "finance"}]),
        # A SCRIPT parent repeats its children's bytes: never counted.
        _job(script, _at(d1, "02:00:00"), DBT, Q6, [O, C, S, L], 3 * U, statement_type="SCRIPT",
             labels=[{"key": "team", "value": "ae"}], **dbt),
        _job("j7", _at(d1, "02:00:10"), DBT, Q7, [O, C, S], 2 * U, parent_job_id=script,
             statement_type="CREATE_TABLE_AS_SELECT",
             destination_table=_table("acme-analytics.marts.orders_daily"),
             labels=[{"key": "dbt_model", "value": "orders_daily"}], **dbt),
        _job("j8", _at(d1, "02:00:20"), DBT, Q8, [L], U, parent_job_id=script,
             statement_type="INSERT", labels=[{"key": "dbt_model", "value": "sales"}], **dbt),
        # Reads no table, but bills bytes.
        _job("j9", _at(d1, "15:00:00"), ZOE, Q9, [], 3 * U),
        # On a reservation: 20 slot-hours x 0.06 = 1.20, whatever the bytes billed.
        _job("j10", _at(d1, "16:00:00"), ANA, Q10, [S, DU], U,
             reservation_id="admin-project:US.etl", total_slot_ms=str(20 * SLOT_HOUR)),
        # Not a query: not counted.
        _job("j11", _at(d1, "03:00:00"), DBT, None, [], 0, job_type="LOAD", statement_type="",
             destination_table=_table("acme-analytics.raw.events"), **dbt),
        _job("j12", _at(d2, "08:00:00"), CLEO, Q1, [O, C], 2 * U,
             labels=[{"key": "team", "value": "finance"}]),
        _job("j13", _at(d2, "09:00:00"), ZOE, Q2, [L], U),
        # 00:30 at UTC+1 the next day is 23:30 UTC on D2.
        _job("j14", f"{d2 + datetime.timedelta(days=1)}T00:30:00+01:00", BEN, Q2, [L], U),
        _job("j15", _at(d2, "10:00:00"), ANA, Q1, [], 0, cache_hit=True),
        _job("j16", _at(d2, "07:00:00"), DBT, Q16, [O, C], 2 * U,
             labels=[{"key": "dbt_model", "value": "orders"}], **dbt),
    ]  # fmt: skip


def load_usage_jobs(directory: Path, first: datetime.date = D0, *, today=IMPORTED_ON) -> None:
    """Import the job history and map its users to teams: ana, ben and the dbt service
    account to Analytics Engineering, cleo to Finance, zoe to none."""
    path = directory / "usage-jobs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in usage_job_rows(first)))
    import_job_files([path], location="US", today=today)
    ae = TeamFactory(name="Analytics Engineering", slug="ae")
    finance = TeamFactory(name="Finance", slug="finance")
    JobUser.objects.filter(email__in=[ANA, BEN, DBT]).update(team=ae)
    JobUser.objects.filter(email=CLEO).update(team=finance)


def pin_prices(settings) -> None:
    """The default prices, whatever the environment says."""
    settings.QUARTERDECK_BQ_PRICE_PER_TIB = {"us": Decimal("6.25"), "*": Decimal("6.25")}
    settings.QUARTERDECK_BQ_SLOT_HOUR_PRICE = {"enterprise": Decimal("0.06"), "*": Decimal("0.06")}
    settings.QUARTERDECK_BQ_RESERVATION_EDITIONS = {"*": "enterprise"}
    settings.QUARTERDECK_JOBS_KEEP_QUERY_TEXT = False


@pytest.fixture
def jobs(tmp_path, settings) -> None:
    pin_prices(settings)
    load_usage_jobs(tmp_path)


def _utc(day: datetime.date, clock: str) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.fromisoformat(clock), datetime.UTC)


def money(text: str) -> Decimal:
    return Decimal(text)


# Per job (D1, D2), what is counted, with cost = bytes billed / 4U x 6.25:
#   j1 ana {O,C} 4U 6.25    j2 ana {O,C} 2U 3.125   j3 ben {L} U 1.5625   j4 ben cache 0
#   j5 cleo {L} U 1.5625    j7 dbt {O,C,S} 2U 3.125 j8 dbt {L} U 1.5625   j9 zoe none 3U 4.6875
#   j10 ana {S,DU} U, 20 slot-hours 1.20
#   j12 cleo {O,C} 2U 3.125 j13 zoe {L} U 1.5625   j14 ben {L} U 1.5625  j15 ana cache 0
#   j16 dbt {O,C} 2U 3.125
# Left out: the SCRIPT parent, the LOAD job, and j0 (ben {L} U 1.5625) on D0.
# D1: 6.25+3.125+1.5625+0+1.5625+3.125+1.5625+4.6875+1.20 = 23.075, 9 queries, 15U
# D2: 3.125+1.5625+1.5625+0+3.125 = 9.375, 5 queries, 6U;  both: 32.45, 14 queries, 21U


# --- Table usage ----------------------------------------------------------------------


def _rows(report) -> list[tuple]:
    return [(row.rank, row.table.full_name, row.users, row.service_accounts, row.queries,
             row.bytes_billed, row.cost) for row in report.rows]  # fmt: skip


def test_tables_are_ranked_by_people_then_queries_then_bytes_then_name(jobs):
    report = table_usage(since=D1, until=D2)
    # L: ben, cleo, zoe + dbt; j3 j5 j8 j13 j14 -> 5 queries, 5U, 5 x 1.5625.
    # C and O: ana, cleo + dbt; j1 j2 j12 j16 (10U, 15.625) and j7 (2U, 3.125): a tie
    #   broken by name, dim_customers before fct_orders.
    # S: ana + dbt; j7 (2U, 3.125) and j10 (U, 1.20).  DU: ana; j10.
    assert _rows(report) == [
        (1, L, 3, 1, 5, 5 * U, money("7.8125")),
        (2, C, 2, 1, 5, 12 * U, money("18.75")),
        (3, O, 2, 1, 5, 12 * U, money("18.75")),
        (4, S, 1, 1, 2, 3 * U, money("4.325")),
        (5, DU, 1, 0, 1, U, money("1.20")),
    ]
    assert {row.currency for row in report.rows} == {"USD"}
    assert (report.since, report.until, report.tables) == (D1, D2, 5)


def test_the_curve_counts_each_query_once_at_the_best_rank_of_its_tables(jobs):
    report = table_usage(since=D1, until=D2, limit=2)
    # 11 table-reading queries (14 less the cache hits j4, j15 and j9, which read none).
    # Best rank per set: {L} 1 (5 queries); {O,C} 2 (4); {O,C,S} 2 (1); {S,DU} 4 (1).
    assert report.total_queries == 11
    assert report.curve == [
        CurvePoint(tables=1, queries=5, share=Decimal("0.454545")),  # 5/11
        CurvePoint(tables=2, queries=10, share=Decimal("0.909091")),  # 10/11
        CurvePoint(tables=3, queries=10, share=Decimal("0.909091")),
        CurvePoint(tables=4, queries=11, share=Decimal("1")),
        CurvePoint(tables=5, queries=11, share=Decimal("1")),
    ]
    assert [row.table.full_name for row in report.rows] == [L, C]  # the limit cuts rows only
    assert report.tables == 5


def test_a_dataset_filter_ranks_its_tables_and_counts_the_queries_that_read_them(jobs):
    marts = table_usage(since=D1, until=D2, dataset="acme-analytics.marts")
    assert [(row.rank, row.table.full_name) for row in marts.rows] == [
        (1, C), (2, O), (3, S), (4, DU)
    ]  # fmt: skip
    # Queries reading a marts table: {O,C} 4, {O,C,S} 1 (both best at C, rank 1),
    # {S,DU} 1 (best at S, rank 3): 6.
    assert marts.total_queries == 6
    assert [(p.tables, p.queries, p.share) for p in marts.curve] == [
        (1, 5, Decimal("0.833333")),  # 5/6
        (2, 5, Decimal("0.833333")),
        (3, 6, Decimal("1")),
        (4, 6, Decimal("1")),
    ]
    legacy = table_usage(since=D1, until=D2, dataset="legacy_sales")  # any project
    assert _rows(legacy) == [(1, L, 3, 1, 5, 5 * U, money("7.8125"))]
    assert [(p.tables, p.queries, p.share) for p in legacy.curve] == [(1, 5, Decimal("1"))]
    assert table_usage(since=D1, until=D2, dataset="nowhere").rows == []


def test_table_usage_reads_only_the_days_asked_for(jobs):
    d2 = table_usage(since=D2, until=D2)
    # D2: {L} j13 zoe, j14 ben (2U, 3.125); {O,C} j12 cleo, j16 dbt (4U, 6.25).
    assert _rows(d2) == [
        (1, L, 2, 0, 2, 2 * U, money("3.125")),
        (2, C, 1, 1, 2, 4 * U, money("6.25")),
        (3, O, 1, 1, 2, 4 * U, money("6.25")),
    ]
    assert [(p.tables, p.queries) for p in d2.curve] == [(1, 2), (2, 4), (3, 4)]
    d0 = table_usage(since=D0, until=D0)
    assert _rows(d0) == [(1, L, 1, 0, 1, U, money("1.5625"))]  # j0 only
    empty = table_usage(
        since=D2 + datetime.timedelta(days=1), until=D2 + datetime.timedelta(days=9)
    )
    assert (empty.rows, empty.curve, empty.total_queries, empty.tables) == ([], [], 0, 0)


# --- Who uses a table -----------------------------------------------------------------


def _teams(groups) -> list[tuple]:
    return [
        (group.team.slug if group.team else None,
         [(use.user.email, use.user.is_service_account, use.queries, use.days, use.last_used)
          for use in group.users])
        for group in groups
    ]  # fmt: skip


def test_who_uses_a_table_is_grouped_by_team_with_the_unmapped_last(jobs):
    legacy = BigQueryTable.objects.get(project_id=PROJECT, dataset_id="legacy_sales",
                                       table_id="daily_sales_v1")  # fmt: skip
    groups = table_users(table=legacy, since=D1, until=D2)
    assert _teams(groups) == [
        # ben: j3 (D1) and j14 (D2 23:30 UTC); dbt: j8, a SCRIPT child.
        ("ae", [(BEN, False, 2, 2, _utc(D2, "23:30")), (DBT, True, 1, 1, _utc(D1, "02:00:20"))]),
        ("finance", [(CLEO, False, 1, 1, _utc(D1, "12:00"))]),
        (None, [(ZOE, False, 1, 1, _utc(D2, "09:00"))]),
    ]
    ae = groups[0]
    assert (ae.people, ae.service_accounts, ae.queries) == (1, 1, 3)
    # With D0, ben's j0 too.
    wider = table_users(table=legacy, since=D0, until=D2)
    assert _teams(wider)[0][1][0] == (BEN, False, 3, 3, _utc(D2, "23:30"))


def test_who_uses_a_table_counts_the_queries_that_read_it_among_others(jobs):
    orders = BigQueryTable.objects.get(project_id=PROJECT, dataset_id="marts",
                                       table_id="fct_orders")  # fmt: skip
    # ana j1 j2 (D1); dbt j7 (D1) and j16 (D2): a tie on queries, by email; cleo j12.
    assert _teams(table_users(table=orders, since=D1, until=D2)) == [
        ("ae", [(ANA, False, 2, 1, _utc(D1, "10:00")), (DBT, True, 2, 2, _utc(D2, "07:00"))]),
        ("finance", [(CLEO, False, 1, 1, _utc(D2, "08:00"))]),
    ]
    # Only read by the SCRIPT parent (not counted) and written by j7: nobody.
    written = BigQueryTable.objects.get(table_id="orders_daily")
    assert table_users(table=written, since=D0, until=D2) == []


# --- Joined together ------------------------------------------------------------------


def _joined(rows) -> list[tuple]:
    return [(tuple(t.full_name for t in row.tables), row.queries, row.users,
             row.service_accounts, row.cost) for row in rows]  # fmt: skip


def test_pairs_read_together_rank_by_queries_then_people_then_cost(jobs):
    # {O,C}: j1 j2 (ana) j12 (cleo) j16 (dbt) + j7 (dbt) = 5 queries, 15.625 + 3.125.
    # {S,DU}: j10 ana, 1.20.  {C,S} and {O,S}: j7 dbt, 3.125; tied, C was seen before O.
    # The SCRIPT parent's pairs with L are not counted.
    assert _joined(joined_tables(since=D1, until=D2)) == [
        ((C, O), 5, 2, 1, money("18.75")),
        ((DU, S), 1, 1, 0, money("1.20")),
        ((C, S), 1, 0, 1, money("3.125")),
        ((O, S), 1, 0, 1, money("3.125")),
    ]
    assert _joined(joined_tables(since=D1, until=D2, limit=1)) == [
        ((C, O), 5, 2, 1, money("18.75"))
    ]
    # D2 alone: j12 and j16.
    assert _joined(joined_tables(since=D2, until=D2)) == [((C, O), 2, 1, 1, money("6.25"))]


def test_triples_read_together(jobs):
    assert _joined(joined_tables(since=D1, until=D2, size=3)) == [
        ((C, O, S), 1, 0, 1, money("3.125"))  # j7 only; the SCRIPT parent's are left out
    ]


# --- Query cost -----------------------------------------------------------------------


def _cost(report) -> list[tuple]:
    return [(row.key, row.label, row.queries, row.cache_hits, row.bytes_billed, row.cost)
            for row in report.rows]  # fmt: skip


TOTAL = CostRow(key=None, label="Total", queries=14, cache_hits=2, bytes_billed=21 * U,
                cost=money("32.45"))  # fmt: skip


def test_query_cost_by_user_counts_cache_hits_and_queries_on_no_table(jobs):
    report = query_cost(since=D1, until=D2, by="user")
    assert _cost(report) == [
        (ANA, ANA, 4, 1, 7 * U, money("10.575")),  # j1 6.25, j2 3.125, j10 1.20, j15 0
        (DBT, DBT, 3, 0, 5 * U, money("7.8125")),  # j7 3.125, j8 1.5625, j16 3.125
        (ZOE, ZOE, 2, 0, 4 * U, money("6.25")),  # j9 4.6875, j13 1.5625
        (CLEO, CLEO, 2, 0, 3 * U, money("4.6875")),  # j5 1.5625, j12 3.125
        (BEN, BEN, 3, 1, 2 * U, money("3.125")),  # j3 1.5625, j4 0, j14 1.5625
    ]
    assert report.total == TOTAL
    assert report.jobs_kept_from is None


def test_query_cost_by_team_puts_users_without_a_team_last(jobs):
    assert _cost(query_cost(since=D1, until=D2, by="team")) == [
        ("ae", "Analytics Engineering", 10, 2, 14 * U, money("21.5125")),  # ana, ben, dbt
        ("finance", "Finance", 2, 0, 3 * U, money("4.6875")),  # cleo
        (None, "No team", 2, 0, 4 * U, money("6.25")),  # zoe
    ]


def test_query_cost_by_project_and_by_day(jobs):
    assert _cost(query_cost(since=D1, until=D2, by="project")) == [
        (PROJECT, PROJECT, 11, 2, 16 * U, money("24.6375")),  # 32.45 - 7.8125
        (DBT_PROJECT, DBT_PROJECT, 3, 0, 5 * U, money("7.8125")),  # j7, j8, j16
    ]
    assert _cost(query_cost(since=D0, until=D2, by="day")) == [
        ("2026-11-01", "2026-11-01", 1, 0, U, money("1.5625")),  # j0
        ("2026-11-02", "2026-11-02", 9, 1, 15 * U, money("23.075")),
        ("2026-11-03", "2026-11-03", 5, 1, 6 * U, money("9.375")),
    ]


def test_query_cost_by_table_splits_each_query_evenly_among_its_tables(jobs):
    report = query_cost(since=D1, until=D2, by="table")
    # {O,C}: 10U, 15.625 -> half each.  {O,C,S}: 2U, 3.125 -> a third each.
    # {S,DU}: U, 1.20 -> half each.  {L}: 5U, 7.8125.  No table: j4 j9 j15, 3U, 4.6875.
    third = Fraction(3_125_000_000, 3)  # nanos
    assert _cost(report) == [
        (C, C, 5, 0, round(5 * U + Fraction(2 * U, 3)), money("8.854166667")),  # 7.8125 + third
        (O, O, 5, 0, round(5 * U + Fraction(2 * U, 3)), money("8.854166667")),
        (L, L, 5, 0, 5 * U, money("7.8125")),
        (S, S, 2, 0, round(Fraction(2 * U, 3) + Fraction(U, 2)), money("1.641666667")),
        (DU, DU, 1, 0, U // 2, money("0.60")),
        (None, "No table (cache hits, queries on no table)", 3, 2, 3 * U, money("4.6875")),
    ]
    assert round(7_812_500_000 + third) == 8_854_166_667
    # Rounded once per table: the rows add up to the total within a billionth per table.
    assert sum(row.cost for row in report.rows) - TOTAL.cost == money("0.000000001")


def test_query_cost_by_label_reads_the_jobs_and_leaves_script_parents_out(jobs):
    report = query_cost(since=D1, until=D2, by="label:team")
    assert _cost(report) == [
        ("ae", "ae", 1, 0, 4 * U, money("6.25")),  # j1 (the SCRIPT parent also says ae)
        ("finance", "finance", 2, 0, 3 * U, money("4.6875")),  # j5, j12
        (None, "No team label", 11, 2, 14 * U, money("21.5125")),  # 32.45 - 6.25 - 4.6875
    ]
    assert report.total == TOTAL
    assert report.jobs_kept_from == retention_start()
    models = query_cost(since=D1, until=D2, by="label:dbt_model")
    assert _cost(models) == [
        ("orders", "orders", 1, 0, 2 * U, money("3.125")),  # j16
        ("orders_daily", "orders_daily", 1, 0, 2 * U, money("3.125")),  # j7
        ("sales", "sales", 1, 0, U, money("1.5625")),  # j8
        (None, "No dbt_model label", 11, 2, 16 * U, money("24.6375")),
    ]


def test_query_cost_refuses_an_unknown_grouping_and_a_backward_period(jobs):
    with pytest.raises(ValueError, match="not 'colour'"):
        query_cost(since=D1, until=D2, by="colour")
    # Digits alone would be read as a JSON array index: not a BigQuery label key.
    for by in ("label:0", "label:-1", "label:", "label:a.b"):
        with pytest.raises(ValueError, match="label:<key>"):
            query_cost(since=D1, until=D2, by=by)
    with pytest.raises(ValueError, match="before it starts"):
        query_cost(since=D2, until=D1, by="user")


# --- Most expensive queries -------------------------------------------------------------


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_most_expensive_queries_by_total_cost_with_runs_and_users(jobs):
    report = expensive_queries(since=D1, until=D2)
    rows = [(row.query_hash, row.first_seen, row.last_seen, row.runs, row.users,
             row.bytes_billed, row.cost, row.query_text) for row in report.rows]  # fmt: skip
    tied = sorted([_hash(Q7), _hash(Q16)])  # 3.125 and one run each: by hash
    when = {_hash(Q7): _utc(D1, "02:00:10"), _hash(Q16): _utc(D2, "07:00")}  # j7, j16
    assert rows == [
        # j1 j2 (ana) j12 (cleo) j15 (ana, cache hit): 6.25 + 3.125 + 3.125 + 0
        (_hash(Q1), _utc(D1, "09:00"), _utc(D2, "10:00"), 4, 2, 8 * U, money("12.5"), ""),
        # j3 j4 j14 (ben) j5 (cleo) j13 (zoe): 4 x 1.5625; j0 is on D0
        (_hash(Q2), _utc(D1, "11:00"), _utc(D2, "23:30"), 5, 3, 4 * U, money("6.25"), ""),
        (_hash(Q9), _utc(D1, "15:00"), _utc(D1, "15:00"), 1, 1, 3 * U, money("4.6875"), ""),
        (tied[0], when[tied[0]], when[tied[0]], 1, 1, 2 * U, money("3.125"), ""),
        (tied[1], when[tied[1]], when[tied[1]], 1, 1, 2 * U, money("3.125"), ""),
        (_hash(Q8), _utc(D1, "02:00:20"), _utc(D1, "02:00:20"), 1, 1, U, money("1.5625"), ""),
        (_hash(Q10), _utc(D1, "16:00"), _utc(D1, "16:00"), 1, 1, U, money("1.20"), ""),
    ]  # the SCRIPT parent's Q6 is not there
    assert report.jobs_kept_from == retention_start()
    assert [row.query_hash for row in expensive_queries(since=D1, until=D2, limit=2).rows] == [
        _hash(Q1), _hash(Q2)
    ]  # fmt: skip


# --- Reconciliation ---------------------------------------------------------------------


def add_billing() -> None:
    """Billing facts for D1 and D2: query SKUs, others, currencies, versions."""
    analysis = {"service_description": "BigQuery", "sku_description": "Analysis"}
    CostFactFactory(usage_date=D1, cost=Decimal("20"), credits=Decimal("-2"), **analysis)
    CostFactFactory(
        usage_date=D1,
        cost=Decimal("1.50"),
        service_description="BigQuery Reservation API",
        sku_description="Enterprise Edition for US (multi-region)",
    )
    CostFactFactory(
        usage_date=D1,
        cost=Decimal("5"),
        service_description="BigQuery",
        sku_description="Active Logical Storage",
    )  # storage: not queries
    CostFactFactory(
        usage_date=D1,
        cost=Decimal("7"),
        service_description="Compute Engine",
        sku_description="N1 Predefined Instance Core",
    )
    # A EUR account: its USD amounts, 11 - 1.
    CostFactFactory(
        usage_date=D2,
        currency="EUR",
        cost=Decimal("10"),
        credits=Decimal("-0.9"),
        cost_usd_nanos=to_nanos(Decimal("11")),
        credits_usd_nanos=to_nanos(Decimal("-1")),
        **analysis,
    )
    # No USD rate: left out, and counted.
    CostFactFactory(
        usage_date=D2,
        currency="JPY",
        cost=Decimal("1000"),
        cost_usd_nanos=None,
        credits_usd_nanos=None,
        **analysis,
    )
    # A superseded version of the month: history, not cost.
    old = BillingMonthFactory(
        valid_from=timezone.now() - datetime.timedelta(days=1), valid_to=timezone.now()
    )
    CostFactFactory(month=old, usage_date=D2, cost=Decimal("100"), **analysis)
    CostFactFactory(usage_date=D2 + datetime.timedelta(days=1), cost=Decimal("50"), **analysis)


@pytest.fixture
def billing(db) -> None:
    add_billing()


def test_reconciliation_compares_allocated_and_billed_cost_per_day(jobs, billing):
    report = reconcile(since=D1, until=D2)
    days = [(day.day, day.allocated, day.billed, day.gap_percent) for day in report.days]
    assert days == [
        # billed: analysis 20 - 2 credits + edition 1.50 = 19.50;
        # gap (23.075 - 19.50) / 19.50 = 18.333..%
        (D1, money("23.075"), money("19.50"), Decimal("18.33")),
        # billed: the EUR account's 11 - 1 USD; gap (9.375 - 10) / 10 = -6.25%
        (D2, money("9.375"), money("10"), Decimal("-6.25")),
    ]
    assert (report.allocated, report.billed, report.gap_percent) == (
        money("32.45"), money("29.50"), Decimal("10.00")  # 2.95 / 29.50
    )  # fmt: skip
    assert report.unconverted_facts == 1
    assert report.currency == "USD"


def test_a_day_with_nothing_billed_has_no_gap_percent(jobs, billing):
    report = reconcile(since=D0, until=D2)
    assert (report.days[0].day, report.days[0].allocated, report.days[0].billed) == (
        D0, money("1.5625"), money("0")
    )  # fmt: skip
    assert report.days[0].gap_percent is None
    # (34.0125 - 29.50) / 29.50 = 15.2966..%
    assert (report.allocated, report.gap_percent) == (money("34.0125"), Decimal("15.30"))
    assert gap_percent(Decimal("1"), Decimal("0")) is None


# --- Every report against a direct count --------------------------------------------------


def _random_history(seed: int) -> list[dict]:
    """300 jobs over five days from D0: 12 tables in two projects and three datasets, six
    people and two service accounts, cache hits, SCRIPT parents, LOAD jobs, reservations."""
    rng = random.Random(seed)
    tables = [f"p{n % 2}.ds{n % 3}.t{n}" for n in range(12)]
    people = [f"u{n}@acme.example" for n in range(6)]
    users = [*people, "sa0@p.iam.gserviceaccount.com", "sa1@p.iam.gserviceaccount.com"]
    start = datetime.datetime.combine(D0, datetime.time(), datetime.UTC)
    rows = []
    for n in range(300):
        when = start + datetime.timedelta(minutes=rng.randrange(5 * 24 * 60))
        read = rng.sample(tables, rng.choice([0, 1, 1, 2, 2, 3, 4]))
        row = _job(f"r{n}", when.isoformat(), rng.choice(users), f"SELECT {rng.randrange(20)}",
                   read, rng.randrange(2**41))  # fmt: skip
        row["project_id"] = rng.choice([PROJECT, DBT_PROJECT])
        row["job_type"] = rng.choice(["QUERY"] * 8 + ["LOAD"])
        row["statement_type"] = rng.choice(["SELECT"] * 6 + ["SCRIPT", "INSERT"])
        row["total_slot_ms"] = str(rng.randrange(10**8))
        row["cache_hit"] = rng.random() < 0.1
        if rng.random() < 0.2:
            row["reservation_id"] = "admin:US.etl"
        if rng.random() < 0.5:
            row["labels"] = [{"key": "team", "value": rng.choice(["a", "b"])}]
        rows.append(row)
    return rows


def _allocated(row: dict) -> int:
    """USD billionths at the pinned prices."""
    if row.get("reservation_id"):
        amount = Decimal(int(row["total_slot_ms"])) / SLOT_HOUR * Decimal("0.06")
    else:
        amount = Decimal(int(row["total_bytes_billed"])) / 2**40 * Decimal("6.25")
    return round(amount * 10**9)


def _usd(nanos: int | Fraction) -> Decimal:
    return Decimal(round(nanos)) / 10**9


def _grouped(counted: list[tuple], key) -> dict:
    """Queries, cache hits, bytes billed and cost per key; `key(row, day, tables)` gives
    (key, share) pairs, the share of the query's bytes and cost that goes to the key."""
    sums = defaultdict(lambda: [0, 0, Fraction(0), Fraction(0)])
    for row, day, tables, nanos in counted:
        for name, share in key(row, day, tables):
            sums[name][0] += 1
            sums[name][1] += bool(row["cache_hit"])
            sums[name][2] += int(row["total_bytes_billed"]) * share
            sums[name][3] += nanos * share
    return {name: (s[0], s[1], round(s[2]), _usd(s[3])) for name, s in sums.items()}


COST_KEYS = {
    "user": lambda row, day, tables: [(row["user_email"], 1)],
    "team": lambda row, day, tables: [("ae" if row["user_email"].startswith(("u0@", "sa0@"))
                                       else None, 1)],
    "project": lambda row, day, tables: [(row["project_id"], 1)],
    "day": lambda row, day, tables: [(day.isoformat(), 1)],
    "table": lambda row, day, tables: [(t, Fraction(1, len(tables))) for t in tables]
    or [(None, 1)],
    "label:team": lambda row, day, tables: [((row["labels"] or [{}])[0].get("value"), 1)],
}  # fmt: skip


@pytest.mark.parametrize("pruned", [False, True])
def test_every_report_agrees_with_a_direct_count_over_a_random_history(tmp_path, settings, pruned):
    """The reports against sums worked out here over the rows themselves. With `pruned`
    the import comes so late that the first days' job rows are deleted at once and only
    their daily usage stays: the reports that read it must not change."""
    pin_prices(settings)
    settings.QUARTERDECK_JOBS_RETENTION_DAYS = 90
    rows = _random_history(seed=3)
    path = tmp_path / "random.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    today = D0 + datetime.timedelta(days=92) if pruned else IMPORTED_ON  # 90 days kept
    import_job_files([path], today=today)
    kept = BigQueryJob.objects.filter(creation_time__lt=_utc(D2, "00:00")).exists()
    assert kept is not pruned  # pruned: the jobs of D0 and D1 are gone, their usage stays
    JobUser.objects.filter(email__in=["u0@acme.example", "sa0@p.iam.gserviceaccount.com"]).update(
        team=TeamFactory(slug="ae", name="AE")
    )
    since, until = D1, D1 + datetime.timedelta(days=2)
    counted = []  # (row, UTC day, names of the tables read, allocated USD billionths)
    for row in rows:
        day = datetime.datetime.fromisoformat(row["creation_time"]).date()
        if (
            row["job_type"] == "QUERY"
            and row["statement_type"] != "SCRIPT"
            and since <= day <= until
        ):
            tables = sorted(".".join(t.values()) for t in row["referenced_tables"])
            counted.append((row, day, tables, _allocated(row)))

    def person(row: dict) -> bool:
        return not row["user_email"].endswith(".gserviceaccount.com")

    # Table usage: ranked by people, queries, bytes billed, name.
    per_table = defaultdict(lambda: [set(), set(), 0, 0, 0])
    for row, _day, tables, nanos in counted:
        for name in tables:
            sums = per_table[name]
            sums[0 if person(row) else 1].add(row["user_email"])
            sums[2:] = [sums[2] + 1, sums[3] + int(row["total_bytes_billed"]), sums[4] + nanos]
    ranking = sorted(
        per_table, key=lambda t: (-len(per_table[t][0]), *(-v for v in per_table[t][2:4]), t)
    )
    rows_of = [(r.table.full_name, r.users, r.service_accounts, r.queries, r.bytes_billed, r.cost)
               for r in table_usage(since=since, until=until, limit=1000).rows]  # fmt: skip
    assert rows_of == [
        (t, len(s[0]), len(s[1]), s[2], s[3], _usd(s[4]))
        for t, s in ((t, per_table[t]) for t in ranking)
    ]
    # The curve: each query once, at the best rank among its tables (of the dataset).
    for dataset in ("", "p1.ds1", "ds2"):
        ranked = [t for t in ranking if dataset in ("", t.rsplit(".", 1)[0], t.split(".")[1])]
        rank = {t: n for n, t in enumerate(ranked, start=1)}
        best = Counter(
            min(rank[t] for t in tables if t in rank)
            for _row, _day, tables, _nanos in counted
            if any(t in rank for t in tables)
        )
        curve = table_usage(since=since, until=until, dataset=dataset).curve
        expected = itertools.accumulate(best[n] for n in range(1, len(ranked) + 1))
        assert [point.queries for point in curve] == list(expected), dataset

    # Who uses a table: queries and days per user.
    for name in ranking[:4]:
        project, dataset, table_id = name.split(".")
        table = BigQueryTable.objects.get(project_id=project, dataset_id=dataset, table_id=table_id)
        days = defaultdict(list)
        for row, day, tables, _nanos in counted:
            if name in tables:
                days[row["user_email"]].append(day)
        groups = table_users(table=table, since=since, until=until)
        assert {(use.user.email, use.queries, use.days) for g in groups for use in g.users} == {
            (email, len(used), len(set(used))) for email, used in days.items()
        }

    # Pairs and triples read together: queries, people, service accounts, cost in full.
    for size in (2, 3):
        combos = defaultdict(lambda: [0, set(), set(), 0])
        for row, _day, tables, nanos in counted:
            for combo in itertools.combinations(tables, size):
                sums = combos[combo]
                sums[0] += 1
                sums[1 if person(row) else 2].add(row["user_email"])
                sums[3] += nanos
        joined = joined_tables(since=since, until=until, size=size, limit=10_000)
        assert {
            tuple(t.full_name for t in r.tables): (r.queries, r.users, r.service_accounts, r.cost)
            for r in joined
        } == {combo: (s[0], len(s[1]), len(s[2]), _usd(s[3])) for combo, s in combos.items()}

    # Query cost by every grouping (by table: each query's bytes and cost split evenly).
    for by, key in COST_KEYS.items():
        if pruned and by.startswith("label:"):
            continue  # read from the job rows, deleted for the first days
        report = query_cost(since=since, until=until, by=by)
        assert {
            r.key: (r.queries, r.cache_hits, r.bytes_billed, r.cost) for r in report.rows
        } == _grouped(counted, key), by

    # The allocation per day (nothing billed).
    per_day = _grouped(counted, lambda row, day, tables: [(day, 1)])
    assert [(d.day, d.allocated) for d in reconcile(since=since, until=until).days] == [
        (day, sums[3]) for day, sums in sorted(per_day.items())
    ]
    if pruned:
        return  # the rest reads the job rows

    # The most expensive query texts, by cost, then runs, then hash.
    texts = defaultdict(lambda: [0, set(), 0, 0])
    for row, _day, _tables, nanos in counted:
        sums = texts[hashlib.sha256(row["query"].encode()).hexdigest()]
        sums[0] += 1
        sums[1].add(row["user_email"])
        sums[2:] = [sums[2] + int(row["total_bytes_billed"]), sums[3] + nanos]
    expensive = expensive_queries(since=since, until=until, limit=500).rows
    assert [(r.query_hash, r.runs, r.users, r.bytes_billed, r.cost) for r in expensive] == sorted(
        ((text, s[0], len(s[1]), s[2], _usd(s[3])) for text, s in texts.items()),
        key=lambda r: (-r[4], -r[1], r[0]),
    )
