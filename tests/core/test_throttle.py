"""The API rate is counted once for all workers: two processes share one token's rate."""

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiCallCount, ApiToken
from core.roles import Role
from core.tokens import TokenRateThrottle
from tests.roadmap.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]

# What one gunicorn worker does, in a process of its own: say it is ready, wait for the
# word, call the API CALLS times with the token, print how many calls got 200 and 429.
# The clock stands still (at FROZEN_NOW) so the window cannot roll over mid-test.
WORKER = """
import os, sys
from django.urls import reverse
from rest_framework.test import APIClient
from core.tokens import TokenRateThrottle

TokenRateThrottle.timer = staticmethod(lambda: float(os.environ["FROZEN_NOW"]))
client = APIClient()
client.credentials(HTTP_AUTHORIZATION="Token " + os.environ["TOKEN_KEY"])
url = reverse("api-root")
print("ready", flush=True)
sys.stdin.readline()
statuses = [client.get(url).status_code for _ in range(int(os.environ["CALLS"]))]
print(statuses.count(200), statuses.count(429), len(statuses), flush=True)
"""

RATE = 150
CALLS_PER_WORKER = 150


def database_url() -> str:
    """The test database, for processes that are not this one."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}{password}@{host}/{db['NAME']}"


def run_two_workers(key: str, *, frozen_now: float, redis_url: str = "") -> list[tuple[int, ...]]:
    env = {name: value for name, value in os.environ.items() if name != "REDIS_URL"}
    env |= {
        "DATABASE_URL": database_url(),
        "QUARTERDECK_API_RATE": f"{RATE}/hour",
        "TOKEN_KEY": key,
        "FROZEN_NOW": str(frozen_now),
        "CALLS": str(CALLS_PER_WORKER),
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", WORKER],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            ready = worker.stdout.readline()
            assert ready == "ready\n", worker.communicate(timeout=30)[1]
        # Both are started and set up: let them go at the same moment.
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            results.append(tuple(int(number) for number in out.split()))
        return results
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


def finance_key() -> str:
    _token, key = ApiToken.issue(user=UserFactory(username="fiona", role=Role.FINANCE), name="nb")
    return key


def frozen_time() -> float:
    # Half-way through an hour picked at random, so that no run counts into the window
    # of an earlier one (Redis keeps its counts for two hours).
    return random.randrange(400_000, 500_000) * 3600 + 1800.5


@pytest.mark.django_db(transaction=True)
def test_two_workers_calling_at_once_get_exactly_the_rate_between_them():
    key = finance_key()
    results = run_two_workers(key, frozen_now=frozen_time())
    allowed = sum(result[0] for result in results)
    refused = sum(result[1] for result in results)
    # Every call is either allowed or refused, and exactly RATE of the 300 are allowed:
    # each worker counting on its own would allow 150 each.
    assert [result[2] for result in results] == [CALLS_PER_WORKER, CALLS_PER_WORKER]
    assert (allowed, refused) == (RATE, 2 * CALLS_PER_WORKER - RATE), results
    assert list(ApiCallCount.objects.values_list("calls", flat=True)) == [2 * CALLS_PER_WORKER]


@pytest.fixture
def redis_url(tmp_path):
    """A Redis server of the test's own on a free port of 127.0.0.1, keeping nothing on
    disk (scripts/system-packages.sh installs redis-server), stopped afterwards."""
    import socket
    import time

    import redis

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    executable = shutil.which("redis-server")
    assert executable, "redis-server is missing: make test installs it (scripts/system-packages.sh)"
    server = subprocess.Popen(
        [executable, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        for _attempt in range(100):
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"redis-server did not answer on port {port}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_with_redis_the_two_workers_count_in_redis_and_get_exactly_the_rate(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    key = finance_key()
    now = frozen_time()
    results = run_two_workers(key, frozen_now=now, redis_url=redis_url)
    assert sum(result[0] for result in results) == RATE, results
    assert sum(result[1] for result in results) == 2 * CALLS_PER_WORKER - RATE
    # Counted in Redis, not in the database; the count expires on its own.
    assert not ApiCallCount.objects.exists()
    token = ApiToken.objects.get()
    start = int(now // 3600) * 3600
    (window_key,) = client.keys(f"quarterdeck:*:throttle_api_token-{token.pk}:{start}")
    assert int(client.get(window_key)) == 2 * CALLS_PER_WORKER
    assert 3600 < client.ttl(window_key) <= 7200
    client.delete(window_key)


@pytest.mark.django_db
def test_past_the_rate_a_call_gets_429_with_the_seconds_until_the_next_window(monkeypatch):
    key = finance_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    minute = 1_800_000_000 // 60 * 60
    monkeypatch.setattr(TokenRateThrottle, "timer", staticmethod(lambda: minute + 45.5))
    with override_settings(QUARTERDECK_API_RATE="2/min"):
        statuses = [client.get(reverse("api-root")).status_code for _ in range(3)]
        refused = client.get(reverse("api-root"))
        assert statuses == [200, 200, 429]
        assert refused.status_code == 429
        assert refused["Retry-After"] == "15"
        assert "15 seconds" in refused.json()["detail"]
        assert ApiCallCount.objects.get().calls == 4

        # The next minute counts from zero, and the minute that is over is deleted.
        monkeypatch.setattr(TokenRateThrottle, "timer", staticmethod(lambda: minute + 60.0))
        assert client.get(reverse("api-root")).status_code == 200
        (row,) = ApiCallCount.objects.all()
        assert (row.calls, row.window_start.timestamp()) == (1, minute + 60)


@pytest.mark.django_db
def test_windows_of_callers_gone_quiet_are_deleted_when_any_new_window_starts(monkeypatch):
    client = APIClient()
    client.force_authenticate(UserFactory(username="mika", role=Role.MANAGER))
    hour = 1_800_000_000 // 3600 * 3600
    with override_settings(QUARTERDECK_API_RATE="100/min"):
        monkeypatch.setattr(TokenRateThrottle, "timer", staticmethod(lambda: hour + 1.0))
        token_client = APIClient()
        token_client.credentials(HTTP_AUTHORIZATION=f"Token {finance_key()}")
        assert token_client.get(reverse("api-root")).status_code == 200
        assert client.get(reverse("api-root")).status_code == 200
        assert ApiCallCount.objects.count() == 2
        # An hour later only the manager calls: the token's old window goes too.
        monkeypatch.setattr(TokenRateThrottle, "timer", staticmethod(lambda: hour + 3601.0))
        assert client.get(reverse("api-root")).status_code == 200
        assert [str(row.window_start.timestamp()) for row in ApiCallCount.objects.all()] == [
            str(float(hour + 3600))
        ]
