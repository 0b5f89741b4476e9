"""Form helpers every page's forms share: choosing a user, fieldsets, datetime inputs,
and the one size limit of uploaded files."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Every file a page accepts (roadmap CSVs, team mappings) is read whole into memory.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def validate_upload_size(upload: UploadedFile) -> None:
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than 5 MB."), code="too_large")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.get_username()


# What <input type="datetime-local"> shows and sends (local time, to the minute).
DATETIME_LOCAL_INPUT = forms.DateTimeInput(
    attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
)


def unix_newlines(cleaned: dict[str, Any] | None) -> dict[str, Any]:
    """Browsers send text areas with CRLF; stored text uses LF."""
    # Called with Form.clean()'s result: cleaned_data, which the stubs allow to be None.
    assert cleaned is not None  # noqa: S101
    for name, value in cleaned.items():
        if isinstance(value, str) and "\r" in value:
            cleaned[name] = value.replace("\r\n", "\n").replace("\r", "\n")
    return cleaned


class FieldsetsMixin:
    """`fieldset_names`: [(legend, [field names])]; `wide_fields` span the whole row.
    Templates draw them with the one partial, templates/_fieldsets.html."""

    fieldset_names: Sequence[tuple[str | Promise, Sequence[str]]] = []
    wide_fields: frozenset[str] = frozenset()

    if TYPE_CHECKING:  # mixed into forms, which have it

        def __getitem__(self, name: str) -> forms.BoundField: ...

    def fieldsets(self) -> list[tuple[str | Promise, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.fieldset_names]
