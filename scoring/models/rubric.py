"""Rubrics and their versions: a published version and its criteria never change."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from partnerships.models import Pillar
from partnerships.models.base import BilingualNameModel

from ..choices import CriterionSource, VersionStatus
from ..errors import ImmutableError


class Rubric(BilingualNameModel):
    """A rubric for one pillar (e.g. ``scenario-default``); its content lives in its versions."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    urn = models.CharField(_("URN"), max_length=200, unique=True)
    pillar = models.ForeignKey(
        Pillar, on_delete=models.PROTECT, to_field="key", related_name="rubrics", verbose_name=_("pillar")
    )
    is_default = models.BooleanField(
        _("default for its pillar"),
        default=True,
        help_text=_("Initiatives of the pillar are scored with it."),
    )
    description_zh_hans = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)

    class Meta:
        verbose_name = _("rubric")
        verbose_name_plural = _("rubrics")
        ordering = ["pillar__position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["pillar"], condition=models.Q(is_default=True), name="rubric_one_default_per_pillar"
            ),
        ]


class RubricVersion(models.Model):
    """Version ``number`` of a rubric: draft → published → retired. Holds the method's parameters."""

    rubric = models.ForeignKey(
        Rubric, on_delete=models.PROTECT, related_name="versions", verbose_name=_("rubric")
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    tier_a = models.DecimalField(_("tier A from"), max_digits=5, decimal_places=1, default=75)
    tier_b = models.DecimalField(_("tier B from"), max_digits=5, decimal_places=1, default=60)
    tier_c = models.DecimalField(_("tier C from"), max_digits=5, decimal_places=1, default=45)
    confidence_threshold = models.DecimalField(
        _("confidence threshold"), max_digits=4, decimal_places=3, default=0.7
    )
    notes = models.TextField(_("change notes"), blank=True)
    source_checksum = models.CharField(_("source checksum"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        verbose_name = _("rubric version")
        verbose_name_plural = _("rubric versions")
        ordering = ["rubric__code", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["rubric", "number"], name="rubric_version_unique_number"),
            models.UniqueConstraint(
                fields=["rubric"], condition=models.Q(status="published"), name="rubric_one_published_version"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=VersionStatus.values), name="rubric_version_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    tier_a__gte=models.F("tier_b"),
                    tier_b__gte=models.F("tier_c"),
                    tier_c__gte=0,
                    tier_a__lte=100,
                ),
                name="rubric_version_tiers_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(confidence_threshold__gte=0, confidence_threshold__lte=1),
                name="rubric_version_confidence_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(published_at__isnull=False),
                name="rubric_version_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        # Translated as a whole: Chinese puts the status in full-width parentheses.
        return _("%(rubric)s v%(number)s (%(status)s)") % {
            "rubric": self.rubric,
            "number": self.number,
            "status": self.get_status_display(),
        }

    def save(self, *args, **kwargs):
        if self.pk is not None:
            stored = (
                RubricVersion.objects.filter(pk=self.pk)
                .values("status", "tier_a", "tier_b", "tier_c", "confidence_threshold", "rubric_id", "number")
                .first()
            )
            if stored and stored["status"] != VersionStatus.DRAFT:
                changed = [
                    k
                    for k in ("tier_a", "tier_b", "tier_c", "confidence_threshold", "rubric_id", "number")
                    if stored[k] != getattr(self, k)
                ]
                retiring = (
                    stored["status"] == VersionStatus.PUBLISHED and self.status == VersionStatus.RETIRED
                )
                if changed or not (retiring or stored["status"] == self.status):
                    raise ImmutableError(
                        _(
                            "Version %(number)s of %(rubric)s is %(status)s and cannot change; clone it to a new draft."
                        )
                        % {"number": self.number, "rubric": self.rubric, "status": self.get_status_display()}
                    )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_locked:
            raise ImmutableError(_("A published or retired rubric version cannot be deleted."))
        return super().delete(*args, **kwargs)

    @property
    def is_locked(self) -> bool:
        return self.status != VersionStatus.DRAFT


class Criterion(BilingualNameModel):
    """One criterion of a version: weight, scale with anchored levels, optional gate, rated or computed."""

    version = models.ForeignKey(
        RubricVersion, on_delete=models.CASCADE, related_name="criteria", verbose_name=_("rubric version")
    )
    key = models.SlugField(_("key"), max_length=64)
    description_zh_hans = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    weight = models.DecimalField(_("weight"), max_digits=8, decimal_places=3)
    scale_min = models.SmallIntegerField(_("scale minimum"), default=0)
    scale_max = models.SmallIntegerField(_("scale maximum"), default=4)
    levels = models.JSONField(
        _("level descriptions"),
        default=list,
        blank=True,
        help_text=_('One entry per level: {"value": 0, "zh-hans": "…", "en": "…"}.'),
    )
    is_gate = models.BooleanField(_("gate"), default=False)
    gate_threshold = models.DecimalField(
        _("gate threshold"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    source = models.CharField(
        _("source"), max_length=12, choices=CriterionSource.choices, default=CriterionSource.RATED
    )
    computed_from = models.CharField(_("computed from"), max_length=40, blank=True)
    capped_by = models.CharField(
        _("capped by"),
        max_length=40,
        blank=True,
        help_text=_("A rated criterion whose rating facts can cap (rubric version 2: compliance_caps)."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        ordering = ["version_id", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="criterion_unique_key_per_version"),
            models.CheckConstraint(condition=models.Q(weight__gt=0), name="criterion_weight_positive"),
            models.CheckConstraint(
                condition=models.Q(scale_max__gt=models.F("scale_min")), name="criterion_scale_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(is_gate=False)
                | models.Q(
                    gate_threshold__gte=models.F("scale_min"), gate_threshold__lte=models.F("scale_max")
                ),
                name="criterion_gate_threshold_in_scale",
            ),
            models.CheckConstraint(
                condition=(models.Q(source="rated") & models.Q(computed_from=""))
                | (models.Q(source="computed") & ~models.Q(computed_from="")),
                name="criterion_computed_has_source",
            ),
        ]

    def clean(self) -> None:
        from ..sources import SOURCES

        errors: dict[str, list] = {}
        if self.source == CriterionSource.COMPUTED and self.computed_from not in SOURCES:
            errors["computed_from"] = [_("Choose one of: %(names)s.") % {"names": ", ".join(SOURCES)}]
        if self.source == CriterionSource.RATED and self.computed_from:
            errors["computed_from"] = [_("Only computed criteria name a data source.")]
        if self.is_gate and self.gate_threshold is None:
            errors["gate_threshold"] = [_("A gate needs a threshold.")]
        if errors:
            raise ValidationError(errors)

    def _refuse_if_locked(self) -> None:
        version = RubricVersion.objects.filter(pk=self.version_id).values_list("status", flat=True).first()
        if version is not None and version != VersionStatus.DRAFT:
            raise ImmutableError(_("The criteria of a published or retired rubric version cannot change."))

    def save(self, *args, **kwargs):
        self._refuse_if_locked()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_locked()
        return super().delete(*args, **kwargs)

    def level_text(self, value: int) -> str:
        from django.utils.translation import get_language

        lang = "en" if (get_language() or "").startswith("en") else "zh-hans"
        for level in self.levels or []:
            if level.get("value") == value:
                return level.get(lang) or level.get("zh-hans") or ""
        return ""
