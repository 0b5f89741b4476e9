#!/usr/bin/env bash
# Make sure the local PostgreSQL server at 127.0.0.1:5432 is up and has the role and
# database Quarterdeck's tests and benchmarks use. Starts the Debian cluster if it is
# down; fails with a clear message if it cannot.
set -euo pipefail

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_ROLE=${PG_ROLE:-quarterdeck}
PG_DB=${PG_DB:-quarterdeck}

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

command -v pg_isready >/dev/null || die "PostgreSQL client tools (pg_isready, psql) are not installed."
if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
  command -v pg_lsclusters >/dev/null \
    || die "PostgreSQL is not running at $PG_HOST:$PG_PORT and pg_lsclusters is not installed to start it."
  version=$(pg_lsclusters --no-header | awk '$2 == "main" {print $1; exit}')
  [ -n "$version" ] || die "PostgreSQL is not running at $PG_HOST:$PG_PORT and no 'main' cluster exists."
  echo "Starting PostgreSQL $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start \
    || die "could not start PostgreSQL $version/main (see /var/log/postgresql/postgresql-$version-main.log)."
  for _ in $(seq 1 30); do
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break
    sleep 1
  done
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT" \
    || die "PostgreSQL did not accept connections at $PG_HOST:$PG_PORT within 30 s."
fi

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres "$@"; }
psql_admin -tAc "SELECT 1" >/dev/null \
  || die "cannot connect to PostgreSQL as 'postgres' at $PG_HOST:$PG_PORT (trust auth expected)."
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != "1" ]; then
  echo "Creating role $PG_ROLE (LOGIN CREATEDB)"
  psql_admin -c "CREATE ROLE $PG_ROLE LOGIN CREATEDB"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
  echo "Creating database $PG_DB"
  psql_admin -c "CREATE DATABASE $PG_DB OWNER $PG_ROLE"
fi
echo "postgres://$PG_ROLE@$PG_HOST:$PG_PORT/$PG_DB"
