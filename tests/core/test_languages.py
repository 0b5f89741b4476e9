"""The language switch in the header: the browser's language first, then the person's
choice, kept in the language cookie and, for a signed-in person, with their account."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from core.models import LanguagePreference
from core.roles import Role
from tests.roadmap.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-demo-password"
COOKIE = settings.LANGUAGE_COOKIE_NAME


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def person(username: str, role: str | None = Role.MANAGER):
    user = UserFactory(username=username, role=role)
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client: Client, username: str):
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def page_language(client: Client, url: str, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('<html lang="') + len('<html lang="')
    return html[start : html.index('"', start)]


def test_a_first_visit_reads_in_the_browsers_language():
    client = Client()
    assert page_language(client, reverse("login"), HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5") == "ja"
    assert page_language(client, reverse("login"), HTTP_ACCEPT_LANGUAGE="en-GB,en") == "en"
    # A language Quarterdeck has not: the default.
    assert page_language(client, reverse("login"), HTTP_ACCEPT_LANGUAGE="fr-FR") == "en"


def test_an_anonymous_visitor_switches_on_the_sign_in_page_and_the_browser_keeps_it():
    client = Client()
    response = client.post(reverse("language"), {"language": "ja", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert response.cookies[COOKIE].value == "ja"
    # Chosen beats the browser's Accept-Language from now on.
    assert page_language(client, reverse("login"), HTTP_ACCEPT_LANGUAGE="en") == "ja"
    assert LanguagePreference.objects.count() == 0


def test_the_sign_in_page_has_the_switch_with_each_language_named_in_itself():
    html = Client().get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert f'action="{reverse("language")}"' in html
    assert 'name="language" value="en" lang="en" aria-pressed="false">English</button>' in html
    assert 'name="language" value="ja" lang="ja" aria-pressed="true">日本語</button>' in html
    assert 'name="next" value="/accounts/login/"' in html


def test_every_page_header_has_the_switch_pointing_back_to_the_page(client):
    client.force_login(UserFactory(username="mika", role=Role.MANAGER))
    html = client.get(reverse("roadmap:item-list") + "?sort=rank").content.decode()
    assert f'<form class="languages" method="post" action="{reverse("language")}"' in html
    assert 'name="next" value="/roadmap/items/?sort=rank"' in html


def test_the_chosen_language_sticks_across_sign_out_and_sign_in_on_another_browser():
    person("mika")
    laptop = Client()
    sign_in(laptop, "mika")
    laptop.post(reverse("language"), {"language": "ja", "next": "/"})
    assert LanguagePreference.objects.get(user__username="mika").language == "ja"
    assert page_language(laptop, reverse("home"), HTTP_ACCEPT_LANGUAGE="en") == "ja"
    laptop.post(reverse("logout"))

    # A new browser that asks for English: signing in brings the choice back.
    phone = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert page_language(phone, reverse("login")) == "en"
    response = sign_in(phone, "mika")
    assert response.cookies[COOKIE].value == "ja"
    assert page_language(phone, reverse("home")) == "ja"
    # Signed out, the browser stays in the language it was last in.
    phone.post(reverse("logout"))
    assert page_language(phone, reverse("login")) == "ja"

    # Back to English, and the next sign-in anywhere is in English.
    sign_in(phone, "mika")
    phone.post(reverse("language"), {"language": "en", "next": "/"})
    assert LanguagePreference.objects.get(user__username="mika").language == "en"
    desk = Client(HTTP_ACCEPT_LANGUAGE="ja")
    sign_in(desk, "mika")
    assert page_language(desk, reverse("home")) == "en"


def test_the_next_person_on_a_shared_browser_gets_their_own_language():
    LanguagePreference.objects.create(user=person("mika"), language="ja")
    LanguagePreference.objects.create(user=person("ren"), language="en")
    shared = Client()
    sign_in(shared, "mika")
    assert page_language(shared, reverse("home")) == "ja"
    shared.post(reverse("logout"))
    sign_in(shared, "ren")
    assert page_language(shared, reverse("home")) == "en"


def test_a_person_who_never_chose_keeps_following_their_browser():
    person("mika")
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    response = sign_in(client, "mika")
    assert COOKIE not in response.cookies
    assert page_language(client, reverse("home")) == "ja"
    assert LanguagePreference.objects.count() == 0


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        "",
    ],
)
def test_the_switch_never_sends_anyone_to_another_site(target):
    response = Client().post(reverse("language"), {"language": "ja", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[COOKIE].value == "ja"


def test_an_unknown_language_is_refused_and_nothing_is_kept():
    client = Client()
    client.force_login(UserFactory(username="mika", role=Role.MANAGER))
    response = client.post(reverse("language"), {"language": "fr", "next": "/"})
    assert response.status_code == 400
    assert response.content.decode() == "Unknown language “fr”: choose one of en, ja."
    assert COOKIE not in response.cookies
    assert LanguagePreference.objects.count() == 0


def test_the_switch_only_takes_a_post_with_the_csrf_token():
    assert Client().get(reverse("language"), {"language": "ja"}).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("language"), {"language": "ja", "next": "/"}).status_code == 403


@pytest.mark.parametrize("role", [Role.MANAGER, Role.REVIEWER, Role.FINANCE, None, "anonymous"])
def test_everyone_may_switch_their_own_language(role):
    client = Client()
    if role != "anonymous":
        user = UserFactory(username=f"user-{role or 'none'}", role=role)
        client.force_login(user)
    response = client.post(reverse("language"), {"language": "ja", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "ja"
    stored = list(LanguagePreference.objects.values_list("user__username", "language"))
    assert stored == ([] if role == "anonymous" else [(f"user-{role or 'none'}", "ja")])


def test_each_reviewer_is_emailed_in_their_own_language(django_capture_on_commit_callbacks):
    from django.core import mail

    from tests.roadmap.factories import ReviewSessionFactory, RoadmapItemFactory, opened, quarter

    hana = UserFactory(username="hana", email="hana@example.com", role=Role.REVIEWER)
    paul = UserFactory(username="paul", email="paul@example.com", role=Role.REVIEWER)
    LanguagePreference.objects.create(user=hana, language="ja")
    manager = UserFactory(username="boss", role=Role.MANAGER)
    LanguagePreference.objects.create(user=manager, language="ja")  # not the reader's
    RoadmapItemFactory()
    session = ReviewSessionFactory(reviewers=[hana, paul], quarter=quarter("2027-Q1"))
    with django_capture_on_commit_callbacks(execute=True):
        opened(session, by=manager)
    body = {message.to[0]: message.body for message in mail.outbox}
    assert "2027年 第1四半期" in body["hana@example.com"]
    assert "2026年12月10日" in body["hana@example.com"]
    assert "2027-Q1" in body["paul@example.com"]
    assert "10 Dec 2026" in body["paul@example.com"]


def test_the_header_names_the_roles_in_the_readers_language(client):
    client.force_login(
        UserFactory(username="mika", first_name="Mika", last_name="Sato", role=Role.REVIEWER)
    )
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<span>Mika Sato · Reviewer</span>" in html
    # The role's Japanese name comes from the catalogue: whatever it is, not the group name.
    from django.utils import translation

    with translation.override("ja"):
        japanese = str(Role.REVIEWER.label)
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert f"<span>Mika Sato · {japanese}</span>" in html
