"""Form helpers every page's forms share: choosing a user, fieldsets, datetime inputs,
and the one size limit of uploaded files."""

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

# Every file a page accepts (roadmap CSVs, team mappings) is read whole into memory.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def validate_upload_size(upload: UploadedFile) -> None:
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than 5 MB."), code="too_large")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.get_username()


def _attrs(attrs: dict[str, Any]) -> str:
    """Django's widgets/attrs.html: True gives the bare name, False leaves it out."""
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False and value is not None
    )


class QuickOptions:
    """Writes a choice widget's options in Python instead of through one template include
    per option (Django's way, about 0.05 ms an option): the item form offers every open
    item as a dependency, hundreds of them, and spent most of its time on them. The HTML
    is what Django's templates give (a test compares the two); every value and label is
    escaped."""

    if TYPE_CHECKING:  # mixed into Django's choice widgets, which have it

        def get_context(
            self, name: str, value: Any, attrs: dict[str, Any] | None
        ) -> dict[str, Any]: ...

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = []
        for group, options, _index in widget["optgroups"]:
            html = "".join(self.option_html(option) for option in options)
            parts.append(self.group_html(escape(str(group)), html) if group else html)
        return mark_safe(self.outer_html(widget, "".join(parts)))  # noqa: S308 -- all escaped

    def option_html(self, option: dict[str, Any]) -> str:
        raise NotImplementedError

    def group_html(self, group: str, html: str) -> str:
        raise NotImplementedError

    def outer_html(self, widget: dict[str, Any], html: str) -> str:
        raise NotImplementedError


class QuickSelectMixin(QuickOptions):
    def option_html(self, option: dict[str, Any]) -> str:
        value, label = escape(str(option["value"])), escape(str(option["label"]))
        return f'\n  <option value="{value}"{_attrs(option["attrs"])}>{label}</option>'

    def group_html(self, group: str, html: str) -> str:
        return f'\n  <optgroup label="{group}">{html}\n  </optgroup>'

    def outer_html(self, widget: dict[str, Any], html: str) -> str:
        name = escape(str(widget["name"]))
        return f'<select name="{name}"{_attrs(widget["attrs"])}>{html}\n</select>'


class QuickSelect(QuickSelectMixin, forms.Select):
    pass


class QuickSelectMultiple(QuickSelectMixin, forms.SelectMultiple):
    pass


class QuickCheckboxSelectMultiple(QuickOptions, forms.CheckboxSelectMultiple):
    def option_html(self, option: dict[str, Any]) -> str:
        value = "" if option["value"] is None else f' value="{escape(str(option["value"]))}"'
        name = escape(str(option["name"]))
        field = f'<input type="{option["type"]}" name="{name}"{value}{_attrs(option["attrs"])}>'
        if option["wrap_label"]:
            id_ = option["attrs"].get("id")
            label_for = f' for="{escape(str(id_))}"' if id_ else ""
            field = f"<label{label_for}>{field} {escape(str(option['label']))}</label>"
        return f"<div>\n    {field}</div>"

    def group_html(self, group: str, html: str) -> str:
        return f"\n  <div><label>{group}</label>{html}\n  </div>"

    def outer_html(self, widget: dict[str, Any], html: str) -> str:
        id_, css = widget["attrs"].get("id"), widget["attrs"].get("class")
        id_html = f' id="{escape(str(id_))}"' if id_ else ""
        css_html = f' class="{escape(str(css))}"' if css else ""
        return f"<div{id_html}{css_html}>{html}\n</div>"


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
    # Set on a form merged after an edit conflict; empty otherwise, so the template's
    # lookups of them find a value (a failed lookup costs Django a dir() each field).
    clashing_fields: Sequence[str] = ()
    taken_fields: Sequence[str] = ()

    if TYPE_CHECKING:  # mixed into forms, which have it

        def __getitem__(self, name: str) -> forms.BoundField: ...

    def fieldsets(self) -> list[tuple[str | Promise, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.fieldset_names]
