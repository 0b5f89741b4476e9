"""Settings come from the environment; a bad value stops the start with its name."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7#production-like-secret-key-with-enough-length-and-variety-0123456789",
    "ALLOWED_HOSTS": "quarterdeck.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://quarterdeck.example.com",
}


def run_django(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "HTTPS",
            "DATABASE_URL",
            "CSRF_TRUSTED_ORIGINS",
            "TIME_ZONE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is invalid"),
        ({"DEBUG": "0"}, "SECRET_KEY must be set"),
        ({**PRODUCTION, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set"),
        ({"DEBUG": "1", "TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE='Mars/Olympus' is invalid"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL='mysql://x@y/z'"),
        ({"DEBUG": "1", "DATABASE_URL": "not a url"}, "DATABASE_URL='not a url' is invalid"),
        ({"DEBUG": "1", "CSRF_TRUSTED_ORIGINS": "example.com"}, "CSRF_TRUSTED_ORIGINS="),
        ({"DEBUG": "1", "QUARTERDECK_HOUR_VALUE": "lots"}, "QUARTERDECK_HOUR_VALUE='lots'"),
        ({"DEBUG": "1", "REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' is invalid"),
        (
            {"DEBUG": "1", "QUARTERDECK_SIGNIN_FAILURE_LIMIT": "0"},
            "QUARTERDECK_SIGNIN_FAILURE_LIMIT='0' is invalid",
        ),
        (
            {"DEBUG": "1", "QUARTERDECK_DEFAULT_CURRENCY": "dollars"},
            "QUARTERDECK_DEFAULT_CURRENCY='DOLLARS'",
        ),
    ],
)
def test_a_bad_setting_fails_at_start_naming_the_variable(env, message):
    result = run_django(["check"], **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_pass_the_deployment_checklist():
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_debug_with_nothing_else_set_runs_on_sqlite_in_the_project_folder():
    result = run_django(
        [
            "shell",
            "-c",
            "from django.conf import settings; print(settings.DATABASES['default']['NAME'])",
        ],
        DEBUG="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(str(ROOT / "db.sqlite3"))


def image_command() -> list[str]:
    """The gunicorn command line of the production image (Dockerfile's CMD)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    command = dockerfile.split("\nCMD ", 1)[1].replace("\\\n", "")
    return json.loads(command.split("\n", 1)[0])


def test_the_images_gunicorn_admits_a_7_kb_request_line(tmp_path):
    # Issue 19: a 7 KB request line got gunicorn's 414 (its default limit is 4,094 bytes).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = image_command()
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = "1"
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    server = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        env={**clean, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        query = "project=" + ",".join(f"analytics-prod-{i:04d}" for i in range(350))
        assert 7000 < len(f"GET /api/v1/cost-reports/?{query} HTTP/1.1") < 8190
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", f"/api/v1/cost-reports/?{query}")
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        # It reaches the API, which asks for a token.
        assert connection.getresponse().status == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
