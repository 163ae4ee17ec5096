"""Streaming an evidence file to a signed-in user: the one response both the admin and the API send.

The file is read through ``partnerships.services.evidence.evidence_open`` (tenancy and role checked there) and
streamed in chunks with its content type, as an attachment under its original name, with headers that stop a
browser from sniffing or running it (an uploaded HTML or SVG renamed .txt is still only downloaded).
"""

from __future__ import annotations

from django.http import FileResponse

from .services.evidence import EvidenceFile


def evidence_response(found: EvidenceFile) -> FileResponse:
    response = FileResponse(
        found.open(), as_attachment=True, filename=found.filename, content_type=found.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
