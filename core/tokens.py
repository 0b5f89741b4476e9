"""API tokens: authentication by `Authorization: Token <key>`, and throttling per token.

The throttle counts calls where every gunicorn worker sees them: in the database
(`ApiCallCount`), or in Redis when REDIS_URL is set. DRF's own SimpleRateThrottle keeps a
list of call times in the default cache, which is each worker's memory, and reads then
rewrites it, so that workers (or two calls at once) lose each other's calls.
"""

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import caches
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, throttling
from rest_framework.request import Request

from core.models import ApiCallCount, ApiToken

if TYPE_CHECKING:
    # Imported for the annotation only: DRF imports this module while loading its views.
    from rest_framework.views import APIView

# Recording every call would write a row per request; a minute's precision is enough to
# tell a token in use from a forgotten one.
LAST_USED_PRECISION = datetime.timedelta(minutes=1)


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Give the token as 'Authorization: Token <key>', with one space.")
            )
        try:
            key = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        token = (
            ApiToken.objects.active()
            .select_related("user")
            .filter(key_hash=ApiToken.hash_key(key))
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is not valid, or was revoked."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
            ).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes unauthenticated calls 401 with WWW-Authenticate, rather than 403.
        return self.keyword


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """Calls per token (per user for the browsable API), rate QUARTERDECK_API_RATE.

    A fixed window: at most N calls in each period (minute, hour...) counted from the
    Unix epoch, so every worker agrees on when a window starts. Past N, 429 with
    Retry-After: the seconds until the next window. (A client may make N calls at the
    end of one window and N more at the start of the next; the limit is per window.)
    """

    scope = "api"
    # Set by SimpleRateThrottle.__init__ from the rate, which is always set.
    num_requests: int
    duration: int

    def get_rate(self) -> str:
        return settings.QUARTERDECK_API_RATE

    def get_cache_key(self, request: Request, view: "APIView") -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: "APIView") -> bool:
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        start = int(now // self.duration) * self.duration
        self.seconds_left = start + self.duration - now
        return count_call(key, start=start, duration=self.duration) <= self.num_requests

    def wait(self) -> float:
        return self.seconds_left


def count_call(key: str, *, start: int, duration: int) -> int:
    """Count one call of `key` in the window [start, start + duration) (Unix seconds);
    the calls counted in it so far, this one included. Atomic: two workers counting at
    once get two different numbers."""
    alias = settings.QUARTERDECK_API_RATE_CACHE
    if alias:
        store = caches[alias]
        window_key = f"{key}:{start}"
        # Kept a whole period after its window, so the key cannot expire while its window
        # is still counted (incr checks that the key exists, then increments it: an
        # expiry between the two would leave a count with no expiry).
        store.add(window_key, 0, timeout=2 * duration)
        return int(store.incr(window_key))
    return ApiCallCount.add_call(
        ident=key,
        window_start=datetime.datetime.fromtimestamp(start, tz=datetime.UTC),
        window_end=datetime.datetime.fromtimestamp(start + duration, tz=datetime.UTC),
    )
