"""Evidence behind an initiative: an uploaded file or a link. Recording, changing, deleting and opening it.

Files are stored under a random name (``evidence_upload_to``) and never served from MEDIA_ROOT: the only way to
read one is ``evidence_open``, which the admin's and the API's download views call after their own login, so the
bank's role rules hold for reading as for writing. Every function raises ``partnerships.errors.ServiceError``.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..choices import EvidenceKind
from ..errors import FieldErrors, Invalid, NotFound
from ..models import Evidence, Initiative
from ..tenancy import actor_has_bank_role, is_system, require_bank_role, user_is_member

WRITE_ROLE = "analyst"
FIELDS = ("kind", "file", "url", "note")


def _plan(
    user, evidence: Evidence, data: dict[str, Any], *, creating: bool, new_initiative: bool = False
) -> Evidence:
    errors = FieldErrors()
    unknown = sorted(set(data) - {*FIELDS, "initiative"})
    if unknown:
        errors.add("non_field_errors", _("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)})
    if new_initiative:
        pass  # recorded with an initiative not saved yet: the initiative's own checks cover its bank
    elif creating:
        pk = getattr(data.get("initiative"), "pk", data.get("initiative"))
        initiative = Initiative.objects.filter(pk=pk).first() if isinstance(pk, int) else None
        if initiative is None or not actor_has_bank_role(user, initiative.bank_id, min_role="viewer"):
            errors.add("initiative", _("Choose an initiative of one of your banks."))
        elif not actor_has_bank_role(user, initiative.bank_id, min_role=WRITE_ROLE):
            errors.add("initiative", _("You need the analyst role in this initiative's bank."))
        else:
            evidence.initiative = initiative
    elif "file" in data and data["file"] and evidence.file:
        errors.add("file", _("A file cannot be replaced; record new evidence instead."))
    for name in FIELDS:
        if name in data:
            value = data[name]
            setattr(evidence, name, "" if value is None else value)
    if data.get("file"):
        evidence.filename = PurePath(getattr(data["file"], "name", "") or "").name[:255]
    if not evidence.kind:
        evidence.kind = EvidenceKind.FILE if evidence.file else EvidenceKind.LINK
    if evidence.initiative_id or new_initiative:
        try:
            # The file's validators (size, type by name and content) and clean() (file xor link) run here.
            evidence.full_clean(exclude=["initiative", "uploaded_by"])
        except ValidationError as exc:
            errors.merge(Invalid.from_validation_error(exc))
    errors.raise_if_any()
    return evidence


def evidence_validate(
    *, user, data: dict[str, Any], evidence: Evidence | None = None, new_initiative: bool = False
) -> None:
    """Every check of evidence_create / evidence_update, writing nothing (``new_initiative``: see kpi_validate)."""
    if evidence is None or evidence.pk is None:
        _plan(user, Evidence(), dict(data), creating=True, new_initiative=new_initiative)
        return
    current = Evidence.objects.select_related("initiative").get(pk=evidence.pk)
    require_bank_role(user, current.initiative.bank_id, min_role=WRITE_ROLE)
    _plan(user, current, dict(data), creating=False)


def evidence_create(
    *, user, initiative: Initiative | int, data: dict[str, Any], uploaded_by=None
) -> Evidence:
    """Record a file (``file``: an uploaded file) or a link (``url``), with a note, as the user.

    Only the system (``user`` None: seeds, commands) records evidence on behalf of someone else
    (``uploaded_by``), and only of a member of the initiative's bank.
    """
    evidence = _plan(
        user, Evidence(), {**data, "initiative": getattr(initiative, "pk", initiative)}, creating=True
    )
    if uploaded_by is not None and not (
        is_system(user) and user_is_member(uploaded_by.pk, evidence.initiative.bank_id)
    ):
        raise Invalid(
            fields={"uploaded_by": [_("Evidence is recorded by a member of the initiative's bank.")]}
        )
    evidence.uploaded_by = uploaded_by if uploaded_by is not None else user
    with transaction.atomic():
        evidence.save()
    return evidence


def _locked(evidence) -> Evidence:
    return (
        Evidence.objects.select_for_update(of=("self",))
        .select_related("initiative")
        .get(pk=getattr(evidence, "pk", evidence))
    )


def evidence_update(*, user, evidence: Evidence | int, data: dict[str, Any]) -> Evidence:
    """Change the note (or a link's address); a stored file is never replaced in place."""
    with transaction.atomic():
        current = _locked(evidence)
        require_bank_role(user, current.initiative.bank_id, min_role=WRITE_ROLE)
        current = _plan(user, current, {k: v for k, v in data.items() if k != "initiative"}, creating=False)
        current.save()
        return current


def evidence_delete(*, user, evidence: Evidence | int) -> None:
    """Delete the record, and its stored file once the deletion has committed."""
    with transaction.atomic():
        current = _locked(evidence)
        require_bank_role(user, current.initiative.bank_id, min_role=WRITE_ROLE)
        stored = current.file.name if current.file else ""
        storage = current.file.storage if current.file else None
        current.delete()
        if stored and storage is not None:
            transaction.on_commit(lambda: storage.delete(stored), robust=True)


@dataclass
class EvidenceFile:
    evidence: Evidence
    filename: str
    content_type: str

    def open(self):
        return self.evidence.file.open("rb")


def evidence_open(*, user, evidence: Evidence | int) -> EvidenceFile:
    """A file to stream to a user who may read the initiative's bank (viewer role); another bank's is not found."""
    pk = getattr(evidence, "pk", evidence)
    current = Evidence.objects.select_related("initiative").filter(pk=pk).first()
    if current is None:
        raise NotFound(_("Not found."))
    require_bank_role(user, current.initiative.bank_id, min_role="viewer")
    if current.kind != EvidenceKind.FILE or not current.file:
        raise NotFound(_("This evidence is a link, not a file."))
    if not current.file.storage.exists(current.file.name):
        raise NotFound(_("The stored file is missing; ask an operator to restore it from the backup."))
    filename = current.filename or PurePath(current.file.name).name.split("-", 1)[-1]
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return EvidenceFile(current, filename, content_type)
