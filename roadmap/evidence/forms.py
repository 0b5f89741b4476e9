"""Forms for an item's tables and for stakeholder interviews."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import FieldsetsMixin, unix_newlines
from core.models import Team
from roadmap.evidence.interviews import interview_version
from roadmap.evidence.tables import parse_table_names
from roadmap.models import RoadmapItem, StakeholderInterview

TABLE_LINES_HELP = _("One table a line, as project.dataset.table.")
OUT_OF_DATE = _("This form is out of date: open the page again.")
# The widest id a database keeps (64-bit): SQLite cannot even compare a wider number.
WIDEST_ID = 2**63 - 1


class TableLinesField(forms.CharField):
    """Table names, one a line; every bad line is named."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)  # leading blank lines keep the line numbers true
        kwargs.setdefault("help_text", TABLE_LINES_HELP)
        kwargs.setdefault("max_length", 100_000)
        kwargs.setdefault(
            "widget",
            forms.Textarea(
                attrs={"rows": 5, "spellcheck": "false", "placeholder": "project.dataset.table"}
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value: str) -> list[str]:
        text = super().clean(value) or ""
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        parse_table_names(lines)  # raises, naming each bad line
        return lines


class ItemTablesForm(forms.Form):
    retire = TableLinesField(label=_("Tables this item will retire"))
    build_on = TableLinesField(label=_("Tables this item will build on"))
    # The tables the form was loaded with (roadmap.evidence.tables.tables_digest).
    seen = forms.CharField(
        widget=forms.HiddenInput, max_length=64, error_messages={"required": OUT_OF_DATE}
    )


class ItemChoiceField(forms.ModelMultipleChoiceField):
    """Items by id; an id no database can hold is an unknown item, not a server error."""

    def clean(self, value):
        for pk in value if isinstance(value, list | tuple) else ():
            if str(pk).strip().lstrip("+-").isdecimal() and abs(int(pk)) > WIDEST_ID:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super().clean(value)


class InterviewForm(FieldsetsMixin, forms.ModelForm):
    fieldset_names = [
        (_("Who and when"), ["date", "team", "people"]),
        (_("What they said"), ["pain_points", "notes"]),
        (_("Items they asked for"), ["items"]),
    ]
    wide_fields = frozenset({"people", "pain_points", "notes", "items"})
    # The interview as the form was loaded (interviews.interview_version): edits only.
    seen = forms.IntegerField(
        widget=forms.HiddenInput, required=False, error_messages={"required": OUT_OF_DATE}
    )

    class Meta:
        model = StakeholderInterview
        fields = ["date", "team", "people", "pain_points", "notes", "items"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "pain_points": forms.Textarea(attrs={"rows": 5}),
            "notes": forms.Textarea(attrs={"rows": 10}),
            "items": forms.CheckboxSelectMultiple,
        }
        field_classes = {"items": ItemChoiceField}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.initial.setdefault("date", timezone.localdate())
        else:
            self.fields["seen"].required = True
            if not self.is_bound:
                self.initial.setdefault("seen", interview_version(self.instance))
        self.fields["team"].queryset = Team.objects.order_by("name")  # type: ignore[attr-defined]  # a model choice field
        # Items not dropped, plus any the interview already names, so saving an untouched
        # form drops nothing.
        items = ~Q(status=RoadmapItem.Status.DROPPED)
        if self.instance.pk:
            items |= Q(pk__in=list(self.instance.items.values_list("pk", flat=True)))
        self.fields["items"].queryset = RoadmapItem.objects.filter(items).order_by("rank", "id")  # type: ignore[attr-defined]  # a model choice field

    def clean_date(self):
        date = self.cleaned_data["date"]
        if date and date > timezone.localdate():
            raise ValidationError(_("An interview cannot take place in the future."))
        return date

    def clean(self) -> dict:
        return unix_newlines(super().clean())
