"""Forms of the roadmap items: drafting an item, moving it, importing a CSV, capacity."""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.forms import (
    FieldsetsMixin,
    QuickCheckboxSelectMultiple,
    QuickSelect,
    QuickSelectMultiple,
    UserChoiceField,
    validate_upload_size,
)
from core.quarters import parse_quarter_code, quarter_code
from roadmap.items.history import current_values
from roadmap.models import EDITABLE_FIELDS, Quarter, RoadmapItem, dependency_graph, dependency_loop


def quarter_choices(*extra: str) -> list[tuple[str, str]]:
    """From last quarter to seven quarters ahead, plus any quarter already in use."""
    current = Quarter.from_code(Quarter.current_code()).index
    codes = {quarter_code(current + offset) for offset in range(-1, 8)}
    codes.update(code for code in extra if code)
    codes.update(Quarter.objects.values_list("code", flat=True))
    ordered = sorted(codes, key=lambda code: parse_quarter_code(code))
    return [("", "—"), *[(code, code) for code in ordered]]


class QuarterField(forms.ChoiceField):
    """A quarter picked by its code; the Quarter row is created on first use."""

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=quarter_choices, **kwargs)

    def valid_value(self, value: str) -> bool:
        try:
            parse_quarter_code(value)
        except ValidationError:
            return False
        return True

    def clean(self, value: str) -> Quarter | None:
        """The saved quarter, or an unsaved one: nothing is written while validating."""
        value = super().clean(value)
        if not value:
            return None
        quarter = Quarter.from_code(value)
        return Quarter.objects.filter(code=quarter.code).first() or quarter

    def prepare_value(self, value) -> str:
        if isinstance(value, Quarter):
            return value.code
        if isinstance(value, int):
            return Quarter.objects.filter(pk=value).values_list("code", flat=True).first() or ""
        return value or ""


ITEM_FIELDS = EDITABLE_FIELDS

FIELDSETS = [
    (_("What and who"), ["title", "description", "theme", "owner", "team", "requesting_teams"]),
    (_("When"), ["status", "start_quarter", "target_quarter", "delivered_on", "depends_on"]),
    (_("RICE"), ["reach", "impact", "confidence", "rice_effort_months"]),
    (_("WSJF"), ["business_value", "time_criticality", "risk_reduction", "job_size"]),
    (_("Cost"), ["effort_weeks", "currency", "bq_monthly_cost_change", "one_off_cost"]),
    (
        _("Benefit"),
        [
            "users_affected",
            "hours_saved_per_month",
            "benefit_narrative",
            "benefit_chain",
            "evidence_links",
        ],
    ),
    (
        _("Benefit targets"),
        ["adoption_target_people", "adoption_target_weeks", "retirement_target_date"],
    ),
    (_("Links and risks"), ["links", "risks"]),
]


class RoadmapItemForm(FieldsetsMixin, forms.ModelForm):
    """Create/edit form. `version` carries the version the editor loaded, so a save based
    on a stale copy is refused instead of overwriting someone else's change."""

    fieldset_names = FIELDSETS

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    start_quarter = QuarterField(label=_("Start quarter"), required=False)
    target_quarter = QuarterField(label=_("Target quarter"), required=False)

    class Meta:
        model = RoadmapItem
        fields = ITEM_FIELDS
        field_classes = {"owner": UserChoiceField}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 5}),
            "risks": forms.Textarea(attrs={"rows": 3}),
            "benefit_narrative": forms.Textarea(attrs={"rows": 4}),
            "links": forms.Textarea(attrs={"rows": 2}),
            "evidence_links": forms.Textarea(attrs={"rows": 2}),
            # Every open item is offered as a dependency: hundreds of options, written by
            # the quick widgets (one template include per option took most of the render).
            "theme": QuickSelect,
            "owner": QuickSelect,
            "team": QuickSelect,
            "requesting_teams": QuickCheckboxSelectMultiple,
            "depends_on": QuickSelectMultiple(attrs={"size": 6}),
            "reach": forms.NumberInput(attrs={"min": 0}),
            "rice_effort_months": forms.NumberInput(attrs={"min": "0.5", "step": "0.5"}),
            "effort_weeks": forms.NumberInput(attrs={"min": 0, "step": "0.5"}),
            "one_off_cost": forms.NumberInput(attrs={"min": 0, "step": "0.01"}),
            "bq_monthly_cost_change": forms.NumberInput(attrs={"step": "0.01"}),
            "hours_saved_per_month": forms.NumberInput(attrs={"min": 0, "step": "0.5"}),
            "delivered_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "adoption_target_people": forms.NumberInput(attrs={"min": 1}),
            "adoption_target_weeks": forms.NumberInput(attrs={"min": 1}),
            "retirement_target_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "currency": forms.TextInput(
                attrs={"size": 3, "maxlength": 3, "pattern": "[A-Za-z]{3}", "class": "upper"}
            ),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Offer active users and open items, plus whatever the item already points at, so
        # saving an untouched form never drops an inactive owner or a dropped dependency.
        users = Q(is_active=True)
        others = ~Q(status=RoadmapItem.Status.DROPPED)
        if self.instance.pk:
            users |= Q(pk=self.instance.owner_id)
            current = self.instance.depends_on.values_list("pk", flat=True)
            others = (others | Q(pk__in=list(current))) & ~Q(pk=self.instance.pk)
            self.fields["version"].initial = self.instance.version
        self.fields["owner"].queryset = (  # type: ignore[attr-defined]  # a model choice field
            get_user_model().objects.filter(users).order_by("first_name", "username")
        )
        # Only what an option shows: the form offers every open item.
        dependencies = RoadmapItem.objects.filter(others).only("pk", "title").order_by("title")
        self.fields["depends_on"].queryset = dependencies  # type: ignore[attr-defined]  # a model choice field
        self.fields["depends_on"].required = False

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # noqa: S101 -- Form.clean returns cleaned_data
        for name, value in cleaned.items():
            # Browsers send text areas with CRLF; stored text uses LF, so an untouched
            # description does not count as changed.
            if isinstance(value, str) and "\r" in value:
                cleaned[name] = value.replace("\r\n", "\n").replace("\r", "\n")
        start, target = cleaned.get("start_quarter"), cleaned.get("target_quarter")
        if start and target and start.start_date > target.start_date:
            self.add_error(
                "target_quarter", _("The target quarter cannot come before the start quarter.")
            )
        if start and not target and "target_quarter" not in self.errors:
            self.add_error("target_quarter", _("Choose a target quarter as well."))
        depends_on = cleaned.get("depends_on")
        if self.instance.pk and depends_on:
            loop = _dependency_loop(self.instance, depends_on)
            if loop:
                self.add_error(
                    "depends_on",
                    _("That would make a loop: %(path)s") % {"path": " → ".join(loop)},
                )
        return cleaned

    wide_fields = frozenset(
        {
            "title",
            "description",
            "requesting_teams",
            "depends_on",
            "links",
            "risks",
            "benefit_narrative",
            "benefit_chain",
            "evidence_links",
        }
    )

    def my_values(self) -> dict:
        """The cleaned input, shaped like `history.current_values` (ids, sets of ids)."""
        values = {}
        for name in ITEM_FIELDS:
            value = self.cleaned_data.get(name)
            if isinstance(value, models.Model):
                value = value.pk
            elif isinstance(value, models.QuerySet | list | tuple):
                value = frozenset(obj.pk for obj in value)
            values[name] = value
        return values

    def rebase(self, conflict) -> "RebasedForm":
        """Three-way merge of this (refused) edit onto the item as it is now.

        Fields only the other person changed take their value; fields only this editor
        changed keep theirs; fields both changed keep this editor's value and are flagged.
        Nothing is saved: the editor reviews the merged form and saves again.
        """
        current = current_values(conflict.item, ITEM_FIELDS)
        base = conflict.base_values or current
        mine = self.my_values()
        now = RoadmapItemForm(instance=conflict.item)
        data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict (request.POST)
        taken, clashes = [], []
        for name in ITEM_FIELDS:
            if current[name] == base[name]:
                continue
            if mine[name] == base[name]:
                value = now[name].value()
                if isinstance(value, list | tuple):
                    data.setlist(name, [str(v) for v in value])
                else:
                    data[name] = "" if value is None else str(value)
                taken.append(name)
            elif mine[name] != current[name]:
                clashes.append(name)
        data["version"] = str(conflict.current_version)
        form = RebasedForm(data=data, instance=conflict.item)
        form.taken_fields, form.clashing_fields = taken, clashes
        return form


class RebasedForm(RoadmapItemForm):
    taken_fields: list[str]
    clashing_fields: list[str]


def _dependency_loop(item: RoadmapItem, chosen) -> list[str] | None:
    """If `item` depending on `chosen` closes a loop, the titles along it."""
    graph = dependency_graph()
    graph[item.pk] = {other.pk for other in chosen}
    loop = dependency_loop(graph, item.pk)
    if loop is None:
        return None
    titles = dict(RoadmapItem.objects.filter(pk__in=loop).values_list("pk", "title"))
    return [titles[pk] for pk in loop]


class MoveItemForm(forms.Form):
    """Where to move an item, and the ranking version of the list the move was chosen on
    (planning.ranking_version) so that a move based on an out-of-date list is refused."""

    to_rank = forms.IntegerField(min_value=1, required=False)
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")], required=False)
    version = forms.CharField(max_length=64, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # noqa: S101 -- Form.clean returns cleaned_data
        if not cleaned.get("to_rank") and not cleaned.get("direction"):
            raise ValidationError(_("Say where to move the item: a rank, up or down."))
        return cleaned

    def target_rank(self, current: int) -> int:
        if self.cleaned_data.get("to_rank"):
            return self.cleaned_data["to_rank"]
        return current - 1 if self.cleaned_data["direction"] == "up" else current + 1


class ImportItemsForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, with the columns of an export."),
        validators=[validate_upload_size],
    )


class CapacityForm(forms.Form):
    """One person-weeks field per team and quarter, named `t<team id>-<quarter code>`."""

    def __init__(self, *args, grid, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.grid = grid
        for team in grid.teams:
            for quarter in grid.quarters:
                self.fields[self.key(team, quarter.code)] = forms.DecimalField(
                    label=f"{team.name} {quarter.code}",
                    required=False,
                    min_value=0,
                    max_value=9999,
                    decimal_places=1,
                    initial=grid.weeks.get((team.pk, quarter.code)),
                    widget=forms.NumberInput(attrs={"min": 0, "step": "0.5", "class": "weeks"}),
                    # The value the editor saw travels with the form, so only the cells they
                    # changed are written and a cell changed meanwhile is noticed.
                    show_hidden_initial=True,
                )

    @staticmethod
    def key(team, code: str) -> str:
        return f"t{team.pk}-{code}"

    def rows(self) -> list[tuple]:
        return [
            (team, [self[self.key(team, quarter.code)] for quarter in self.grid.quarters])
            for team in self.grid.teams
        ]

    def changes(self) -> dict:
        """{(team, quarter code): (value the editor saw, new value)} for changed cells."""
        changed = set(self.changed_data)
        result = {}
        for team in self.grid.teams:
            for quarter in self.grid.quarters:
                key = self.key(team, quarter.code)
                if key in changed:
                    seen = self.data.get(self.add_initial_prefix(key)) or None
                    seen = self.fields[key].to_python(seen) if seen else None
                    result[(team, quarter.code)] = (seen, self.cleaned_data[key])
        return result
