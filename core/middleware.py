"""Responses meant for one person are kept by no cache but that person's browser's; the
language a person chose is put back into their browser when they sign in."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import has_vary_header, patch_cache_control

from core.languages import SIGN_IN_LANGUAGE, set_language_cookie

Handler = Callable[[HttpRequest], HttpResponseBase]


def private_cache_control(get_response: Handler) -> Handler:
    """`Cache-Control: private, no-store` on every response to a signed-in user or to a
    call with an API token, and on any response that varies on the cookies (session,
    CSRF token) or the Authorization header, unless the view set Cache-Control itself.

    Without it a proxy or CDN in front may store a cost report or a CSV export and hand it
    to the next caller. Sits below WhiteNoise, so static files keep their public caching,
    and above the session and CSRF middleware, so it sees the Vary they add.
    """

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        if not response.has_header("Cache-Control") and _is_personal(request, response):
            patch_cache_control(response, private=True, no_store=True)
        return response

    return middleware


def _is_personal(request: HttpRequest, response: HttpResponseBase) -> bool:
    # DRF puts the user of an API token on the request too.
    user = getattr(request, "user", None)
    return (
        (user is not None and user.is_authenticated)
        or "HTTP_AUTHORIZATION" in request.META
        or has_vary_header(response, "Cookie")
        or has_vary_header(response, "Authorization")
    )


def remembered_language(get_response: Handler) -> Handler:
    """Writes the language cookie on the answer to a sign-in when the person has a stored
    language (core.languages.restore_language_at_sign_in marks the request), so the next
    page, and every one after it in this browser, is in their language."""

    def middleware(request: HttpRequest) -> HttpResponseBase:
        response = get_response(request)
        language = getattr(request, SIGN_IN_LANGUAGE, None)
        if language:
            set_language_cookie(response, language)
        return response

    return middleware
