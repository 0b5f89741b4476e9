#!/usr/bin/env bash
# Remake the flat-layout upgrade fixtures of tests/test_upgrade_from_flat_layout.py:
# the demo database as the code at COMMIT builds it, on SQLite and on PostgreSQL, and
# the row counts and figures the upgraded database must still show.
#
#   tests/data/upgrade/make-fixtures.sh COMMIT
#
# Run by hand only, never by the test suite. Works in a temporary worktree and venv under
# /tmp (the checkout it is run from is not touched, except the three fixture files next to
# this script) and in two scratch PostgreSQL databases at 127.0.0.1:5432, dropped at the
# end. Needs python3.11, git, psql and pg_dump, and a server with trust auth for
# 'postgres' (scripts/postgres-ready.sh makes sure role 'quarterdeck' exists).
#
# JOBS_PER_DAY (default 150) is the demo's BigQuery job history per weekday: the demo's
# own 700 make a 25 MB database (8 MB gzipped); 150 keep each fixture under 3 MB and
# still fill every table the full demo fills.
set -euo pipefail

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 COMMIT"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse --verify "$1^{commit}") || die "not a commit: $1"
jobs_per_day=${JOBS_PER_DAY:-150}
pg_host=127.0.0.1
pg_port=5432
pg_role=quarterdeck
pg_db=flat_fixture
pg_check_db=flat_fixture_restore_check

work=$(mktemp -d /tmp/quarterdeck-flat-fixtures.XXXXXX)
tree=$work/tree
psql_admin() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h "$pg_host" -p "$pg_port" -U postgres -d postgres "$@"; }
cleanup() {
  psql_admin -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" \
    -c "DROP DATABASE IF EXISTS $pg_check_db WITH (FORCE)" || true
  git -C "$repo" worktree remove --force "$tree" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== Worktree and venv at $commit"
git -C "$repo" worktree add --detach "$tree" "$commit" >/dev/null
cd "$tree"
python3.11 -m venv .venv
.venv/bin/pip install -q -e '.[dev]'
where=$(.venv/bin/python -c "import roadmap; print(roadmap.__file__)")
case "$where" in "$tree"/*) ;; *) die "roadmap imports from $where, not from $tree" ;; esac

# The load_demo command, with a smaller job history (see JOBS_PER_DAY above).
load_demo() {
  DEBUG=1 DATABASE_URL=$1 .venv/bin/python manage.py migrate --noinput >/dev/null
  DEBUG=1 DATABASE_URL=$1 DJANGO_SETTINGS_MODULE=config.settings JOBS_PER_DAY=$jobs_per_day \
    .venv/bin/python -c '
import functools
import os

import django

django.setup()
import roadmap.demo as demo
from django.core.management import call_command

demo._load_job_history = functools.partial(
    demo._load_job_history, jobs_per_day=int(os.environ["JOBS_PER_DAY"])
)
call_command("load_demo")
'
}

echo "== SQLite demo"
load_demo "sqlite:///$work/flat.sqlite3" | sed -n '1,4p'

echo "== PostgreSQL demo"
PG_HOST=$pg_host PG_PORT=$pg_port PG_ROLE=$pg_role scripts/postgres-ready.sh >/dev/null
psql_admin -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" \
  -c "DROP DATABASE IF EXISTS $pg_check_db WITH (FORCE)" \
  -c "CREATE DATABASE $pg_db OWNER $pg_role" \
  -c "CREATE DATABASE $pg_check_db OWNER $pg_role"
load_demo "postgres://$pg_role@$pg_host:$pg_port/$pg_db" | sed -n '1,4p'
# Plain SQL with multi-row INSERTs, so psycopg can run it (no COPY, no psql). The
# \restrict and \unrestrict lines (pg_dump 15.14+) are psql meta-commands: dropped.
pg_dump --no-owner --no-privileges --inserts --rows-per-insert=500 \
  -h "$pg_host" -p "$pg_port" -U "$pg_role" "$pg_db" \
  | sed -e '/^\\\(un\)\?restrict /d' >"$work/flat.postgres.sql"

echo "== Counts and figures (and a trial restore of the dump with psycopg)"
COMMIT=$commit JOBS_PER_DAY=$jobs_per_day \
SQLITE_PATH=$work/flat.sqlite3 DUMP_PATH=$work/flat.postgres.sql \
PG_SOURCE="postgresql://$pg_role@$pg_host:$pg_port/$pg_db" \
PG_CHECK="postgresql://$pg_role@$pg_host:$pg_port/$pg_check_db" \
COUNTS_PATH=$work/flat-layout-demo.counts.json \
  .venv/bin/python - <<'PYTHON'
import datetime
import json
import os
import re
import sqlite3
from decimal import Decimal

import django
import psycopg

EXCLUDED = ["auth_permission", "django_admin_log", "django_content_type", "django_migrations",
            "django_session"]  # fmt: skip

# Figures worth checking after an upgrade: SQL over the flat layout's table names, which
# the move keeps. Integers and text only (money in nanos, decimals in hundredths), so
# both databases give exact values. Rows are compared in any order.
FIGURES = {
    "billing_net_cost_nanos": (
        "Billing facts: rows and net cost (cost + credits, in billionths) per currency",
        "SELECT currency, COUNT(*), SUM(cost_nanos + credits_nanos) FROM cost_costfact"
        " GROUP BY currency",
    ),
    "billing_net_cost_nanos_by_team": (
        "Billing facts: net cost per team of the allocation rule that attributed it",
        "SELECT COALESCE(t.slug, '(unallocated)'), COUNT(*), SUM(f.cost_nanos + f.credits_nanos)"
        " FROM cost_costfact f LEFT JOIN cost_allocationrule r ON r.id = f.allocation_rule_id"
        " LEFT JOIN roadmap_team t ON t.id = r.team_id GROUP BY COALESCE(t.slug, '(unallocated)')",
    ),
    "monthly_rollup_net_cost_nanos": (
        "Monthly rollups: rows and net cost",
        "SELECT COUNT(*), SUM(cost_nanos + credits_nanos) FROM cost_costmonthrollup",
    ),
    "allocation_rules_with_roadmap_item": (
        "Allocation rules that attribute cost to a roadmap item",
        "SELECT COUNT(*) FROM cost_allocationrule WHERE roadmap_item_id IS NOT NULL",
    ),
    "allocation_rule_targets": (
        "Each allocation rule: its team and its roadmap item (if any)",
        "SELECT r.name, r.position, t.slug, i.title FROM cost_allocationrule r"
        " JOIN roadmap_team t ON t.id = r.team_id"
        " LEFT JOIN roadmap_roadmapitem i ON i.id = r.roadmap_item_id",
    ),
    "job_users_by_team": (
        "Job users per team slug",
        "SELECT COALESCE(t.slug, '(none)'), COUNT(*) FROM cost_jobuser u"
        " LEFT JOIN roadmap_team t ON t.id = u.team_id GROUP BY COALESCE(t.slug, '(none)')",
    ),
    "job_cost_nanos_by_team": (
        "BigQuery jobs and their allocated cost per team of the job user",
        "SELECT COALESCE(t.slug, '(none)'), COUNT(*), SUM(j.cost_nanos) FROM cost_bigqueryjob j"
        " JOIN cost_jobuser u ON u.id = j.user_id LEFT JOIN roadmap_team t ON t.id = u.team_id"
        " GROUP BY COALESCE(t.slug, '(none)')",
    ),
    "api_tokens": (
        "API tokens: owner, name, prefix and key hash",
        "SELECT u.username, k.name, k.prefix, k.key_hash, k.revoked_at IS NULL"
        " FROM cost_apitoken k JOIN auth_user u ON u.id = k.user_id",
    ),
    "teams": (
        "Teams: slug, name, weekly rate in hundredths, currency",
        "SELECT slug, name, CAST(ROUND(weekly_rate * 100) AS BIGINT), currency FROM roadmap_team",
    ),
    "roadmap_items_by_team_name": (
        "Roadmap items per team name",
        "SELECT t.name, COUNT(*) FROM roadmap_roadmapitem i JOIN roadmap_team t ON t.id = i.team_id"
        " GROUP BY t.name",
    ),
    "requesting_teams": (
        "Roadmap items each team requested",
        "SELECT t.slug, COUNT(*) FROM roadmap_roadmapitem_requesting_teams rt"
        " JOIN roadmap_team t ON t.id = rt.team_id GROUP BY t.slug",
    ),
    "roadmap_item_history_by_team": (
        "History rows of roadmap items per team slug and change type",
        "SELECT COALESCE(t.slug, '(none)'), h.history_type, COUNT(*)"
        " FROM roadmap_historicalroadmapitem h LEFT JOIN roadmap_team t ON t.id = h.team_id"
        " GROUP BY COALESCE(t.slug, '(none)'), h.history_type",
    ),
    "review_comments": (
        "Review comments per review session and kind",
        "SELECT s.title, c.kind, COUNT(*) FROM roadmap_reviewcomment c"
        " JOIN roadmap_reviewsession s ON s.id = c.session_id GROUP BY s.title, c.kind",
    ),
    "review_packs": (
        "Review packs: version, content hash, PDF size",
        "SELECT version, content_hash, LENGTH(pdf) FROM roadmap_reviewpack",
    ),
    "group_permissions": (
        "Permissions of each role group, by codename (the app label may change in a move)",
        "SELECT g.name, p.codename, COUNT(*) FROM auth_group_permissions gp"
        " JOIN auth_group g ON g.id = gp.group_id JOIN auth_permission p ON p.id = gp.permission_id"
        " GROUP BY g.name, p.codename",
    ),
}


def plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def canonical(rows):
    return sorted(([plain(v) for v in row] for row in rows), key=json.dumps)


def read_sqlite(path):
    with sqlite3.connect(path) as conn:
        names = [n for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        counts = {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
        figures = {k: canonical(conn.execute(sql).fetchall()) for k, (_, sql) in FIGURES.items()}
    conn.close()
    return counts, figures


def read_postgres(conninfo):
    with psycopg.connect(conninfo) as conn:
        names = [n for (n,) in conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")]
        counts = {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
        figures = {k: canonical(conn.execute(sql).fetchall()) for k, (_, sql) in FIGURES.items()}
    return counts, figures


def keep(counts):
    return {name: counts[name] for name in sorted(counts) if name not in EXCLUDED}


# SQLite: one self-contained file (no WAL beside it), without free pages. VACUUM copies
# the rows, so the CHECK constraints need Django's REGEXP function.
with sqlite3.connect(os.environ["SQLITE_PATH"]) as conn:
    conn.create_function(
        "REGEXP", 2, lambda pattern, text: text is not None and bool(re.search(pattern, text))
    )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
conn.execute("VACUUM")
conn.close()

sqlite_counts, sqlite_figures = read_sqlite(os.environ["SQLITE_PATH"])
pg_counts, pg_figures = read_postgres(os.environ["PG_SOURCE"])

# The dump must restore with psycopg alone, as the test restores it, to the same data.
with open(os.environ["DUMP_PATH"], "rb") as dump, psycopg.connect(os.environ["PG_CHECK"]) as conn:
    conn.execute(dump.read())
check_counts, check_figures = read_postgres(os.environ["PG_CHECK"])
assert (check_counts, check_figures) == (pg_counts, pg_figures), "the dump does not restore"

for vendor, counts in (("sqlite", sqlite_counts), ("postgresql", pg_counts)):
    empty = [name for name, n in keep(counts).items() if n == 0]
    print(f"{vendor}: {len(keep(counts))} tables, empty: {', '.join(empty) or 'none'}")
differ = sorted(n for n in keep(sqlite_counts) if sqlite_counts[n] != pg_counts.get(n))
print("row counts that differ between SQLite and PostgreSQL:", ", ".join(differ) or "none")

with psycopg.connect(os.environ["PG_SOURCE"]) as conn:
    server = conn.execute("SHOW server_version").fetchone()[0]
document = {
    "about": "Row counts and figures of the flat-layout demo database; see README.md.",
    "commit": os.environ["COMMIT"],
    "made_on": datetime.date.today().isoformat(),
    "demo": {"command": "load_demo", "jobs_per_day": int(os.environ["JOBS_PER_DAY"])},
    "made_with": {
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": server,
    },
    "excluded_tables": EXCLUDED,
    "tables": {"sqlite": keep(sqlite_counts), "postgresql": keep(pg_counts)},
    "figures": {
        name: {
            "description": description,
            "sql": sql,
            "expected": {"sqlite": sqlite_figures[name], "postgresql": pg_figures[name]},
        }
        for name, (description, sql) in FIGURES.items()
    },
}
with open(os.environ["COUNTS_PATH"], "w") as out:
    json.dump(document, out, indent=1, ensure_ascii=False)
    out.write("\n")
PYTHON

echo "== Saving to $here"
gzip -9 -n -c "$work/flat.sqlite3" >"$here/flat-layout-demo.sqlite3.gz"
gzip -9 -n -c "$work/flat.postgres.sql" >"$here/flat-layout-demo.postgres.sql.gz"
cp "$work/flat-layout-demo.counts.json" "$here/flat-layout-demo.counts.json"
ls -l "$here"/flat-layout-demo.*
