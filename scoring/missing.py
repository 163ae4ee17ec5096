"""What a version 2 formula reports missing, in the reader's language.

The pure formulas (scoring/formulas_v2.py) name each missing input in a fixed English form — a field name
("credit_use") or "<what> of <name>" ("target of 获客数") — stored with the score. This turns each into the
translated label a reader needs; an unknown form is shown as stored rather than dropped.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy, pgettext

FIELDS = {
    "personal_data_categories": gettext_lazy("the personal-data categories"),
    "provided_to_partner": gettext_lazy("whether personal data is provided to the partner"),
    "cross_border": gettext_lazy("whether personal data leaves the mainland"),
    "cross_border_destination": gettext_lazy("the cross-border destination"),
    "credit_use": gettext_lazy("whether credit-related data is used for credit decisions"),
    "KPIs": gettext_lazy("KPIs"),
    "partners": gettext_lazy("partners"),
}
OF = {
    "sensitivity": gettext_lazy("whether %(name)s is sensitive"),
    "target": gettext_lazy("the target of %(name)s"),
    "baseline": gettext_lazy("the baseline of %(name)s"),
    "start date": gettext_lazy("the baseline date of %(name)s"),
    "target date": gettext_lazy("the target date of %(name)s"),
    "observation": gettext_lazy("an observation of %(name)s"),
    "figures of the lead partner": gettext_lazy("figures of the lead partner %(name)s"),
}


def missing_label(item: str) -> str:
    if item in FIELDS:
        return str(FIELDS[item])
    if item.startswith("figures of the lead partner "):
        return str(OF["figures of the lead partner"]) % {
            "name": item.removeprefix("figures of the lead partner ")
        }
    what, sep, name = item.partition(" of ")
    if sep and what in OF:
        if what == "sensitivity":
            from partnerships.choices import PersonalDataCategory

            labels = dict(PersonalDataCategory.choices)
            name = str(labels.get(name, name))
        return str(OF[what]) % {"name": name}
    return item


def missing_labels(items) -> str:
    """The labels joined the way the language lists things (、 in Chinese, ", " in English)."""
    return pgettext("list separator", ", ").join(missing_label(str(i)) for i in items or ())
