from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.models import ApiToken
from core.roles import Role, roles_of


class Command(BaseCommand):
    help = "Make an API token for a user and print its key (shown this once only)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="script", help="where it will be used")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if not user.is_active:
            raise CommandError(f"{username!r} is not active: a token would not work")
        token, key = ApiToken.issue(user=user, name=name)
        self.stdout.write(key)
        roles = roles_of(user)
        if not user.is_superuser and not roles & {Role.FINANCE, Role.MANAGER}:
            self.stderr.write(
                f"note: {username} is neither Finance nor Manager, so the cost API will "
                "refuse this token (403) until they are."
            )
        self.stderr.write(
            f"Token {token.prefix}… ({name}) for {username}. Keep the key: it cannot be "
            "shown again. Use it as 'Authorization: Token <key>'."
        )
