"""The three roles of Quarterdeck and how views say which of them may enter.

Roles are Django groups (created by the migration `roadmap/0002_roles`). Every page and
API endpoint names its roles explicitly; a signed-in user without one of them gets 403,
an anonymous visitor is sent to the login page (pages) or gets 401/403 (API).
Superusers pass every check, as everywhere else in Django.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:  # not at run time: rest_framework.views imports this module (settings)
    from rest_framework.request import Request
    from rest_framework.views import APIView


class Role(models.TextChoices):
    MANAGER = "Manager", _("Manager")
    REVIEWER = "Reviewer", _("Reviewer")
    FINANCE = "Finance", _("Finance")


# The role sets views and endpoints name in `allowed_roles`: one definition each.
MANAGERS = frozenset({Role.MANAGER})
REVIEWERS = frozenset({Role.REVIEWER})
# The people of a review session: the manager who runs it and the reviewers invited.
PARTICIPANTS = frozenset({Role.MANAGER, Role.REVIEWER})
# Cost, usage and the roadmap API: finance reads what the manager plans.
MANAGERS_AND_FINANCE = frozenset({Role.MANAGER, Role.FINANCE})
ANY_ROLE = frozenset(Role.values)


def roles_of(user: User | AnonymousUser) -> frozenset[str]:
    """The role names of a user, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_quarterdeck_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._quarterdeck_roles = cached  # type: ignore[attr-defined]  # a cache for the request
    return cached


def has_role(user: User | AnonymousUser, roles: Iterable[str]) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or bool(roles_of(user) & set(roles))


class RoleRequiredMixin(AccessMixin):
    """Class-based view mixin: `allowed_roles = {Role.MANAGER}`.

    Anonymous users are redirected to login; signed-in users without a role get 403.
    """

    allowed_roles: frozenset[str] = frozenset()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # AccessMixin redirects anonymous users to login and raises 403 for the others.
        if not has_role(request.user, self.allowed_roles):
            return self.handle_no_permission()
        # A mixin: the View it is mixed into, later in the MRO, has dispatch.
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class HasRole(BasePermission):
    """DRF permission: the view declares `allowed_roles` like the page views do."""

    def has_permission(self, request: "Request", view: "APIView") -> bool:
        return has_role(request.user, getattr(view, "allowed_roles", ()))


def signed_in_user(request: "HttpRequest | Request") -> User:
    """`request.user` in a view whose roles (RoleRequiredMixin, HasRole) have already
    turned anonymous visitors away: a User, never AnonymousUser."""
    user = request.user
    assert isinstance(user, User)  # noqa: S101
    return user


def roles_context(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": frozenset()}
    roles = set(roles_of(user))
    if user.is_superuser:
        roles |= set(Role.values)
    return {
        "user_roles": frozenset(roles),
        # The header's "Manager, Reviewer", in the reader's language (マネージャー、レビュアー).
        "user_role_labels": pgettext("between the items of a list", ", ").join(
            str(Role(role).label) for role in sorted(roles) if role in Role.values
        ),
        "is_manager": Role.MANAGER in roles,
        "is_reviewer": Role.REVIEWER in roles,
        "is_finance": Role.FINANCE in roles,
    }
