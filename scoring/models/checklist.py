"""The regulatory checklist (issue 12): per pillar, versioned like the rubrics, each item citing its rule; each
initiative answers each item (met, not met, not applicable) with evidence and an expiry date."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from partnerships.models.base import TenantManager

from ..choices import ChecklistAnswerValue


class ChecklistVersion(models.Model):
    """One version of a pillar's checklist, loaded from ``fixtures/checklists/``; the highest number is current."""

    urn = models.CharField(_("URN"), max_length=200)
    pillar = models.ForeignKey(
        "partnerships.Pillar",
        on_delete=models.PROTECT,
        to_field="key",
        related_name="checklists",
        verbose_name=_("pillar"),
    )
    number = models.PositiveIntegerField(_("version"))
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    source_checksum = models.CharField(_("source checksum"), max_length=64)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("checklist version")
        verbose_name_plural = _("checklist versions")
        ordering = ["pillar__position", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["urn", "number"], name="checklist_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name_zh_hans} v{self.number}"


class ChecklistItem(models.Model):
    version = models.ForeignKey(
        ChecklistVersion, on_delete=models.CASCADE, related_name="items", verbose_name=_("checklist version")
    )
    key = models.SlugField(_("key"), max_length=64)
    level = models.PositiveSmallIntegerField(
        _("level"), help_text=_("The compliance-readiness level (1–4) this item is needed for.")
    )
    text_zh_hans = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    rule_zh_hans = models.CharField(_("rule (Chinese)"), max_length=300)
    rule_en = models.CharField(_("rule (English)"), max_length=300)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["version_id", "level", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="checklist_item_unique_key"),
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=4), name="checklist_item_level"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class ChecklistAnswer(models.Model):
    """An initiative's answer to one item. Met needs evidence; expired evidence counts as not met."""

    TENANT_BANK_PATH = "initiative__bank"

    initiative = models.ForeignKey(
        "partnerships.Initiative",
        on_delete=models.CASCADE,
        related_name="checklist_answers",
        verbose_name=_("initiative"),
    )
    item = models.ForeignKey(
        ChecklistItem, on_delete=models.PROTECT, related_name="answers", verbose_name=_("checklist item")
    )
    answer = models.CharField(_("answer"), max_length=8, choices=ChecklistAnswerValue.choices)
    evidence = models.ForeignKey(
        "partnerships.Evidence",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="checklist_answers",
        verbose_name=_("evidence"),
    )
    expires_on = models.DateField(_("evidence expires on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    answered_at = models.DateTimeField(_("answered at"), auto_now=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("checklist answer")
        verbose_name_plural = _("checklist answers")
        ordering = ["initiative_id", "item__level", "item__position"]
        constraints = [
            models.UniqueConstraint(fields=["initiative", "item"], name="checklist_answer_unique"),
            models.CheckConstraint(
                condition=models.Q(answer__in=ChecklistAnswerValue.values), name="checklist_answer_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item.key}: {self.get_answer_display()}"
