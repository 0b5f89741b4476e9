"""The language each person reads Quarterdeck in.

Django's LocaleMiddleware picks the language of a request from the language cookie, else
from the browser's Accept-Language, else LANGUAGE_CODE. The switch in the page header
posts to `ChooseLanguageView`, which sets that cookie and, for a signed-in person, keeps
the choice in their `LanguagePreference`. At sign-in (any sign-in: the password form,
the admin's, a single sign-on library's) the stored choice is put back into the cookie,
so it follows the person to a new browser and survives signing out and in again.
Nothing is read per request beyond the cookie: pages keep their query counts.
"""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from core.models import LanguagePreference

# Set on the request at sign-in; core.middleware.remembered_language writes the cookie.
SIGN_IN_LANGUAGE = "_quarterdeck_sign_in_language"


def language_codes() -> frozenset[str]:
    return frozenset(code for code, _name in settings.LANGUAGES)


def choose_language(*, user: User | AnonymousUser, language: str) -> None:
    """Keep a signed-in person's choice; an anonymous visitor's lives in the cookie only."""
    if language not in language_codes():
        raise ValueError(f"unknown language {language!r}")
    if user.is_authenticated:
        LanguagePreference.objects.update_or_create(user=user, defaults={"language": language})


def stored_language(user: User) -> str | None:
    preference = LanguagePreference.objects.filter(user=user).first()
    return preference.language if preference else None


def set_language_cookie(response: HttpResponseBase, language: str) -> None:
    """The cookie LocaleMiddleware reads, with the attributes Django's set_language gives it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def restore_language_at_sign_in(
    sender: type, request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """user_logged_in receiver: the person's stored language, if they chose one, becomes
    the browser's (a person who never chose keeps following their browser)."""
    language = stored_language(user)
    if request is None or language is None:
        return
    # Only marked: the answer to a sign-in is a redirect, and the page it leads to is
    # rendered in the language of the cookie written on the way (no activate() here, which
    # would also switch the test client's thread after force_login).
    setattr(request, SIGN_IN_LANGUAGE, language)


class ChooseLanguageView(View):
    """POST language=<code>, next=<path on this site>: the header's language switch.

    Who may use it: anyone, signed in or not (the sign-in page has the switch too); it
    changes only the caller's own language. CSRF-protected like every form. A `next`
    that leaves this site (another host, another scheme) is refused: the answer goes
    to the home page instead, so the switch can never be an open redirect.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        language = request.POST.get("language", "")
        if language not in language_codes():
            choices = ", ".join(sorted(language_codes()))
            return HttpResponseBadRequest(
                _("Unknown language “%(language)s”: choose one of %(choices)s.")
                % {"language": language, "choices": choices},
                content_type="text/plain; charset=utf-8",
            )
        choose_language(user=request.user, language=language)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = reverse("home")
        response = HttpResponseRedirect(target)
        set_language_cookie(response, language)
        return response


def languages_of(users: Iterable[User]) -> dict[int, str]:
    """The language to write to each person in (e-mails): the one they chose, else the
    site's default (LANGUAGE_CODE), never the language of whoever caused the e-mail."""
    users = list(users)
    chosen = dict(
        LanguagePreference.objects.filter(user__in=[user.pk for user in users]).values_list(
            "user_id", "language"
        )
    )
    return {user.pk: chosen.get(user.pk, settings.LANGUAGE_CODE) for user in users}
