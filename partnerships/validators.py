"""Validators for uploaded evidence: a size cap and an allow-list of types, checked by name and content."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

# Magic numbers of the allowed binary types; a renamed executable is refused even with a good extension.
_SIGNATURES = {
    "pdf": [b"%PDF"],
    "png": [b"\x89PNG"],
    "jpg": [b"\xff\xd8\xff"],
    "jpeg": [b"\xff\xd8\xff"],
    "xlsx": [b"PK\x03\x04"],
    "docx": [b"PK\x03\x04"],
    "pptx": [b"PK\x03\x04"],
}


def validate_evidence_file(file) -> None:
    max_bytes = settings.EVIDENCE_MAX_BYTES
    if file.size is not None and file.size > max_bytes:
        raise ValidationError(
            _("The file is %(size)s; the limit is %(limit)s."),
            code="file_too_large",
            params={"size": filesizeformat(file.size), "limit": filesizeformat(max_bytes)},
        )
    FileExtensionValidator(allowed_extensions=settings.EVIDENCE_EXTENSIONS)(file)
    ext = file.name.rsplit(".", 1)[-1].lower()
    signatures = _SIGNATURES.get(ext)
    if signatures:
        pos = file.tell() if hasattr(file, "tell") else 0
        file.seek(0)
        head = file.read(8)
        file.seek(pos)
        if not any(head.startswith(sig) for sig in signatures):
            raise ValidationError(
                _("The file's content is not a valid .%(ext)s file."),
                code="file_type_mismatch",
                params={"ext": ext},
            )
    elif ext in {"csv", "txt"}:
        pos = file.tell() if hasattr(file, "tell") else 0
        file.seek(0)
        head = file.read(4096)
        file.seek(pos)
        if b"\x00" in head:
            raise ValidationError(_("A text file must not contain binary data."), code="file_type_mismatch")
