import secrets

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from simple_history.admin import SimpleHistoryAdmin

from core.models import ApiToken, DisplayName, LanguagePreference, Team


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "weekly_rate", "currency"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]


@admin.register(DisplayName)
class DisplayNameAdmin(admin.ModelAdmin):
    """The names people were shown by; written when a user's name changes, never by hand."""

    list_display = ["user", "name", "valid_from"]
    search_fields = ["name", "user__username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Adding a token shows its key once, in the message after saving."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    fields = ["user", "name", *readonly_fields]
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: forms.Form, change: bool
    ) -> None:
        if not change:
            assert isinstance(request.user, User)  # noqa: S101 -- the admin admits only staff
            key = secrets.token_urlsafe(32)
            obj.prefix, obj.key_hash, obj.created_by = key[:8], ApiToken.hash_key(key), request.user
            super().save_model(request, obj, form, change)
            messages.warning(
                request,
                _(
                    "The key of %(name)s is %(key)s — copy it now: it is not stored and "
                    "cannot be shown again."
                )
                % {"name": obj.name, "key": key},
            )
            return
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Revoke the selected tokens (at once)"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
            % {"count": count},
        )


@admin.register(LanguagePreference)
class LanguagePreferenceAdmin(admin.ModelAdmin):
    """The language each person chose in the page header (they change it there)."""

    list_display = ["user", "language", "chosen_at"]
    list_filter = ["language"]
    search_fields = ["user__username"]
