"""`make bench`: the figures each issue asks for, measured the same way every time.

Runs every scenario once per database (PostgreSQL at BENCH_DATABASE_URL, default the
local server prepared by scripts/postgres-ready.sh, then SQLite), each in a fresh
throw-away test database, with production-like settings (DEBUG off). Prints a table and
writes bench/results/latest.json.

    make bench                                  # every scenario, both databases
    python -m bench --only postgres --scenario billing
    python -m bench --scenario item_import       # the CSV import of 5,000 roadmap items
    python -m bench --scenario mixed             # API and item forms at once, on gunicorn
    python -m bench --only postgres --scenario benefit  # 40 items' realised benefit, 1M jobs
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SCENARIOS = [
    "roadmap",
    "review",
    "pack",
    "billing",
    "api",
    "jobs",
    "usage_pull",
    "item_import",
    "mixed",
    "benefit",
]


def _run_one(database_url: str, label: str, scenario: str) -> list[dict]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "testserver",
        "HTTPS": "off",
    }
    result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bench.scenarios", label, scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"bench {scenario} on {label} failed (exit {result.returncode})")
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
    parser.add_argument("--scenario", choices=SCENARIOS, action="append",
                        help="run only this scenario (repeatable)")  # fmt: skip
    args = parser.parse_args()
    runs = []
    if args.only in (None, "postgres"):
        runs.append(("postgres", _postgres_url()))
    if args.only in (None, "sqlite"):
        runs.append(("sqlite", "sqlite:///" + str(ROOT / "bench-db.sqlite3")))

    rows = []
    for scenario in args.scenario or SCENARIOS:
        for label, url in runs:
            # Each scenario in a fresh process: timings and peak memory are its own.
            rows += _run_one(url, label, scenario)

    print(f"{'database':<10} {'scenario':<62} {'median':>10} {'p95':>10} {'bar':>10}  notes")
    for row in rows:
        bar = _ms(row["bar_ms"]) if row.get("bar_ms") else "-"
        verdict = ""
        if row.get("bar_ms"):
            measured = row[f"{row.get('bar_on', 'median')}_ms"]
            verdict = "ok" if measured <= row["bar_ms"] else "OVER BAR"
        notes = "; ".join(filter(None, [verdict, row.get("note", ""),
                                        f"{row['queries']} queries" if row.get("queries")
                                        else ""]))  # fmt: skip
        print(
            f"{row['database']:<10} {row['scenario']:<62} {_ms(row['median_ms']):>10} "
            f"{_ms(row['p95_ms']):>10} {bar:>10}  {notes}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(rows, indent=2))


def _ms(value: float) -> str:
    return f"{value / 1000:.2f} s" if value >= 10_000 else f"{value:.1f} ms"


if __name__ == "__main__":
    main()
