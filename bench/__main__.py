"""`make bench`: the figures each issue asks for, measured the same way every time.

Runs every scenario once per database (PostgreSQL at BENCH_DATABASE_URL, default the
local server prepared by scripts/postgres-ready.sh, then SQLite), each in a fresh
throw-away test database, with production-like settings (DEBUG off). Prints a table and
writes bench/results/latest.json.

    make bench                      # both databases
    python -m bench --only postgres
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _run_one(database_url: str, label: str) -> list[dict]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "testserver",
        "HTTPS": "off",
    }
    result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bench.scenarios", label],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"bench on {label} failed (exit {result.returncode})")
    return json.loads(result.stdout)


def _postgres_url() -> str:
    if url := os.environ.get("BENCH_DATABASE_URL"):
        return url
    ready = subprocess.run(  # noqa: S603
        [str(ROOT / "scripts" / "postgres-ready.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    if ready.returncode != 0:
        raise SystemExit(ready.stderr.strip())
    return ready.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["postgres", "sqlite"])
    args = parser.parse_args()
    runs = []
    if args.only in (None, "postgres"):
        runs.append(("postgres", _postgres_url()))
    if args.only in (None, "sqlite"):
        runs.append(("sqlite", "sqlite:///" + str(ROOT / "bench-db.sqlite3")))

    rows = []
    for label, url in runs:
        rows += _run_one(url, label)

    print(f"{'database':<10} {'scenario':<44} {'median':>9} {'p95':>9} {'bar':>9} {'queries':>8}")
    for row in rows:
        bar = f"{row['bar_ms']:.0f} ms" if row.get("bar_ms") else "-"
        verdict = (
            ""
            if not row.get("bar_ms")
            else ("  ok" if row["median_ms"] <= row["bar_ms"] else "  OVER BAR")
        )
        print(
            f"{row['database']:<10} {row['scenario']:<44} {row['median_ms']:>6.1f} ms "
            f"{row['p95_ms']:>6.1f} ms {bar:>9} {row.get('queries', '-'):>8}{verdict}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
