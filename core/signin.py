"""Sign-in lockout: the answer to a locked-out sign-in, and the address a request is from.

django-axes counts failed sign-ins in the database, per account and per address, and
refuses a sign-in (before checking its password) once either has failed
AXES_FAILURE_LIMIT times within AXES_COOLOFF_TIME. It calls these two functions
(settings AXES_LOCKOUT_CALLABLE, AXES_CLIENT_IP_CALLABLE); they import nothing of axes.
"""

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext


def lockout_message() -> str:
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return ngettext(
        "Too many failed sign-ins for this account or address. Try again in %(minutes)d "
        "minute, or ask an administrator to unlock it.",
        "Too many failed sign-ins for this account or address. Try again in %(minutes)d "
        "minutes, or ask an administrator to unlock it.",
        minutes,
    ) % {"minutes": minutes}


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, object] | None = None,
) -> HttpResponse:
    """The sign-in page again, empty, saying why the sign-in was refused (429), for the
    site's sign-in and the admin's alike."""
    form = AuthenticationForm(request)
    next_url = request.POST.get("next") or request.GET.get("next", "")
    context = {"form": form, "next": next_url, "locked_out": lockout_message()}
    return render(request, "registration/login.html", context, status=429)


def client_address(request: HttpRequest) -> str | None:
    """The address the request comes from, counted for the lockout per address.

    The peer's address, unless QUARTERDECK_PROXIES proxies stand in front of the app: each
    adds the address it was called from to the end of X-Forwarded-For, so the client is
    that many entries from the end. Entries further left are whatever the client sent.
    """
    proxies = settings.QUARTERDECK_PROXIES
    if proxies:
        forwarded = [
            address.strip()
            for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if address.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
