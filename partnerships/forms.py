"""Admin forms with the checks a person needs to read: pillar/scenario fit and status transitions."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import STATUS_TRANSITIONS, PersonalDataCategory
from .models import Initiative


class InitiativeAdminForm(forms.ModelForm):
    personal_data_categories = forms.MultipleChoiceField(
        label=_("personal-data categories"),
        choices=PersonalDataCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Kinds of personal information passed between the bank and the partner."),
    )

    class Meta:
        model = Initiative
        fields = [
            "bank",
            "code",
            "title",
            "description",
            "status",
            "owner",
            "is_illustrative",
            "pillar",
            "scenario_types",
            "start_date",
            "end_date",
            "personal_data_categories",
            "lawful_basis",
            "security_assessment_done",
            "cross_border_transfer",
            "transfer_mechanism",
        ]

    def clean(self):
        cleaned = super().clean()
        pillar = cleaned.get("pillar")
        types = cleaned.get("scenario_types")
        if pillar is not None and types:
            wrong = [str(t) for t in types if t.pillar_id != pillar.key]
            if wrong:
                self.add_error(
                    "scenario_types",
                    _("%(types)s do not belong to the pillar “%(pillar)s”.")
                    % {"types": "、".join(wrong), "pillar": pillar},
                )
        status = cleaned.get("status")
        if self.instance.pk and status and "status" in self.changed_data:
            before = self.initial.get("status")
            if before and status not in STATUS_TRANSITIONS.get(before, frozenset()):
                allowed = ", ".join(
                    str(Initiative.Status(s).label) for s in sorted(STATUS_TRANSITIONS.get(before, ()))
                )
                self.add_error(
                    "status",
                    _("An initiative cannot go from “%(before)s” to “%(after)s”. Allowed next: %(allowed)s.")
                    % {
                        "before": Initiative.Status(before).label,
                        "after": Initiative.Status(status).label,
                        "allowed": allowed or _("none (final)"),
                    },
                )
        return cleaned
