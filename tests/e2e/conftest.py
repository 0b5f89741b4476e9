"""Browser tests: Playwright drives Debian's chromium (installed by
scripts/system-packages.sh, which `make test` runs) against pytest-django's live server."""

import os
import shutil

import pytest

# Playwright's sync API keeps an event loop running in the test thread; Django would
# otherwise refuse database calls made from the test body.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, chromium hangs on a closed network trying to reach Google's services.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            "chromium is not installed: run `make test` (it installs it) or "
            "scripts/system-packages.sh"
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture(autouse=True)
def _fail_fast(page) -> None:
    page.set_default_timeout(15_000)
