"""Form helpers every page's forms share: choosing a user, fieldsets, datetime inputs."""

from django import forms


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


# --- Error budgets ---------------------------------------------------------------------------

# What <input type="datetime-local"> shows and sends (local time, to the minute).
DATETIME_LOCAL_INPUT = forms.DateTimeInput(
    attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
)


def _unix_newlines(cleaned: dict) -> dict:
    """Browsers send text areas with CRLF; stored text uses LF."""
    for name, value in cleaned.items():
        if isinstance(value, str) and "\r" in value:
            cleaned[name] = value.replace("\r\n", "\n").replace("\r", "\n")
    return cleaned


class FieldsetsMixin:
    """`fieldset_names`: [(legend, [field names])]; `wide_fields` span the whole row."""

    fieldset_names: list[tuple[str, list[str]]] = []
    wide_fields: frozenset[str] = frozenset()

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.fieldset_names]
