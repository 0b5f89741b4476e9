"""Sign-in lockout: ten failed sign-ins lock the account and the address for 15 minutes."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from core.roles import Role
from tests.roadmap.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-demo-password"
LOCKED = "Too many failed sign-ins for this account or address. Try again in 15 minutes"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # Each of the hundred sign-ins here checks a password: PBKDF2's cost is not under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def person(username: str, *, staff: bool = False):
    user = UserFactory(username=username, role=Role.MANAGER, is_staff=staff)
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client: Client, username: str, password: str, *, address: str = "10.0.0.5", **extra):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **extra,
    )


def fail(times: int, username: str, *, address: str = "10.0.0.5", **extra) -> list[int]:
    client = Client()
    return [
        sign_in(client, username, "wrong", address=address, **extra).status_code
        for _ in range(times)
    ]


def is_signed_in(client: Client) -> bool:
    return client.get(reverse("roadmap:board")).status_code == 200


def test_after_ten_wrong_passwords_the_right_one_is_refused_with_the_message():
    person("mika")
    assert fail(9, "mika") == [200] * 9
    client = Client()
    tenth = sign_in(client, "mika", "wrong")
    assert tenth.status_code == 429
    assert LOCKED in tenth.content.decode()

    right = sign_in(client, "mika", PASSWORD)
    assert right.status_code == 429
    page = right.content.decode()
    assert LOCKED in page
    assert "or ask an administrator to unlock it." in page
    assert "didn't match" not in page
    assert 'name="password"' in page  # the sign-in form is still there
    assert not is_signed_in(client)


def test_the_account_is_locked_from_every_address_and_the_address_for_every_account():
    person("mika")
    person("oscar")
    fail(10, "mika", address="10.0.0.5")

    # The same account from elsewhere.
    elsewhere = Client()
    assert sign_in(elsewhere, "mika", PASSWORD, address="10.9.9.9").status_code == 429
    assert not is_signed_in(elsewhere)
    # Another account from the same address.
    same_address = Client()
    refused = sign_in(same_address, "oscar", PASSWORD, address="10.0.0.5")
    assert refused.status_code == 429
    assert LOCKED in refused.content.decode()
    assert not is_signed_in(same_address)
    # Another account from another address is not touched.
    other = Client()
    assert sign_in(other, "oscar", PASSWORD, address="10.9.9.9").status_code == 302
    assert is_signed_in(other)


def test_guessing_many_accounts_from_one_address_locks_the_address():
    person("mika")
    for name in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]:
        fail(1, name)
    client = Client()
    assert sign_in(client, "mika", PASSWORD).status_code == 429
    assert not is_signed_in(client)


def test_the_lockout_ends_15_minutes_after_the_last_failure():
    person("mika")
    fail(10, "mika")

    def last_failure_minutes_ago(minutes: int) -> None:
        AccessAttempt.objects.update(
            attempt_time=timezone.now() - datetime.timedelta(minutes=minutes)
        )

    last_failure_minutes_ago(14)
    client = Client()
    assert sign_in(client, "mika", PASSWORD).status_code == 429
    # Refused attempts do not restart the wait: a minute later the lockout is over.
    last_failure_minutes_ago(16)
    assert sign_in(client, "mika", PASSWORD).status_code == 302
    assert is_signed_in(client)


def test_the_admin_sign_in_counts_and_honours_the_same_lockout():
    person("root", staff=True)
    admin_login = reverse("admin:login")
    client = Client()
    statuses = [
        client.post(
            admin_login, {"username": "root", "password": "wrong"}, REMOTE_ADDR="10.0.0.7"
        ).status_code
        for _ in range(10)
    ]
    assert statuses == [200] * 9 + [429]
    refused = client.post(
        admin_login,
        {"username": "root", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="10.0.0.8",
    )
    assert refused.status_code == 429
    assert LOCKED in refused.content.decode()
    assert 'value="/admin/"' in refused.content.decode()
    # The site's sign-in is locked for that account too.
    assert sign_in(client, "root", PASSWORD, address="10.0.0.9").status_code == 429
    assert client.get("/admin/").status_code == 302


@override_settings(QUARTERDECK_PROXIES=1)
def test_behind_one_proxy_the_address_is_the_last_one_in_x_forwarded_for():
    person("mika")
    person("oscar")
    # Every request comes from the proxy; what the client writes in the header is kept
    # to the left of the address the proxy adds, and does not move the client elsewhere.
    for spoofed in range(10):
        fail(1, f"guess-{spoofed}", address="172.18.0.2",
             HTTP_X_FORWARDED_FOR=f"192.0.2.{spoofed}, 203.0.113.9")  # fmt: skip
    locked = Client()
    locked_response = sign_in(
        locked, "oscar", PASSWORD, address="172.18.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert locked_response.status_code == 429
    other = Client()
    other_response = sign_in(
        other, "mika", PASSWORD, address="172.18.0.2", HTTP_X_FORWARDED_FOR="198.51.100.4"
    )
    assert other_response.status_code == 302
