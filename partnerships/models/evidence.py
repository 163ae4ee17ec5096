"""Evidence behind an initiative's ratings: an uploaded file or a link, with a note."""

import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..choices import EvidenceKind
from ..validators import validate_evidence_file
from .base import TenantManager
from .initiative import Initiative


def evidence_upload_to(instance: "Evidence", filename: str) -> str:
    """A stored name nobody can guess: a random part before the original name, which the download restores."""
    safe = get_valid_filename(Path(filename).name)[-120:] or "file"
    return f"evidence/{instance.initiative.bank_id}/{instance.initiative_id}/{secrets.token_hex(12)}-{safe}"


class Evidence(models.Model):
    TENANT_BANK_PATH = "initiative__bank"

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("initiative")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=EvidenceKind.choices, default=EvidenceKind.LINK)
    file = models.FileField(
        _("file"),
        upload_to=evidence_upload_to,
        blank=True,
        validators=[validate_evidence_file],
        max_length=300,
    )
    filename = models.CharField(
        _("file name"),
        max_length=255,
        blank=True,
        help_text=_("The uploaded file's own name, for downloads."),
    )
    url = models.URLField(_("link"), blank=True, max_length=500)
    note = models.CharField(_("note"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TenantManager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="file") & ~models.Q(file="") & models.Q(url=""))
                | (models.Q(kind="link") & ~models.Q(url="") & models.Q(file="")),
                name="evidence_file_xor_link",
            ),
        ]

    def __str__(self) -> str:
        return self.note or self.url or self.file.name

    def clean(self) -> None:
        if self.kind == EvidenceKind.FILE and (not self.file or self.url):
            raise ValidationError({"file": _("Upload a file (and leave the link empty) for file evidence.")})
        if self.kind == EvidenceKind.LINK and (not self.url or self.file):
            raise ValidationError({"url": _("Give a link (and no file) for link evidence.")})
