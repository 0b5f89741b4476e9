"""The API's OpenAPI document is committed (tests/api/openapi.yaml), so that any change to
what clients see shows up as a diff in review, and a refactoring that should change
nothing is proved to change nothing. After an intended API change, regenerate it with
`DEBUG=1 .venv/bin/python manage.py spectacular --file tests/api/openapi.yaml`."""

from io import StringIO
from pathlib import Path

from django.core.management import call_command

COMMITTED = Path(__file__).with_name("openapi.yaml")


def test_generated_schema_is_byte_identical_to_the_committed_one() -> None:
    out = StringIO()
    call_command("spectacular", stdout=out)
    generated = out.getvalue()
    committed = COMMITTED.read_text()
    assert generated == committed, (
        "The OpenAPI schema changed. If the change is intended, regenerate "
        "tests/api/openapi.yaml (see this module's docstring) and commit it."
    )
