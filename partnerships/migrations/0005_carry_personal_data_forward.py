"""Carry version 1's personal-data fields forward into the version 2 facts (issue 12).

- Each category of ``personal_data_categories`` becomes an InitiativeDataCategory with the initiative's single
  lawful basis; separate consent where that basis was "separate consent (PIPL Art. 23)".
- ``cross_border_transfer`` is now "not recorded" (None) by default. An initiative that recorded no personal-data
  category had recorded nothing about personal data: its False was the old default, not an answer, and becomes
  None. Where categories were recorded, the False stays.
- ``security_assessment_done`` had no date; it is not turned into one (an undated assessment cannot show it is
  within three years), so those initiatives need the date entered.
- A KPI's baseline date is the initiative's start date where that precedes the target date.
The old fields stay as they were: version 1 formulas read them, so version 1 scores remain reproducible.
"""

from django.db import migrations


def forward(apps, schema_editor):
    Initiative = apps.get_model("partnerships", "Initiative")
    Category = apps.get_model("partnerships", "InitiativeDataCategory")
    KPI = apps.get_model("partnerships", "KPI")
    valid = {"identity", "contact", "financial", "credit", "transaction", "location", "biometric", "behaviour"}
    rows = []
    for initiative in Initiative.objects.only("id", "personal_data_categories", "lawful_basis"):
        categories = [c for c in initiative.personal_data_categories or [] if c in valid]
        for category in dict.fromkeys(categories):
            rows.append(
                Category(
                    initiative_id=initiative.id,
                    category=category,
                    lawful_basis=initiative.lawful_basis,
                    separate_consent=initiative.lawful_basis == "separate_consent",
                )
            )
        if not categories:
            Initiative.objects.filter(pk=initiative.pk, cross_border_transfer=False).update(
                cross_border_transfer=None
            )
    Category.objects.bulk_create(rows, ignore_conflicts=True)
    for kpi in KPI.objects.filter(baseline_date__isnull=True, target_date__isnull=False).select_related(
        "initiative"
    ):
        start = kpi.initiative.start_date
        if start is not None and start < kpi.target_date:
            KPI.objects.filter(pk=kpi.pk).update(baseline_date=start)

class Migration(migrations.Migration):
    dependencies = [("partnerships", "0004_partner_register_personal_data_facts")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
