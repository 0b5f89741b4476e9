"""The `mixed` scenario: gunicorn (3 workers, as in the Dockerfile) serving a seeded
roadmap and a million billing facts (300,000 on SQLite) while, at the same time, 10
threads call the finance API with a token (cost-reports with a few groupings and periods,
cost-facts pages) and 10 threads, each signed in as a Manager, open an item's edit form
and save it (then load the item page the save redirects to, as a browser does).

Latencies per request kind (p50, p95; the bar is p95 < 1 s), errors, and refused saves
(409, a version conflict: not an error; the form that comes back is saved again, as its
page asks), with each kind's time inside a worker from gunicorn's access log, so waiting
for a worker shows apart from the work. The client is the standard library's
http.client, one connection a request.

Imported by bench.scenarios once Django is set up; gunicorn imports this module too
(`server_app()`), so at the top it imports nothing of Django's."""

import html
import json
import os
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

# BENCH_MIXED_SECONDS and BENCH_MIXED_FACTS shorten a trial run; the figures use these.
SECONDS = int(os.environ.get("BENCH_MIXED_SECONDS", "45"))
WARMUP_SECONDS = 5
CLIENTS = 10
BAR_MS = 1000
# A twelve-month year of facts on PostgreSQL, as the api scenario; fewer on SQLite, whose
# bulk insert is slower (the figures still cover every month).
FACTS = {"postgresql": 1_000_000, "sqlite": 300_000}
ITEMS = 300
# The items the managers edit: few enough that two of them sometimes edit the same one.
EDITED = 30
REPORTS = [
    {"group_by": "invoice_month,service", "from": "2025-12", "to": "2026-11"},
    {"group_by": "team,project", "from": "2026-06", "to": "2026-11"},
    {"group_by": "usage_month,sku", "basis": "usage", "from": "2026-01", "to": "2026-06"},
    {"group_by": "usage_day,service", "basis": "usage", "from": "2026-10-01", "to": "2026-10-31"},
    {"group_by": "invoice_month,team", "from": "2025-12", "to": "2026-11", "currency": "USD"},
]
FACT_PAGES = [
    {"invoice_month": "2026-10", "page_size": "1000"},
    {"project": "acme-project-07", "from": "2026-09", "to": "2026-11", "page_size": "500"},
]
KINDS = {
    "report": "GET cost-reports (5 groupings and periods)",
    "facts": "GET cost-facts pages (first page, then `next` twice)",
    "open": "GET the item edit form (Manager)",
    "save": "POST the item edit form (Manager)",
    "after": "GET the item page a save redirects to",
}
PLAIN_STATIC = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def server_app():
    """What gunicorn serves: config.wsgi's application with the static file storage the
    other scenarios use (the benchmark builds no collected static files)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    from django.conf import settings

    settings.STORAGES = PLAIN_STATIC
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


# --- The client ----------------------------------------------------------------------------


class Browser:
    """One client: its cookies, one connection a request (gunicorn's sync workers close
    each connection anyway), redirects not followed."""

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port = port
        self.headers = headers or {}
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: list[tuple[str, str]] | None = None,
                extra: dict[str, str] | None = None):  # fmt: skip
        headers = {**self.headers, **(extra or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, data


FORM = re.compile(r'<form method="post" class="item-form".*?</form>', re.S)
TAG = re.compile(r"<(input|select|/select|option|textarea)\b([^>]*)>", re.S)
ATTR = re.compile(r'([\w:-]+)(?:="([^"]*)")?')
TEXTAREA_END = re.compile(r"</textarea>")


def form_fields(page: str) -> list[tuple[str, str]]:
    """The fields the item form would submit as the browser shows it (Django's own
    markup: inputs, checked boxes, selected options, text areas)."""
    found = FORM.search(page)
    assert found, "no item form on the page"
    form = found[0]
    fields: list[tuple[str, str]] = []
    select: str | None = None
    position = 0
    while tag := TAG.search(form, position):
        position = tag.end()
        kind = tag[1]
        attrs = {name: html.unescape(value or "") for name, value in ATTR.findall(tag[2])}
        if kind == "input":
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                continue
            if attrs.get("type") in ("submit", "button") or "name" not in attrs:
                continue
            fields.append((attrs["name"], attrs.get("value", "")))
        elif kind == "select":
            select = attrs.get("name")
        elif kind == "/select":
            select = None
        elif kind == "option" and select and "selected" in attrs:
            fields.append((select, attrs.get("value", "")))
        elif kind == "textarea":
            end = TEXTAREA_END.search(form, position)
            assert end
            text = html.unescape(form[position : end.start()])
            # Django writes a line break after the opening tag, which browsers drop.
            fields.append((attrs["name"], text.removeprefix("\r\n").removeprefix("\n")))
            position = end.end()
    return fields


class Tally:
    """Latencies and outcomes per request kind, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.recording = False
        self.saved = 0  # every save, timed or not: the versions it bumped are checked
        self.client_cpu = self.load = 0.0

    def timed(self, kind: str, browser: Browser, method: str, path: str,
              form: list[tuple[str, str]] | None = None, ok: tuple[int, ...] = (200,)):  # fmt: skip
        recording = self.recording
        # Named in gunicorn's access log, which gives the time the worker took.
        extra = {"X-Bench-Kind": kind if recording else "warm-up"}
        started = time.perf_counter()
        try:
            status, headers, body = browser.request(method, path, form, extra)
        except Exception as error:  # a refused or dropped connection, a timeout
            status, headers, body = type(error).__name__, {}, b""
        elapsed = (time.perf_counter() - started) * 1000
        if status in ok:
            outcome = "ok"
        elif status == 409 and kind == "save":
            outcome = "conflict"
        else:
            outcome = f"error {status}"
        if kind == "save" and outcome == "ok":
            with self.lock:
                self.saved += 1
        if recording:
            with self.lock:
                self.latencies[kind].append(elapsed)
                self.outcomes[kind][outcome] += 1
        return outcome, headers, body


def api_client(port: int, key: str, tally: Tally, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    browser = Browser(port, {"Authorization": f"Token {key}", "Accept": "application/json"})
    while not stop.is_set():
        if rng.random() < 2 / 3:
            path = "/api/v1/cost-reports/?" + urlencode(rng.choice(REPORTS))
            tally.timed("report", browser, "GET", path)
            continue
        path = "/api/v1/cost-facts/?" + urlencode(rng.choice(FACT_PAGES))
        for _page in range(3):
            outcome, _headers, body = tally.timed("facts", browser, "GET", path)
            if outcome != "ok" or stop.is_set():
                break
            following = json.loads(body)["next"]
            if not following:
                break
            split = urlsplit(following)
            path = f"{split.path}?{split.query}"


def manager_client(
    port: int, session: str, items: list[int], tally: Tally, stop: threading.Event, seed: int
) -> None:
    rng = random.Random(seed)
    browser = Browser(port)
    browser.cookies["sessionid"] = session
    while not stop.is_set():
        path = f"/roadmap/items/{rng.choice(items)}/edit/"
        outcome, _headers, body = tally.timed("open", browser, "GET", path)
        if outcome != "ok":
            continue
        fields = [(name, value) for name, value in form_fields(body.decode())
                  if name != "hours_saved_per_month"]  # fmt: skip
        fields.append(("hours_saved_per_month", str(rng.randrange(0, 200))))
        for _attempt in range(3):  # a refused save comes back merged: save it again
            outcome, headers, body = tally.timed("save", browser, "POST", path, fields, ok=(302,))
            if outcome == "ok":
                location = urlsplit(headers["Location"]).path
                tally.timed("after", browser, "GET", location)
            if outcome != "conflict":
                break
            fields = form_fields(body.decode())


# --- The scenario --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    from django.db import connection

    database = connection.settings_dict
    if connection.vendor == "postgresql":
        return (f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                f"{database['NAME']}")  # fmt: skip
    return f"sqlite:///{database['NAME']}"  # the test database is a file (config.settings)


def _wait_for(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode})")
        try:
            Browser(port).request("GET", "/accounts/login/")
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not answer")


def drive(
    database_url: str,
    key: str,
    sessions: list[str],
    items: list[int],
    app: str = "bench.mixed:server_app()",
) -> tuple[Tally, dict[str, list[float]]]:
    """gunicorn on a free port against `database_url`, the client threads for
    WARMUP_SECONDS + SECONDS, gunicorn stopped: what the clients measured, and the
    milliseconds the workers took per kind (from the access log)."""
    port = _free_port()
    folder = tempfile.TemporaryDirectory()
    access_log = Path(folder.name) / "access.log"
    server = subprocess.Popen(  # noqa: S603 - our own server command
        [sys.executable, "-m", "gunicorn", app, "--bind",
         f"127.0.0.1:{port}", "--workers", "3", "--forwarded-allow-ips", "*",
         "--limit-request-line", "8190", "--log-level", "warning",
         # The kind the client named and the microseconds the worker took.
         "--access-logfile", str(access_log),
         "--access-logformat", "%({x-bench-kind}i)s %(s)s %(D)s"],
        env={**os.environ, "DATABASE_URL": database_url, "ALLOWED_HOSTS": "127.0.0.1",
             "HTTPS": "off", "QUARTERDECK_API_RATE": "100000/min"},
        stdout=subprocess.DEVNULL,  # our stdout is the scenario's JSON
    )  # fmt: skip
    tally = Tally()
    try:
        _wait_for(port, server)
        stop = threading.Event()
        threads = [
            threading.Thread(target=api_client, args=(port, key, tally, stop, n))
            for n in range(CLIENTS)
        ] + [
            threading.Thread(target=manager_client,
                             args=(port, sessions[n], items, tally, stop, 100 + n))
            for n in range(CLIENTS)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        time.sleep(WARMUP_SECONDS)  # every worker warm, every report computed once
        before = resource.getrusage(resource.RUSAGE_SELF)
        tally.recording = True
        time.sleep(SECONDS)
        tally.recording = False
        after = resource.getrusage(resource.RUSAGE_SELF)
        # The clients share the machine with the server: how much of it they took.
        tally.client_cpu = (after.ru_utime + after.ru_stime
                            - before.ru_utime - before.ru_stime) / SECONDS  # fmt: skip
        tally.load = os.getloadavg()[0]
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)

    worker_ms: dict[str, list[float]] = defaultdict(list)
    for line in access_log.read_text().splitlines():
        kind, _status, microseconds = line.split()
        worker_ms[kind].append(int(microseconds) / 1000)
    folder.cleanup()
    return tally, worker_ms


def mixed_load(database: str) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client

    from bench.scenarios import result, seed_daily_facts, seed_roadmap
    from core.models import ApiToken
    from roadmap.models import RoadmapItem

    started = time.perf_counter()
    seed_roadmap(ITEMS)
    facts = seed_daily_facts(int(os.environ.get("BENCH_MIXED_FACTS", FACTS[connection.vendor])))
    if connection.vendor == "postgresql":
        # What autovacuum does to a live database soon after an import. Without it the
        # planner guesses a few hundred facts a month, and the first reads of each fresh
        # row write its hint bits: a just-loaded database, slower than any live one.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"mixed: seeded {ITEMS} items and {facts:,} facts in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
    User = get_user_model()
    finance = User.objects.create(username="bench-finance")
    finance.groups.add(Group.objects.get_or_create(name="Finance")[0])
    _token, key = ApiToken.issue(user=finance, name="bench")
    manager = User.objects.create(username="bench-manager")
    manager.groups.add(Group.objects.get_or_create(name="Manager")[0])
    sessions = []
    for _ in range(CLIENTS):  # a session each, as ten browsers would have
        client = Client()
        client.force_login(manager)
        sessions.append(client.cookies["sessionid"].value)
    items = list(RoadmapItem.objects.order_by("pk").values_list("pk", flat=True)[:EDITED])
    versions_before = sum(RoadmapItem.objects.values_list("version", flat=True))
    connection.close()  # gunicorn's workers use the database from here on

    tally, worker_ms = drive(_database_url(), key, sessions, items)
    bumped = sum(RoadmapItem.objects.values_list("version", flat=True)) - versions_before
    busy = sum(sum(worker_ms[kind]) for kind in KINDS)
    rows = []
    for kind, name in KINDS.items():
        latencies = tally.latencies[kind]
        if not latencies:
            continue
        outcomes = tally.outcomes[kind]
        errors = sum(count for outcome, count in outcomes.items() if outcome.startswith("error"))
        row = result(database, f"mixed: {name}", latencies, None if kind == "after" else BAR_MS)
        row["bar_on"] = "p95"
        in_worker = sorted(worker_ms[kind])
        parts = [f"{len(latencies)} requests ({len(latencies) / SECONDS:.1f}/s)",
                 f"{errors} errors"]  # fmt: skip
        if in_worker:
            parts.append(f"in the worker: median {statistics.median(in_worker):.0f} ms, "
                         f"p95 {in_worker[round(len(in_worker) * 0.95) - 1]:.0f} ms, "
                         f"{sum(in_worker) / busy:.0%} of the workers' time")  # fmt: skip
        parts += [f"{outcome}: {count}" for outcome, count in sorted(outcomes.items())
                  if outcome.startswith("error")]  # fmt: skip
        if kind == "save":
            parts.append(f"{outcomes['conflict']} refused as conflicts (409)")
        row["note"] = ", ".join(parts)
        row["errors"] = errors
        row["outcomes"] = dict(outcomes)
        rows.append(row)
    rows[0]["note"] += (f"; {CLIENTS} API + {CLIENTS} Manager threads for {SECONDS} s, "
                        f"workers busy {busy / 1000 / SECONDS:.1f} of 3 on average, "
                        f"{facts:,} facts, gunicorn 3 workers; the clients took "
                        f"{tally.client_cpu:.0%} of a core, load average {tally.load:.1f} "
                        f"on {os.cpu_count()} cores")  # fmt: skip
    # Each save that said so bumped one version, and no other did: no update was lost.
    assert bumped == tally.saved, f"{tally.saved} saves, {bumped} versions bumped"
    return rows
