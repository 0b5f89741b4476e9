"""Forms of the job-history usage pages: report filters read from the query string (a bad
value is a form error shown on the page, never a server error) and the users-to-teams
mapping."""

import datetime
import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import validate_upload_size
from cost.models import BigQueryJob, BigQueryTable, JobUser
from cost.usage import reports as usage
from cost.usage.people import recent_since, team_model

EARLIEST = datetime.date(2000, 1, 1)
LATEST = datetime.date(2099, 12, 31)
LABEL_KEY = re.compile(usage.LABEL_KEY)  # use with fullmatch
LABEL_KEY_SAMPLE = 5000


def utc_today() -> datetime.date:
    """Job days are UTC days."""
    return timezone.now().astimezone(datetime.UTC).date()


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class PeriodForm(forms.Form):
    """From and to (UTC days, both included); by default the last 28 days."""

    def __init__(self, data=None, *, today: datetime.date | None = None, **kwargs) -> None:
        self.today = today or utc_today()
        if data is not None and not data.get("from") and not data.get("to"):
            # No period asked for: the last 28 days, shown in the fields.
            data = data.copy()
            data["from"], data["to"] = recent_since(self.today).isoformat(), self.today.isoformat()
        super().__init__(data, **kwargs)
        # The query string names them `from` and `to`, which Python cannot name fields.
        self.fields = {
            "from": forms.DateField(label=_("From"), required=False, widget=DateInput()),
            "to": forms.DateField(label=_("To"), required=False, widget=DateInput()),
            **self.fields,
        }

    def _in_range(self, name: str) -> datetime.date | None:
        value = self.cleaned_data.get(name)
        if value is not None and not EARLIEST <= value <= LATEST:
            raise forms.ValidationError(
                _("Give a day between %(first)s and %(last)s.")
                % {"first": EARLIEST.isoformat(), "last": LATEST.isoformat()}
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # noqa: S101 -- Form.clean returns cleaned_data
        for name in ("from", "to"):
            # _errors: the ErrorDict full_clean() fills (errors would run full_clean again).
            if name not in self._errors:  # type: ignore[attr-defined]
                try:
                    cleaned[name] = self._in_range(name)
                except forms.ValidationError as error:
                    self.add_error(name, error)
        if self._errors:  # type: ignore[attr-defined]
            return cleaned
        # From a day alone: up to today. To a day alone: the 28 days up to it.
        until = cleaned.get("to") or max(self.today, cleaned["from"])
        since = cleaned.get("from") or recent_since(until)
        if since > until:
            self.add_error("to", _("The last day comes before the first day."))
        cleaned["since"], cleaned["until"] = since, until
        return cleaned

    @property
    def since(self) -> datetime.date:
        return self.cleaned_data["since"]

    @property
    def until(self) -> datetime.date:
        return self.cleaned_data["until"]


class TableUsageForm(PeriodForm):
    dataset = forms.CharField(
        label=_("Dataset"),
        required=False,
        max_length=1200,
        help_text=_("project.dataset, or the dataset's name alone."),
        widget=forms.TextInput(attrs={"list": "datasets", "placeholder": "project.dataset"}),
    )

    def clean_dataset(self) -> str:
        return self.cleaned_data["dataset"].strip().strip("`")

    @staticmethod
    def known_datasets(limit: int = 500) -> list[str]:
        """For the dataset field's suggestions."""
        pairs = (
            BigQueryTable.objects.order_by("project_id", "dataset_id")
            .values_list("project_id", "dataset_id")
            .distinct()[:limit]
        )
        return [f"{project}.{dataset}" for project, dataset in pairs]


class JoinedForm(PeriodForm):
    size = forms.TypedChoiceField(
        label=_("Tables"),
        choices=[(2, _("Pairs")), (3, _("Triples"))],
        coerce=int,
        required=False,
        empty_value=2,  # type: ignore[arg-type]  # any value will do; the stubs want a str
        widget=forms.HiddenInput,  # the page's Pairs / Triples toggle sets it
    )


class QueryCostForm(PeriodForm):
    GROUPS = [
        ("user", _("User")),
        ("team", _("Team")),
        ("project", _("Project")),
        ("table", _("Table")),
        ("day", _("Day")),
    ]

    by = forms.CharField(label=_("Grouped by"), required=False, widget=forms.Select)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        keys = self.known_label_keys()
        asked = (self.data.get("by") or "") if self.is_bound else ""
        if asked.startswith("label:") and LABEL_KEY.fullmatch(asked[6:]) and asked[6:] not in keys:
            keys.append(asked[6:])
        self.fields["by"].widget.choices = [
            *self.GROUPS,
            *((f"label:{key}", _("Label: %(key)s") % {"key": key}) for key in sorted(keys)),
        ]

    def clean_by(self) -> str:
        value = self.cleaned_data["by"] or "user"
        if value in dict(self.GROUPS):
            return value
        if value.startswith("label:") and LABEL_KEY.fullmatch(value[6:]):
            return value
        raise forms.ValidationError(
            _("Group by user, team, project, table, day or label:<key> (for example label:team).")
        )

    @staticmethod
    def known_label_keys() -> list[str]:
        """Label keys of the newest jobs that have labels, for the select."""
        keys: set[str] = set()
        newest = BigQueryJob.objects.exclude(labels={}).order_by("-creation_time")
        for labels in newest.values_list("labels", flat=True)[:LABEL_KEY_SAMPLE]:
            if isinstance(labels, dict):
                keys.update(key for key in labels if LABEL_KEY.fullmatch(key))
        return sorted(keys)


# --- Users and teams ------------------------------------------------------------------------


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.slug})"


class JobUserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=320)
    team = TeamChoiceField(
        label=_("Team"), queryset=None, required=False, to_field_name="slug",
        empty_label=_("Any team"),
    )  # fmt: skip
    unmapped = forms.BooleanField(label=_("Only users without a team"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = team_model().objects.order_by("name")  # type: ignore[attr-defined]  # a model choice field
        self.fields["team"].error_messages["invalid_choice"] = _("There is no such team.")


class JobUserForm(forms.ModelForm):
    """One user's team, and whether the account is a service account (guessed from the
    email on import; a robot with a person-like address can be marked here)."""

    class Meta:
        model = JobUser
        fields = ["team", "is_service_account"]
        field_classes = {"team": TeamChoiceField}
        help_texts = {"team": _("Blank: not mapped to a team.")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = self.fields["team"].queryset.order_by("name")  # type: ignore[attr-defined]  # a model choice field


class TeamMappingUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, first line “email,team”; team is a team's slug or name."),
        validators=[validate_upload_size],
    )

    def clean_file(self) -> str:
        """The file's text; the file's name is in `filename`."""
        upload = self.cleaned_data["file"]
        self.filename = upload.name
        data = upload.read()
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise forms.ValidationError(
                _("%(name)s, line %(line)s: the file is not UTF-8 text; save it as CSV UTF-8.")
                % {"name": upload.name, "line": line}
            ) from None
