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


# --- reading evidence: only through the checked download views -------------------------------------------------
@pytest.fixture
def stored(two_banks, client_for, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    banks, users = two_banks
    initiative = InitiativeFactory(bank=banks["A"])
    client_for(users[("A", "analyst")]).post(
        reverse("admin:partnerships_evidence_add"),
        {
            "initiative": initiative.pk,
            "kind": "file",
            "url": "",
            "note": "合同",
            "file": SimpleUploadedFile("合同.pdf", PDF),
        },
    )
    return Evidence.objects.get(), banks, users


@pytest.mark.django_db
def test_stored_names_carry_a_random_part_and_the_original_name_is_kept(stored):
    evidence, _banks, _users = stored
    stored_name = evidence.file.name.rsplit("/", 1)[-1]
    random_part, _sep, original = stored_name.partition("-")
    assert len(random_part) == 24 and int(random_part, 16) >= 0
    assert original == "合同.pdf" and evidence.filename == "合同.pdf"


@pytest.mark.django_db
def test_admin_download_streams_the_file_to_members_only(stored, client_for, client):
    evidence, _banks, users = stored
    url = reverse("admin:partnerships_evidence_download", args=[evidence.pk])
    for role in ("viewer", "analyst", "manager"):
        response = client_for(users[("A", role)]).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "filename*=utf-8''%E5%90%88%E5%90%8C.pdf" in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        client.logout()
    assert client_for(users[("B", "manager")]).get(url).status_code == 404  # another bank: not found
    client.logout()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


@pytest.mark.django_db
def test_api_download_streams_the_file_to_members_only(stored):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    evidence, _banks, users = stored
    path = f"/api/v1/evidence/{evidence.pk}/download/"
    anonymous = APIClient().get(path)
    assert anonymous.status_code == 401

    def as_user(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client

    response = as_user(users[("A", "viewer")]).get(path)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;")
    listed = as_user(users[("A", "viewer")]).get("/api/v1/evidence/").json()["results"]
    assert listed[0]["download"].endswith(path) and listed[0]["filename"] == "合同.pdf"
    assert as_user(users[("B", "analyst")]).get(path).status_code == 404


@pytest.mark.django_db
def test_no_url_serves_the_media_folder(stored, client_for):
    evidence, _banks, users = stored
    client = client_for(users[("A", "analyst")])
    assert client.get(f"/media/{evidence.file.name}").status_code == 404
    # The admin's pages link the checked download, never the stored file's path.
    page = client.get(reverse("admin:partnerships_evidence_change", args=[evidence.pk])).content.decode()
    assert reverse("admin:partnerships_evidence_download", args=[evidence.pk]) in page
    assert evidence.file.name not in page
