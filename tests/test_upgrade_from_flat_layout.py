"""A database made by the flat layout upgrades to the current code with `migrate` and
keeps every row.

The fixture is the demo database as the code of the flat layout built it (the commit is
in tests/data/upgrade/flat-layout-demo.counts.json; see tests/data/upgrade/README.md). It
is restored into a scratch database of its own, never the test database pytest-django
makes: a SQLite file under tmp_path, or (when DATABASE_URL is a PostgreSQL URL) a new
database on the same server, dropped afterwards. `manage.py` runs in a subprocess with
DATABASE_URL pointing at it, as a deployment would run it.
"""

import gzip
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "data" / "upgrade"
SQLITE_FIXTURE = FIXTURES / "flat-layout-demo.sqlite3.gz"
POSTGRES_FIXTURE = FIXTURES / "flat-layout-demo.postgres.sql.gz"
COUNTS = FIXTURES / "flat-layout-demo.counts.json"
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
# psql meta-commands pg_dump 15.14+ writes; psycopg cannot run them (make-fixtures.sh
# already drops them).
PSQL_RESTRICT = re.compile(rb"^\\(un)?restrict [^\n]*\n", re.MULTILINE)
MANAGE_TIMEOUT = 600

# Figure name -> SQL that reads the same rows from the new layout, for a figure whose
# flat-layout SQL (in counts.json) no longer runs because its column or table moved.
# The expected rows stay those of the flat layout.
NEW_LAYOUT_SQL: dict[str, str] = {}

# Prints, as JSON, each permission of a role group whose content type names no installed
# model: after a move, a group still holding "roadmap | team | Can change team" while
# Team lives in another app has lost that permission in effect.
STALE_GROUP_PERMISSIONS = """
import json
from django.contrib.auth.models import Group
print(json.dumps(sorted(
    f"{group.name}: {perm.content_type.app_label}.{perm.content_type.model} {perm.codename}"
    for group in Group.objects.prefetch_related("permissions__content_type")
    for perm in group.permissions.all()
    if perm.content_type.model_class() is None
)))
"""


@dataclass(frozen=True)
class ScratchDatabase:
    vendor: str  # "sqlite" or "postgresql", as the keys of counts.json
    url: str = field(repr=False)  # DATABASE_URL for manage.py (may hold a password)
    sqlite_path: Path | None = None
    conninfo: str = field(default="", repr=False)  # for psycopg

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        if self.sqlite_path is not None:
            conn = sqlite3.connect(self.sqlite_path)
            try:
                yield conn.cursor()
            finally:
                conn.close()
        else:
            with psycopg.connect(self.conninfo) as conn, conn.cursor() as cursor:
                yield cursor

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        with self._cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchall()

    def row_counts(self) -> dict[str, int]:
        if self.vendor == "sqlite":
            tables = (
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        else:
            tables = (
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        with self._cursor() as cursor:
            cursor.execute(tables)
            names = [name for (name,) in cursor.fetchall()]
            counts = {}
            for name in names:
                quoted = '"' + name.replace('"', '""') + '"'
                cursor.execute(f"SELECT COUNT(*) FROM {quoted}")
                counts[name] = cursor.fetchone()[0]
        return counts


@dataclass(frozen=True)
class Upgrade:
    database: ScratchDatabase
    migrate: subprocess.CompletedProcess[str]
    expected: dict[str, Any] = field(repr=False)  # counts.json


def _vendor_of(url: str) -> str:
    return "postgresql" if urlsplit(url).scheme in POSTGRES_SCHEMES else "sqlite"


def _with_database(url: str, name: str, *, scheme: str | None = None) -> str:
    parts = urlsplit(url)
    return parts._replace(scheme=scheme or parts.scheme, path=f"/{name}").geturl()


@contextmanager
def _sqlite_copy(folder: Path) -> Iterator[ScratchDatabase]:
    path = folder / "flat-layout-demo.sqlite3"
    with gzip.open(SQLITE_FIXTURE, "rb") as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    yield ScratchDatabase(vendor="sqlite", url=f"sqlite:///{path}", sqlite_path=path)


@contextmanager
def _postgres_copy(server_url: str) -> Iterator[ScratchDatabase]:
    """A new database on the server of `server_url` (same credentials), with the dump
    restored into it; dropped at the end, whatever happened."""
    name = f"upgrade_flat_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    maintenance = _with_database(server_url, "postgres", scheme="postgresql")
    try:
        psycopg.connect(maintenance).close()
    except psycopg.OperationalError:  # no "postgres" database: use the configured one
        maintenance = _with_database(
            server_url, urlsplit(server_url).path.lstrip("/"), scheme="postgresql"
        )
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        database = ScratchDatabase(
            vendor="postgresql",
            url=_with_database(server_url, name),
            conninfo=_with_database(server_url, name, scheme="postgresql"),
        )
        dump = PSQL_RESTRICT.sub(b"", gzip.decompress(POSTGRES_FIXTURE.read_bytes()))
        with psycopg.connect(database.conninfo) as conn:
            conn.execute(dump)
        yield database
    finally:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _manage(database: ScratchDatabase, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database.url, "DEBUG": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=MANAGE_TIMEOUT,
        check=False,
    )


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"


def _plain(value: Any) -> Any:
    """A value as counts.json holds it: whole decimals and floats as ints."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _canonical(rows: list[Any]) -> list[list[Any]]:
    """Rows as lists of plain values, in one order whatever the database's collation."""
    return sorted(([_plain(value) for value in row] for row in rows), key=json.dumps)


def _row_difference(expected: list[list[Any]], actual: list[list[Any]]) -> str:
    before = Counter(json.dumps(row) for row in expected)
    after = Counter(json.dumps(row) for row in actual)
    lost = ", ".join(sorted((before - after).elements())) or "none"
    new = ", ".join(sorted((after - before).elements())) or "none"
    return f"rows lost: {lost}\n    rows new:  {new}"


def _require_migrated(upgrade: Upgrade) -> None:
    if upgrade.migrate.returncode != 0:
        pytest.fail(
            "manage.py migrate failed on the flat-layout database "
            "(see test_flat_layout_database_migrates_without_error)",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgrade]:
    """The flat-layout demo database, copied to a scratch database and migrated."""
    expected = json.loads(COUNTS.read_text())
    run_url = os.environ.get("DATABASE_URL", "")
    if _vendor_of(run_url) == "postgresql":
        copy = _postgres_copy(run_url)
    else:
        copy = _sqlite_copy(tmp_path_factory.mktemp("flat-layout"))
    with copy as database:
        migrate = _manage(database, "migrate", "--noinput")
        yield Upgrade(database=database, migrate=migrate, expected=expected)


def test_flat_layout_database_migrates_without_error(upgrade: Upgrade) -> None:
    exit_code = upgrade.migrate.returncode
    assert exit_code == 0, (
        f"manage.py migrate exited with {exit_code} on the flat-layout "
        f"demo database ({upgrade.database.vendor}, made at commit "
        f"{upgrade.expected['commit'][:12]}):\n{_output(upgrade.migrate)}"
    )


def test_upgraded_database_needs_no_new_migrations(upgrade: Upgrade) -> None:
    _require_migrated(upgrade)
    result = _manage(upgrade.database, "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, (
        "after migrating the flat-layout database, `makemigrations --check --dry-run` "
        f"finds model changes no migration covers:\n{_output(result)}"
    )


def test_every_table_of_the_flat_layout_keeps_its_rows(upgrade: Upgrade) -> None:
    _require_migrated(upgrade)
    database = upgrade.database
    expected: dict[str, int] = upgrade.expected["tables"][database.vendor]
    actual = database.row_counts()
    missing = sorted(name for name in expected if name not in actual)
    changed = {
        name: (count, actual[name])
        for name, count in sorted(expected.items())
        if name in actual and actual[name] != count
    }
    problems = [f"table {name} is gone (it had {expected[name]} rows)" for name in missing]
    problems += [
        f"table {name} has {now} rows, the flat layout had {before}"
        for name, (before, now) in changed.items()
    ]
    assert not problems, (
        f"upgrading the flat-layout demo database ({database.vendor}) lost or changed "
        f"rows in {len(problems)} of {len(expected)} tables:\n  " + "\n  ".join(problems)
    )


def test_figures_of_the_flat_layout_survive_the_upgrade(upgrade: Upgrade) -> None:
    _require_migrated(upgrade)
    database = upgrade.database
    problems = []
    for name, figure in upgrade.expected["figures"].items():
        query = NEW_LAYOUT_SQL.get(name, figure["sql"])
        expected = _canonical(figure["expected"][database.vendor])
        try:
            actual = _canonical(database.rows(query))
        except (sqlite3.Error, psycopg.Error) as error:
            problems.append(
                f"{name} ({figure['description']}): its SQL fails on the upgraded database: "
                f"{error}\n    SQL: {query}\n    (if the new layout keeps this elsewhere, "
                "put the query that reads it there in NEW_LAYOUT_SQL)"
            )
            continue
        if actual != expected:
            problems.append(
                f"{name} ({figure['description']}):\n    "
                f"{_row_difference(expected, actual)}\n    SQL: {query}"
            )
    assert not problems, (
        f"{len(problems)} figures of the flat-layout demo database ({database.vendor}) "
        "differ after the upgrade:\n  " + "\n  ".join(problems)
    )


def test_role_groups_keep_permissions_on_installed_models(upgrade: Upgrade) -> None:
    _require_migrated(upgrade)
    result = _manage(
        upgrade.database, "shell", "--no-imports", "--command", STALE_GROUP_PERMISSIONS
    )
    assert result.returncode == 0, f"could not list the groups' permissions:\n{_output(result)}"
    stale = json.loads(result.stdout.strip().splitlines()[-1])
    assert stale == [], (
        "after the upgrade, role groups hold permissions on content types of models that no "
        "longer exist, so they lost those permissions in effect (a moved model's content type "
        "must be renamed to its new app, not left behind):\n  " + "\n  ".join(stale)
    )


# Each table that starts its history at the upgrade, and the table whose rows it must
# hold one record of: a pack of a moment before the upgrade reads them from there.
HISTORY_BACKFILLS = {
    "core_historicalteam": "roadmap_team",
    "core_displayname": "auth_user",
    "cost_historicalallocationrule": "cost_allocationrule",
}


def test_the_upgrade_records_the_history_that_starts_with_it(upgrade: Upgrade) -> None:
    _require_migrated(upgrade)
    database = upgrade.database
    assert database.rows("SELECT COUNT(*) FROM roadmap_team")[0][0] > 0
    for history, table in HISTORY_BACKFILLS.items():
        kept = database.rows(f"SELECT COUNT(*) FROM {history}")
        rows = database.rows(f"SELECT COUNT(*) FROM {table}")
        assert kept == rows, f"{history} holds {kept[0][0]} records of {rows[0][0]} {table} rows"
    names = dict(database.rows("SELECT user_id, name FROM core_displayname"))
    users = database.rows("SELECT id, first_name, last_name, username FROM auth_user")
    for pk, first, last, username in users:
        assert names[pk] == (f"{first} {last}".strip() or username)
