"""Usage evidence from the BigQuery job history: read-only reports for the usage pages and
the usage API.

Table usage, who uses a table and tables joined together read `JobUsageDay` (jobs summed
per UTC day, project, user and table set), which outlives the job rows, so they cover any
period. Cost by label and the most expensive queries read `BigQueryJob`, kept for
QUARTERDECK_JOBS_RETENTION_DAYS only (`cost.usage.runs.retention_start`).

Each report is one GROUP BY pass over the daily usage (or the jobs) in SQL; Python only
turns the grouped rows into dataclasses. SQLite and PostgreSQL give the same answers:
amounts are summed as integers (USD billionths) and become Decimal afterwards, names are
compared code point by code point on both databases, and the remaining ties are broken
by id.

Every cost here is an allocation at list prices (`BigQueryJob.cost_nanos`), in USD, not
an invoice amount; `reconcile` compares it with the billing export.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from django.db import connection, transaction
from django.db.models import Count, Max, Sum

from core.models import Team
from cost.models import (
    BigQueryTable,
    JobUsageDay,
    JobUser,
    TableCombo,
    TableSet,
    TableSetMember,
    to_decimal,
)
from cost.models.usage import USD

LABEL_PREFIX = "label:"
# A BigQuery label key: a letter first (lower-case or international), then letters,
# digits, underscores and dashes, 63 characters in all. A key of digits alone ("0", "-1")
# would be read as a JSON array index by the grouping (an error on SQLite).
LABEL_KEY = r"[^\W\d_][\w-]{0,62}"
GROUPINGS = ("user", "team", "project", "table", "day")
SHARE_PLACES = Decimal("0.000001")
PERCENT_PLACES = Decimal("0.01")
# Billing export lines that pay for the queries the job history prices: on-demand
# analysis, and the slot capacity of reservations (editions, older flat-rate and flex
# slots). Commitments and editions are billed under "BigQuery Reservation API".
BILLED_SERVICES = ("BigQuery", "BigQuery Reservation API")
ON_DEMAND_SKU_WORDS = ("analysis",)
CAPACITY_SKU_WORDS = ("edition", "slot")


# --- Helpers --------------------------------------------------------------------------


def as_int(value: int | Decimal | None) -> int:
    # SQLite sums integers to int; PostgreSQL's SUM(bigint) is numeric (Decimal), exact.
    return 0 if value is None else int(value)


def usd_from_nanos(nanos: int | Decimal | Fraction | None) -> Decimal:
    """USD billionths (a Fraction when split between tables) -> Decimal USD, to the
    billionth."""
    if isinstance(nanos, Fraction):
        nanos = round(nanos)  # half to even
    return to_decimal(as_int(nanos))


def check_period(since: datetime.date, until: datetime.date) -> None:
    if since > until:
        raise ValueError(f"The period ends ({until}) before it starts ({since}).")


def sql_day(value: datetime.date) -> str | datetime.date:
    # The stubs say str | None; it is never None for a date, and PostgreSQL's is the date.
    return connection.ops.adapt_datefield_value(value)  # type: ignore[return-value]


def _bytewise(column: str) -> str:
    """The column compared by code point: SQLite's default, PostgreSQL's "C" collation
    (its default follows the server's locale), and the order Python sorts strings in."""
    return f'{column} COLLATE "C"' if connection.vendor == "postgresql" else column


def utc_bounds(
    since: datetime.date, until: datetime.date
) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime.combine(since, datetime.time(), tzinfo=datetime.UTC)
    end = datetime.datetime.combine(until, datetime.time(), tzinfo=datetime.UTC)
    return start, end + datetime.timedelta(days=1)


def fetch_rows(sql: str, params: list) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Half a year of usage grouped per table set and user outgrows the default 4 MB
            # and sorts on disk; this much keeps it in memory (about 80 ms less at 1M jobs).
            cursor.execute("SET LOCAL work_mem = '32MB'")
        cursor.execute(sql, params)
        return cursor.fetchall()


def gap_percent(allocated: Decimal, billed: Decimal) -> Decimal | None:
    """(allocated - billed) / billed x 100, to two places; None when nothing was billed."""
    if not billed:
        return None
    return ((allocated - billed) / billed * 100).quantize(PERCENT_PLACES, ROUND_HALF_EVEN)


TABLES = {
    "usage": JobUsageDay._meta.db_table,
    "member": TableSetMember._meta.db_table,
    "combo": TableCombo._meta.db_table,
    "table": BigQueryTable._meta.db_table,
    "user": JobUser._meta.db_table,
    "set": TableSet._meta.db_table,
}


# --- Table usage ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableUsageRow:
    """One table over the period. `queries`, `bytes_billed` and `cost` are those of the
    queries that read it: a query reading three tables counts in full for each."""

    rank: int
    table: BigQueryTable
    users: int  # distinct people
    service_accounts: int  # distinct service accounts
    queries: int
    bytes_billed: int
    cost: Decimal  # allocated, USD
    currency: str = USD


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """The top `tables` tables of the ranking carry `queries` of the table-reading
    queries: those that read at least one of them (each query counted once)."""

    tables: int
    queries: int
    share: Decimal  # queries / total, to six places


@dataclass(frozen=True, slots=True)
class TableUsage:
    since: datetime.date
    until: datetime.date
    dataset: str
    rows: list[TableUsageRow]  # the first `limit` of the ranking
    curve: list[CurvePoint]  # one point per table of the ranking
    total_queries: int  # queries that read at least one table of the ranking
    tables: int  # tables in the ranking


def _dataset_filter(dataset: str) -> tuple[str, list]:
    """`project.dataset` or a bare `dataset` (in any project) -> SQL condition on t."""
    if not dataset:
        return "", []
    project, _dot, name = dataset.strip().strip("`").rpartition(".")
    if project:
        return " AND t.project_id = %s AND t.dataset_id = %s", [project, name]
    return " AND t.dataset_id = %s", [name]


def table_usage(
    *, since: datetime.date, until: datetime.date, dataset: str = "", limit: int = 100
) -> TableUsage:
    """Tables ranked by distinct people, then queries, then bytes billed (then name),
    with the curve of the share of table-reading queries the top n tables carry.

    With `dataset` (`project.dataset`, or a dataset name in any project) only that
    dataset's tables are ranked, and the curve's total is the queries that read at least
    one of them. One statement: a GROUP BY over the period's daily usage per table set
    and user, then joins with the (few) sets' members."""
    check_period(since, until)
    condition, condition_params = _dataset_filter(dataset)
    name_order = ", ".join(_bytewise(f"t.{c}") for c in ("project_id", "dataset_id", "table_id"))
    sql = f"""
        WITH per_set_user AS (
            SELECT table_set_id, user_id, SUM(queries) AS queries,
                SUM(bytes_billed) AS bytes_billed, SUM(cost_nanos) AS cost_nanos
            FROM {TABLES["usage"]}
            WHERE day >= %s AND day <= %s AND table_set_id IS NOT NULL
            GROUP BY table_set_id, user_id
        ),
        per_set AS (
            SELECT table_set_id, SUM(queries) AS queries
            FROM per_set_user GROUP BY table_set_id
        ),
        in_view AS (
            SELECT m.table_set_id, m.table_id
            FROM {TABLES["member"]} m JOIN {TABLES["table"]} t ON t.id = m.table_id
            WHERE m.table_set_id IN (SELECT table_set_id FROM per_set){condition}
        ),
        per_table AS (
            SELECT v.table_id,
                COUNT(DISTINCT CASE WHEN u.is_service_account THEN NULL ELSE p.user_id END)
                    AS users,
                COUNT(DISTINCT CASE WHEN u.is_service_account THEN p.user_id END)
                    AS service_accounts,
                SUM(p.queries) AS queries, SUM(p.bytes_billed) AS bytes_billed,
                SUM(p.cost_nanos) AS cost_nanos
            FROM in_view v
            JOIN per_set_user p ON p.table_set_id = v.table_set_id
            JOIN {TABLES["user"]} u ON u.id = p.user_id
            GROUP BY v.table_id
        ),
        ranked AS (
            SELECT pt.table_id, pt.users, pt.service_accounts, pt.queries, pt.bytes_billed,
                pt.cost_nanos,
                ROW_NUMBER() OVER (ORDER BY pt.users DESC, pt.queries DESC,
                    pt.bytes_billed DESC, {name_order}, pt.table_id) AS rank
            FROM per_table pt JOIN {TABLES["table"]} t ON t.id = pt.table_id
        ),
        best AS (  -- each set counts once, at the best rank among its tables
            SELECT v.table_set_id, MIN(r.rank) AS rank
            FROM in_view v JOIN ranked r ON r.table_id = v.table_id
            GROUP BY v.table_set_id
        )
        SELECT 'table', rank, table_id, users, service_accounts, queries, bytes_billed,
            cost_nanos
        FROM ranked WHERE rank <= %s
        UNION ALL
        SELECT 'curve', b.rank, NULL, NULL, NULL, SUM(s.queries), NULL, NULL
        FROM best b JOIN per_set s ON s.table_set_id = b.table_set_id
        GROUP BY b.rank
        UNION ALL
        SELECT 'count', COUNT(*), NULL, NULL, NULL, NULL, NULL, NULL FROM ranked
    """  # noqa: S608 - table names from the models, values as parameters
    found = fetch_rows(sql, [sql_day(since), sql_day(until), *condition_params, limit])
    table_rows = sorted((row for row in found if row[0] == "table"), key=lambda row: row[1])
    at_rank = {row[1]: as_int(row[5]) for row in found if row[0] == "curve"}
    count = next(as_int(row[1]) for row in found if row[0] == "count")
    tables = BigQueryTable.objects.in_bulk([row[2] for row in table_rows])
    total = sum(at_rank.values())
    curve, carried = [], 0
    for rank in range(1, count + 1):
        carried += at_rank.get(rank, 0)
        share = (Decimal(carried) / Decimal(total)).quantize(SHARE_PLACES, ROUND_HALF_EVEN)
        curve.append(CurvePoint(tables=rank, queries=carried, share=share))
    return TableUsage(
        since=since,
        until=until,
        dataset=dataset,
        rows=[
            TableUsageRow(
                rank=row[1],
                table=tables[row[2]],
                users=as_int(row[3]),
                service_accounts=as_int(row[4]),
                queries=as_int(row[5]),
                bytes_billed=as_int(row[6]),
                cost=usd_from_nanos(row[7]),
            )
            for row in table_rows
        ],
        curve=curve,
        total_queries=total,
        tables=count,
    )


# --- Who uses a table -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserUse:
    user: JobUser  # a person or a service account (`user.is_service_account`)
    queries: int  # queries that read the table
    days: int  # UTC days with at least one
    last_used: datetime.datetime


@dataclass(frozen=True, slots=True)
class TeamUsers:
    """The users of one team (`team` is a roadmap.Team; None: users mapped to no team)."""

    team: Team | None
    users: list[UserUse]

    @property
    def people(self) -> int:
        return sum(1 for use in self.users if not use.user.is_service_account)

    @property
    def service_accounts(self) -> int:
        return sum(1 for use in self.users if use.user.is_service_account)

    @property
    def queries(self) -> int:
        return sum(use.queries for use in self.users)


def table_users(
    *, table: BigQueryTable, since: datetime.date, until: datetime.date
) -> list[TeamUsers]:
    """Everyone who read `table` in the period, with their queries, days and last use,
    grouped by team: teams by name, users mapped to no team last; in a team, most
    queries first. The interview list for retiring a table."""
    check_period(since, until)
    rows = (
        JobUsageDay.objects.filter(day__gte=since, day__lte=until, table_set__members__table=table)
        .values("user_id")
        .annotate(
            queries=Sum("queries"), days=Count("day", distinct=True), last_used=Max("last_seen")
        )
        .order_by()
    )
    users = JobUser.objects.select_related("team").in_bulk([row["user_id"] for row in rows])
    by_team: dict[int | None, list[UserUse]] = defaultdict(list)
    for row in rows:
        user = users[row["user_id"]]
        by_team[user.team_id].append(
            UserUse(
                user=user,
                queries=as_int(row["queries"]),
                days=row["days"],
                last_used=row["last_used"],
            )
        )
    groups = [
        TeamUsers(
            team=uses[0].user.team,
            users=sorted(uses, key=lambda use: (-use.queries, use.user.email)),
        )
        for uses in by_team.values()
    ]
    return sorted(groups, key=lambda group: (group.team is None, str(group.team or "")))


# --- Tables joined together -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinedRow:
    """Two (or three) tables read by the same queries: a candidate intermediate table.
    `cost` is that of the queries that read them together, in full."""

    tables: tuple[BigQueryTable, ...]  # in name order
    queries: int
    users: int  # distinct people
    service_accounts: int
    cost: Decimal  # allocated, USD
    currency: str = USD


def joined_tables(
    *, since: datetime.date, until: datetime.date, size: int = 2, limit: int = 50
) -> list[JoinedRow]:
    """Pairs (size 2) or triples (size 3) of tables most often read by the same query,
    then by most people, then by cost (ties: the tables first seen first).

    Pairs are listed for queries reading up to MAX_PAIR_SET_SIZE tables, triples up to
    MAX_TRIPLE_SET_SIZE (cost.models.usage): bigger queries are not candidates anyway."""
    check_period(since, until)
    if size not in (2, 3):
        raise ValueError("size is 2 (pairs) or 3 (triples)")
    third = "c.third_id IS NULL" if size == 2 else "c.third_id IS NOT NULL"
    sql = f"""
        WITH per_set_user AS (
            SELECT table_set_id, user_id, SUM(queries) AS queries,
                SUM(cost_nanos) AS cost_nanos
            FROM {TABLES["usage"]}
            WHERE day >= %s AND day <= %s AND table_set_id IS NOT NULL
            GROUP BY table_set_id, user_id
        )
        SELECT c.first_id, c.second_id, c.third_id, SUM(p.queries) AS queries,
            COUNT(DISTINCT CASE WHEN u.is_service_account THEN NULL ELSE p.user_id END)
                AS users,
            COUNT(DISTINCT CASE WHEN u.is_service_account THEN p.user_id END)
                AS service_accounts,
            SUM(p.cost_nanos) AS cost_nanos
        FROM per_set_user p
        JOIN {TABLES["combo"]} c ON c.table_set_id = p.table_set_id
        JOIN {TABLES["user"]} u ON u.id = p.user_id
        WHERE {third}
        GROUP BY c.first_id, c.second_id, c.third_id
        ORDER BY queries DESC, users DESC, cost_nanos DESC, c.first_id, c.second_id,
            c.third_id
        LIMIT %s
    """  # noqa: S608
    found = fetch_rows(sql, [sql_day(since), sql_day(until), limit])
    ids = {table_id for row in found for table_id in row[:3] if table_id is not None}
    tables = BigQueryTable.objects.in_bulk(ids)
    return [
        JoinedRow(
            tables=tuple(
                sorted((tables[i] for i in (first, second, third) if i is not None), key=_name_key)
            ),
            queries=as_int(queries),
            users=as_int(users),
            service_accounts=as_int(service_accounts),
            cost=usd_from_nanos(cost),
        )
        for first, second, third, queries, users, service_accounts, cost in found
    ]


def _name_key(table: BigQueryTable) -> tuple[str, str, str]:
    return (table.project_id, table.dataset_id, table.table_id)
