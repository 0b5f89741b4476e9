from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import FieldsetsMixin
from cost.billing.reports import Basis, Stacking
from cost.models import AllocationRule, Label


class OverviewForm(forms.Form):
    """The cost overview's toggles, read from the query string."""

    basis = forms.ChoiceField(choices=Basis.choices, required=False)
    stack = forms.ChoiceField(choices=Stacking.choices, required=False)

    def choice(self, name: str, default: str) -> str:
        """The valid value given, or the default (a bad value is ignored, not an error)."""
        if self.is_valid() and self.cleaned_data[name]:
            return self.cleaned_data[name]
        return default


class ChartForm(OverviewForm):
    currency = forms.RegexField(regex=r"^[A-Z]{3}$", required=False)


class RuleItemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        status = obj.get_status_display()
        return f"{obj.title} ({status})"


class AllocationRuleForm(FieldsetsMixin, forms.ModelForm):
    """One allocation rule. Blank conditions match anything; the list's order (not this
    form) says which rule is tried first."""

    fieldset_names = [
        (_("Rule"), ["name"]),
        (
            _("Cost it matches (all conditions given must hold)"),
            ["match_project", "match_label_key", "match_label_value", "match_service", "match_sku"],
        ),
        (_("Allocated to"), ["team", "roadmap_item"]),
    ]

    class Meta:
        model = AllocationRule
        fields = [
            "name",
            "match_project",
            "match_label_key",
            "match_label_value",
            "match_service",
            "match_sku",
            "team",
            "roadmap_item",
        ]
        field_classes = {"roadmap_item": RuleItemChoiceField}
        help_texts = {
            "match_label_key": _("Resource or project label, e.g. team."),
            "roadmap_item": _("Optional: its page then shows the cost this rule allocates."),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = self.fields["team"].queryset.order_by("name")  # type: ignore[attr-defined]  # a model choice field
        self.fields["roadmap_item"].queryset = self.fields["roadmap_item"].queryset.order_by(  # type: ignore[attr-defined]  # a model choice field
            "title"
        )
        self.fields["match_label_key"].widget.attrs["list"] = "label-keys"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # noqa: S101 -- Form.clean returns cleaned_data
        if cleaned.get("match_label_value") and not cleaned.get("match_label_key"):
            self.add_error(
                "match_label_value",
                _("A label value needs its label key: give the key, or leave the value blank."),
            )
        return cleaned

    @staticmethod
    def known_label_keys() -> list[str]:
        """For the key field's suggestions: label keys seen in billing data."""
        return list(Label.objects.order_by("key").values_list("key", flat=True).distinct()[:200])


class MoveRuleForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", _("Up")), ("down", _("Down"))])
