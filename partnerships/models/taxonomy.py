"""The seed's taxonomy: three partnership pillars and the scenario types each one lists."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import PillarKey, ScenarioGroup, ScenarioStatus
from .base import BilingualNameModel


class Pillar(BilingualNameModel):
    key = models.CharField(_("key"), max_length=32, unique=True, choices=PillarKey.choices)
    description_zh_hans = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("pillar")
        verbose_name_plural = _("pillars")
        ordering = ["position", "key"]
        constraints = [
            models.CheckConstraint(condition=models.Q(key__in=PillarKey.values), name="pillar_key_valid"),
        ]


class ScenarioType(BilingualNameModel):
    key = models.SlugField(_("key"), max_length=64, unique=True)
    pillar = models.ForeignKey(
        Pillar,
        on_delete=models.PROTECT,
        to_field="key",
        related_name="scenario_types",
        verbose_name=_("pillar"),
    )
    group = models.CharField(
        _("group"), max_length=16, choices=ScenarioGroup.choices, default=ScenarioGroup.GENERAL
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    status = models.CharField(
        _("status"), max_length=12, choices=ScenarioStatus.choices, default=ScenarioStatus.ACTIVE
    )
    status_rule_zh_hans = models.TextField(_("rule (Chinese)"), blank=True)
    status_rule_en = models.TextField(_("rule (English)"), blank=True)

    class Meta:
        verbose_name = _("scenario type")
        verbose_name_plural = _("scenario types")
        ordering = ["pillar__position", "position", "key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(group__in=ScenarioGroup.values), name="scenario_type_group_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ScenarioStatus.values), name="scenario_type_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status="active")
                | (~models.Q(status_rule_zh_hans="") & ~models.Q(status_rule_en="")),
                name="scenario_type_status_has_rule",
            ),
        ]
