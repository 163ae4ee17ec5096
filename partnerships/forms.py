"""Admin forms: widgets and labels only. Whether the input is acceptable is the services' to say.

The initiative form turns its fields (and the partner rows posted with it) into the data that
``partnerships.services.initiatives`` takes; its clean() asks the service, which shows its messages here.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from .admin.base import ServiceFormMixin
from .choices import PersonalDataCategory
from .models import Initiative, InitiativePartner


class InitiativeAdminForm(ServiceFormMixin, forms.ModelForm):
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "code" in self.fields:
            self.fields["code"].required = False
            if not self.instance.pk:
                self.fields["code"].help_text = _(
                    "Leave empty for the next free code of the pillar and month (e.g. sc-202611-004)."
                )

    def service_data(self, cleaned: dict) -> dict:
        """The cleaned fields as the initiative services take them (ids and keys, not objects)."""
        data = {}
        for name in self.fields:
            if name not in cleaned or (self.instance.pk and name not in self.changed_data):
                continue
            value = cleaned[name]
            if name == "bank":
                value = value.pk if value is not None else None
            elif name == "pillar":
                value = value.key if value is not None else None
            elif name == "owner":
                value = value.get_username() if value is not None else ""
            elif name == "scenario_types":
                value = [t.key for t in value]
            elif name == "code":
                value = value or ("" if self.instance.pk else None)
                if value is None:
                    continue
            data[name] = value
        if self.instance.pk is None and data.get("owner") == "":
            del data["owner"]  # nobody chosen: the service makes the author the owner when they are a member
        partners = partner_rows(getattr(self.admin_request, "_admin_formsets", []))
        if partners is not None:
            data["partners"] = partners
        return data


def partner_rows(formsets) -> list[dict] | None:
    """The partner rows posted with the initiative, as [{partner: key, role, note, services}]; None when none was
    posted."""
    for formset in formsets:
        if formset.model is not InitiativePartner:
            continue
        if not formset.is_valid():
            return None  # the formset shows its own errors
        rows = []
        for form in formset.forms:
            cleaned = getattr(form, "cleaned_data", {}) or {}
            if not cleaned.get("partner") or (formset.can_delete and formset._should_delete_form(form)):
                continue
            rows.append(
                {
                    "partner": cleaned["partner"].key,
                    "role": cleaned.get("role"),
                    "note": cleaned.get("note") or "",
                    "services": list(cleaned.get("services") or []),
                }
            )
        return rows
    return None
