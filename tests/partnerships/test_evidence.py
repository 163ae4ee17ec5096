"""Evidence uploads are limited in size and type, checked by extension and by content."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from partnerships.models import Evidence
from partnerships.validators import validate_evidence_file
from tests.factories import InitiativeFactory

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"


def test_a_small_pdf_passes():
    validate_evidence_file(SimpleUploadedFile("合同.pdf", PDF))


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("malware.exe", b"MZ\x90\x00", "invalid_extension"),
        ("report.pdf", b"MZ\x90\x00 not a pdf", "file_type_mismatch"),
        ("notes.txt", b"text\x00\x01binary", "file_type_mismatch"),
    ],
)
def test_wrong_types_are_refused(name, content, code):
    with pytest.raises(ValidationError) as info:
        validate_evidence_file(SimpleUploadedFile(name, content))
    assert info.value.error_list[0].code == code


@override_settings(EVIDENCE_MAX_BYTES=1024)
def test_files_over_the_limit_are_refused():
    with pytest.raises(ValidationError) as info:
        validate_evidence_file(SimpleUploadedFile("big.pdf", PDF + b"0" * 2048))
    assert info.value.error_list[0].code == "file_too_large"


@pytest.mark.django_db
@override_settings(EVIDENCE_MAX_BYTES=1024)
def test_admin_upload_over_the_limit_is_a_form_error_and_writes_nothing(
    two_banks, client_for, tmp_path, settings
):
    settings.MEDIA_ROOT = str(tmp_path)
    banks, users = two_banks
    initiative = InitiativeFactory(bank=banks["A"])
    client = client_for(users[("A", "analyst")])
    response = client.post(
        reverse("admin:partnerships_evidence_add"),
        {
            "initiative": initiative.pk,
            "kind": "file",
            "url": "",
            "note": "大文件",
            "file": SimpleUploadedFile("big.pdf", PDF + b"0" * 4096),
        },
    )
    assert response.status_code == 200
    assert "file" in response.context["adminform"].form.errors
    assert not Evidence.objects.exists()
    ok = client.post(
        reverse("admin:partnerships_evidence_add"),
        {
            "initiative": initiative.pk,
            "kind": "file",
            "url": "",
            "note": "合同",
            "file": SimpleUploadedFile("合同.pdf", PDF),
        },
    )
    assert ok.status_code == 302
    evidence = Evidence.objects.get()
    assert evidence.uploaded_by == users[("A", "analyst")] and evidence.file.name.endswith(".pdf")
