"""Guards that a form cannot bypass: an initiative's scenario types must belong to its pillar."""

from django.core.exceptions import ValidationError
from django.db.models.signals import m2m_changed
from django.dispatch import Signal, receiver
from django.utils.translation import gettext_lazy as _

from .models import Initiative, ScenarioType

# Sent by seed_demo inside its transaction once reference (and demo) data are in place, with `demo: bool`.
# scoring listens to load its rubrics and the demo assessments: partnerships never imports scoring.
# Receivers return a list of lines for the command to print.
demo_data_seeded = Signal()


@receiver(m2m_changed, sender=Initiative.scenario_types.through)
def scenario_types_match_pillar(sender, instance, action, pk_set, reverse, **kwargs) -> None:
    if action != "pre_add" or not pk_set:
        return
    if reverse:  # scenario_type.initiatives.add(...)
        wrong = Initiative.objects.filter(pk__in=pk_set).exclude(pillar_id=instance.pillar_id)
        if wrong.exists():
            raise ValidationError(
                {"scenario_types": _("A scenario type can only join initiatives of its pillar.")}
            )
        return
    wrong = list(ScenarioType.objects.filter(pk__in=pk_set).exclude(pillar_id=instance.pillar_id))
    if wrong:
        raise ValidationError(
            {
                "scenario_types": _("%(types)s do not belong to the pillar %(pillar)s.")
                % {"types": ", ".join(str(t) for t in wrong), "pillar": instance.pillar_id}
            }
        )
