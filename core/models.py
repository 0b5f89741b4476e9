"""What every part of Quarterdeck shares: the teams people belong to (which deliver and
request roadmap work, and which BigQuery cost and usage are attributed to), the names
people went by over time, the API tokens scripts call the API with, and the count of
their calls that the API rate limits.

Teams keep their history and people their names' history, so a review pack rebuilt for
an earlier moment names them as they were named then (core.history).

Both tables keep the names they were created with (`roadmap_team`, `cost_apitoken`):
they moved here from the apps that created them without being rebuilt.
"""

import datetime
import hashlib
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.validators import MinValueValidator
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.money import CURRENCY_CODE, Money, currency_validator, default_currency


class Team(models.Model):
    """A team that delivers roadmap work, requests it, or both."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    slug = models.SlugField(
        _("slug"),
        max_length=40,
        unique=True,
        help_text=_("Short name, as used in the `team` label of BigQuery jobs and billing."),
    )
    weekly_rate = models.DecimalField(
        _("loaded weekly rate"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Fully loaded cost of one person-week; used for people cost."),
    )
    currency = models.CharField(
        _("currency"), max_length=3, default=default_currency, validators=[currency_validator]
    )

    history = HistoricalRecords()  # packs name teams as they were named at their moment

    class Meta:
        ordering = ["name"]
        db_table = "roadmap_team"
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [
            models.CheckConstraint(
                condition=Q(weekly_rate__isnull=True) | Q(weekly_rate__gte=0),
                name="team_weekly_rate_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_CODE), name="team_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weekly_rate_money(self) -> Money | None:
        return None if self.weekly_rate is None else Money(self.weekly_rate, self.currency)


class DisplayName(models.Model):
    """The name a person was shown by (full name, else user name) from `valid_from` on.
    Written when a user is created and whenever the name changes (core.history)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="display_names",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=301)  # first (150), space, last (150)
    valid_from = models.DateTimeField(_("shown from"))

    class Meta:
        ordering = ["user", "valid_from", "id"]
        verbose_name = _("display name")
        verbose_name_plural = _("display names")
        indexes = [models.Index(fields=["user", "valid_from"], name="display_name_user_from")]

    def __str__(self) -> str:
        return f"{self.name} (from {self.valid_from:%Y-%m-%d %H:%M})"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A key for scripts calling the API (`Authorization: Token <key>`).

    Only a SHA-256 of the key is stored: the key is shown once, when it is made, and a
    leaked database does not leak working keys. Revoking takes effect on the next call.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(
        _("name"), max_length=100, help_text=_("Where it is used, e.g. 'finance notebook'.")
    )
    prefix = models.CharField(_("key starts with"), max_length=8, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        db_table = "cost_apitoken"
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user: User, name: str, by: User | None = None) -> tuple["ApiToken", str]:
        """A new token and its key; the key is not stored and cannot be shown again."""
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, prefix=key[:8], key_hash=cls.hash_key(key), created_by=by
        )
        return token, key

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.user.is_active

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


IDENT_MAX_LENGTH = 200


class ApiCallCount(models.Model):
    """The calls one token (or signed-in user) made in one window of QUARTERDECK_API_RATE.

    In the database so that every gunicorn worker counts into the same row: a count kept
    in each worker's memory lets a token make the rate once per worker.
    """

    ident = models.CharField(_("caller"), max_length=IDENT_MAX_LENGTH)
    window_start = models.DateTimeField(_("window start"))
    window_end = models.DateTimeField(_("window end"))
    calls = models.PositiveIntegerField(_("calls"), default=0)

    class Meta:
        verbose_name = _("API call count")
        verbose_name_plural = _("API call counts")
        constraints = [
            models.UniqueConstraint(
                fields=["ident", "window_start", "window_end"],
                name="apicallcount_one_row_per_caller_and_window",
            ),
        ]
        # Finds the windows that are over, to delete them.
        indexes = [models.Index(fields=["window_end"], name="apicallcount_window_end")]

    def __str__(self) -> str:
        return f"{self.ident}: {self.calls} calls from {self.window_start:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def add_call(
        cls, *, ident: str, window_start: datetime.datetime, window_end: datetime.datetime
    ) -> int:
        """Count one more call of `ident` in this window; the calls so far, this one included.

        One INSERT ... ON CONFLICT DO UPDATE ... RETURNING statement (PostgreSQL, and SQLite
        since 3.35): the database adds 1 to the stored count under its row lock, so two
        workers counting at once never both read the same count (as a get, then a set,
        would). The ORM has no increment-or-insert that returns the new value, hence SQL.
        """
        if len(ident) > IDENT_MAX_LENGTH:
            ident = "sha256:" + hashlib.sha256(ident.encode()).hexdigest()
        table = connection.ops.quote_name(cls._meta.db_table)
        sql = (
            f"INSERT INTO {table} (ident, window_start, window_end, calls) "  # noqa: S608
            "VALUES (%s, %s, %s, 1) "
            "ON CONFLICT (ident, window_start, window_end) "
            f"DO UPDATE SET calls = {table}.calls + 1 "
            "RETURNING calls"
        )
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.execute(sql, [ident, adapt(window_start), adapt(window_end)])
            (calls,) = cursor.fetchone()
        if calls == 1:
            # The first call of a new window: the windows that ended by now go. Indexed,
            # at most once per caller and window, so the table holds about one row per
            # caller active in the current window.
            cls.objects.filter(window_end__lte=window_start).delete()
        return int(calls)


class LanguagePreference(models.Model):
    """The language a person chose in the page header, kept with their account so it
    follows them to every browser they sign in on (core.languages)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="language_preference",
        verbose_name=_("user"),
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    chosen_at = models.DateTimeField(_("chosen"), auto_now=True)

    class Meta:
        verbose_name = _("language preference")
        verbose_name_plural = _("language preferences")
        constraints = [
            models.CheckConstraint(
                condition=Q(language__in=[code for code, _name in settings.LANGUAGES]),
                name="language_preference_known_language",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.language}"
