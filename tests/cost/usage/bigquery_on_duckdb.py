"""BigQuery's INFORMATION_SCHEMA.JOBS views stood in for by DuckDB tables, and our BigQuery
SQL run on them through sqlglot. Only the network is replaced: the SQL is ours, as sent.

sqlglot maps everything the pushed-down SQL uses (STRING_AGG, COUNTIF, LOGICAL_OR, UNNEST
WITH OFFSET, QUALIFY, IN UNNEST(@array), DIV and MOD, @parameters), except what is handled
here by name:

- `BIGNUMERIC(38, 0)` becomes DuckDB's `HUGEINT`: sqlglot writes `DECIMAL(38, 0)`, whose
  `//` DuckDB computes as a DOUBLE (inexact past 2^53), while BigQuery's DIV and MOD on
  BIGNUMERIC are exact. HUGEINT (128-bit) divides exactly.
- `DATE(timestamp)` is the UTC day in BigQuery; sqlglot writes `CAST(... AS DATE)`, which
  DuckDB takes in the session's time zone, so the session is set to UTC.
- The view names: sqlglot writes `region-us`.INFORMATION_SCHEMA.JOBS_BY_ORGANIZATION as the
  table "INFORMATION_SCHEMA.JOBS_BY_ORGANIZATION" of the schema "region-us" (and a
  project's view one catalog deeper), so the stand-in creates tables of those names.
"""

import datetime
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import sqlglot
from google.cloud.bigquery import ArrayQueryParameter, QueryJobConfig, ScalarQueryParameter
from google.cloud.bigquery.table import Row
from sqlglot import exp

JOBS_TABLE = """
  creation_time TIMESTAMPTZ, start_time TIMESTAMPTZ, end_time TIMESTAMPTZ,
  project_id VARCHAR, job_id VARCHAR, user_email VARCHAR, principal_subject VARCHAR,
  job_type VARCHAR, statement_type VARCHAR, state VARCHAR, priority VARCHAR, query VARCHAR,
  total_bytes_processed BIGINT, total_bytes_billed BIGINT, total_slot_ms BIGINT,
  cache_hit BOOLEAN,
  referenced_tables STRUCT(project_id VARCHAR, dataset_id VARCHAR, table_id VARCHAR)[],
  destination_table STRUCT(project_id VARCHAR, dataset_id VARCHAR, table_id VARCHAR),
  labels STRUCT(key VARCHAR, value VARCHAR)[], reservation_id VARCHAR,
  parent_job_id VARCHAR,
  error_result STRUCT(reason VARCHAR, location VARCHAR, debug_info VARCHAR, message VARCHAR)
"""
COLUMNS = [
    "creation_time", "start_time", "end_time", "project_id", "job_id", "user_email",
    "principal_subject", "job_type", "statement_type", "state", "priority", "query",
    "total_bytes_processed", "total_bytes_billed", "total_slot_ms", "cache_hit",
    "referenced_tables", "destination_table", "labels", "reservation_id", "parent_job_id",
    "error_result",
]  # fmt: skip


def _exact_bignumeric(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.BIGDECIMAL:
        return exp.DataType.build("HUGEINT")
    return node


def to_duckdb(sql: str) -> str:
    """sqlglot.transpile(sql, read="bigquery", write="duckdb"), with BIGNUMERIC exact."""
    tree = sqlglot.parse_one(sql, read="bigquery")
    return tree.transform(_exact_bignumeric).sql(dialect="duckdb")


def parameter_values(parameters: Sequence[Any]) -> dict[str, Any]:
    values = {}
    for parameter in parameters:
        if isinstance(parameter, ScalarQueryParameter):
            values[parameter.name] = parameter.value
        elif isinstance(parameter, ArrayQueryParameter):
            values[parameter.name] = list(parameter.values)
        else:
            raise TypeError(f"no stand-in for {parameter!r}")
    return values


class Jobs:
    """The JOBS views of a few regions: the organisation's, and each project's."""

    def __init__(self) -> None:
        self.db = duckdb.connect()
        self.db.execute("SET TimeZone = 'UTC'")
        self.regions: set[str] = set()

    def add(self, region: str, rows: Sequence[dict]) -> None:
        table = f'"{region}"."INFORMATION_SCHEMA.JOBS_BY_ORGANIZATION"'
        if region not in self.regions:
            self.db.execute(f'CREATE SCHEMA "{region}"')
            self.db.execute(f"CREATE TABLE {table} ({JOBS_TABLE})")
            self.regions.add(region)
        names = ", ".join(COLUMNS)
        marks = ", ".join(["?"] * len(COLUMNS))
        for row in rows:
            self.db.execute(
                f"INSERT INTO {table} ({names}) VALUES ({marks})",
                [row.get(name) for name in COLUMNS],
            )
        # Each project's JOBS_BY_PROJECT: its rows of the organisation's view.
        for (project,) in self.db.execute(f"SELECT DISTINCT project_id FROM {table}").fetchall():
            catalogs = {
                name
                for (name,) in self.db.execute(
                    "SELECT database_name FROM duckdb_databases()"
                ).fetchall()
            }
            if project not in catalogs:
                self.db.execute(f"ATTACH ':memory:' AS \"{project}\"")
            self.db.execute(f'CREATE SCHEMA IF NOT EXISTS "{project}"."{region}"')
            view = f'"{project}"."{region}"."INFORMATION_SCHEMA.JOBS_BY_PROJECT"'
            self.db.execute(
                f"CREATE OR REPLACE TABLE {view} AS SELECT * FROM {table} WHERE project_id = ?",
                [project],
            )

    def run(self, sql: str, parameters: Sequence[Any]) -> list[dict[str, Any]]:
        cursor = self.db.execute(to_duckdb(sql), parameter_values(parameters))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


class FakeJob:
    """A finished query job: its rows as google.cloud.bigquery Rows, its statistics."""

    def __init__(self, rows: list[dict[str, Any]], scanned: int) -> None:
        self._rows = rows
        self.total_bytes_processed = scanned
        self.total_bytes_billed = 0 if not rows else scanned

    def result(self) -> Iterator[Row]:
        for row in self._rows:
            yield Row(tuple(row.values()), {name: i for i, name in enumerate(row)})


class FakeBigQuery:
    """cost.google.make_client's stand-in: runs each query on `jobs`. A dry run answers
    with the bytes it would scan (a fixed figure per view read)."""

    SCANNED_PER_VIEW = 10_485_760

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.projects: list[str] = []
        self.queries: list[tuple[str, QueryJobConfig, str | None]] = []
        self.failing: dict[str, Exception] = {}  # location -> the error its queries raise

    def client(self, project: str) -> "FakeBigQuery":
        self.projects.append(project)
        return self

    def query(self, sql: str, job_config: QueryJobConfig, location: str | None = None) -> FakeJob:
        self.queries.append((sql, job_config, location))
        if location in self.failing:
            raise self.failing[location]
        scanned = self.SCANNED_PER_VIEW * sql.count("INFORMATION_SCHEMA.")
        if job_config.dry_run:
            return FakeJob([], scanned)
        return FakeJob(self.jobs.run(sql, job_config.query_parameters), scanned)


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)
