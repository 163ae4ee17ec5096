"""KPIs, KPI observations and evidence written through the API: the same services, rules and messages as the admin.

Analysts of the initiative's bank write, viewers are refused (403), another bank's objects are not found (404) and
ids pointing at them are refused like missing ones (400 on the field). Evidence files come in by multipart upload
only, are checked for size and type by the service (nothing stored on refusal) and are read back only through the
authenticated, tenant-checked download.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from partnerships.errors import ServiceError
from partnerships.models import KPI, Evidence, KPIObservation
from partnerships.services.evidence import evidence_create, evidence_validate
from partnerships.services.kpis import kpi_validate, observation_validate
from tests.api.conftest import API
from tests.factories import KPIFactory, KPIObservationFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"


def fields_of(response) -> dict[str, list[str]]:
    body = response.json()
    assert body["error"]["status"] == response.status_code, body
    return body["error"].get("fields", {})


def service_messages(check) -> dict[str, list[str]]:
    """What the service itself says for the same input (the admin shows these messages too)."""
    with pytest.raises(ServiceError) as info:
        check()
    return info.value.fields


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# --- KPIs ----------------------------------------------------------------------------------------------------
def test_an_analyst_records_changes_and_deletes_a_kpi(world, client_as):
    client = client_as(world.user("analyst"))
    a1 = world.initiatives["A"]
    response = client.post(
        f"{API}kpis/",
        {
            "initiative": a1.pk,
            "name": "获客成本",
            "cost_driver": "acquisition",
            "unit": "元",
            "baseline": "120.5",
            "target": "80",
            "baseline_date": "2024-01-01",
            "target_date": "2025-12-31",
            "weight": "2",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    kpi = KPI.objects.get(pk=body["id"])
    assert response["Location"].endswith(f"/api/v1/kpis/{kpi.pk}/")
    assert (kpi.initiative_id, kpi.name, kpi.baseline, kpi.weight) == (a1.pk, "获客成本", Decimal("120.5"), 2)
    assert body["initiative"] == a1.pk and body["observations"] == []

    response = client.patch(f"{API}kpis/{kpi.pk}/", {"target": "60"}, format="json")
    assert response.status_code == 200, response.content
    assert KPI.objects.get(pk=kpi.pk).target == 60

    response = client.put(
        f"{API}kpis/{kpi.pk}/",
        {"initiative": a1.pk, "name": "获客成本（新口径）", "baseline": "100", "target": "70"},
        format="json",
    )
    assert response.status_code == 200, response.content
    kpi.refresh_from_db()
    assert (kpi.name, kpi.baseline, kpi.target, kpi.unit) == ("获客成本（新口径）", 100, 70, "元")

    KPIObservationFactory(kpi=kpi)
    assert client.delete(f"{API}kpis/{kpi.pk}/").status_code == 204
    assert not KPI.objects.filter(pk=kpi.pk).exists()
    assert not KPIObservation.objects.filter(kpi_id=kpi.pk).exists()


def test_a_viewer_is_refused_every_kpi_write(world, client_as):
    kpi = KPIFactory(initiative=world.initiatives["A"], name="原名")
    client = client_as(world.user("viewer"))
    refusals = [
        client.post(
            f"{API}kpis/",
            {"initiative": kpi.initiative_id, "name": "新", "baseline": "1", "target": "2"},
            format="json",
        ),
        client.patch(f"{API}kpis/{kpi.pk}/", {"name": "改"}, format="json"),
        client.delete(f"{API}kpis/{kpi.pk}/"),
    ]
    assert [r.status_code for r in refusals] == [403, 403, 403]
    assert list(KPI.objects.values_list("name", flat=True)) == ["原名"]
    assert client.get(f"{API}kpis/{kpi.pk}/").status_code == 200


def test_another_banks_kpi_is_not_found_and_its_initiative_is_refused_like_a_missing_one(world, client_as):
    foreign = KPIFactory(initiative=world.initiatives["B"], name="乙行指标")
    client = client_as(world.user("analyst"))
    assert client.get(f"{API}kpis/{foreign.pk}/").status_code == 404
    assert client.patch(f"{API}kpis/{foreign.pk}/", {"name": "改"}, format="json").status_code == 404
    assert client.delete(f"{API}kpis/{foreign.pk}/").status_code == 404
    answers = []
    for initiative_id in (world.initiatives["B"].pk, 10**9):
        response = client.post(
            f"{API}kpis/",
            {"initiative": initiative_id, "name": "越界", "baseline": "1", "target": "2"},
            format="json",
        )
        assert response.status_code == 400
        answers.append(fields_of(response))
    assert answers[0] == answers[1] == {"initiative": ["Choose an initiative of one of your banks."]}
    assert KPI.objects.get().name == "乙行指标"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "taken"}, "name"),
        ({"weight": "0"}, "weight"),
        ({"baseline_date": "2025-06-30", "target_date": "2025-01-01"}, "target_date"),
        ({"target": "100"}, "target"),  # the baseline is 100
    ],
    ids=["duplicate name", "zero weight", "target date before baseline date", "target equals baseline"],
)
def test_bad_kpi_input_answers_the_services_messages(world, client_as, change, field):
    a1 = world.initiatives["A"]
    KPIFactory(initiative=a1, name="taken")
    data = {"initiative": a1.pk, "name": "新指标", "baseline": "100", "target": "150", **change}
    client = client_as(world.user("analyst"), language="zh-hans")
    response = client.post(f"{API}kpis/", data, format="json")
    assert response.status_code == 400, response.content
    fields = fields_of(response)
    assert field in fields
    with translation.override("zh-hans"):
        expected = service_messages(
            lambda: kpi_validate(user=world.user("analyst"), data={**data, "initiative": a1.pk})
        )
    assert fields[field] == expected[field]
    assert KPI.objects.count() == 1


def test_a_kpi_body_must_be_json(world, client_as):
    client = client_as(world.user("analyst"))
    response = client.post(
        f"{API}kpis/",
        {"initiative": world.initiatives["A"].pk, "name": "表单", "baseline": "1"},
        format="multipart",
    )
    assert response.status_code == 415
    assert not KPI.objects.exists()


# --- KPI observations ----------------------------------------------------------------------------------------
def test_observations_are_recorded_listed_changed_and_deleted(world, client_as):
    kpi = KPIFactory(initiative=world.initiatives["A"], name="月活")
    other_kpi = KPIFactory(initiative=world.initiatives["A"], name="留存")
    client = client_as(world.user("analyst"))
    created = []
    for day, value in (("2025-01-31", "110"), ("2025-02-28", "120"), ("2025-03-31", "135")):
        response = client.post(
            f"{API}kpi-observations/",
            {"kpi": kpi.pk, "observed_on": day, "value": value, "note": "月报"},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["initiative"] == kpi.initiative_id
        created.append(response.json()["id"])
    KPIObservationFactory(kpi=other_kpi, observed_on=datetime.date(2025, 2, 1))

    def listed(query: str) -> list[str]:
        response = client.get(f"{API}kpi-observations/{query}")
        assert response.status_code == 200, response.content
        return [row["observed_on"] for row in response.json()["results"]]

    assert listed(f"?kpi={kpi.pk}") == ["2025-03-31", "2025-02-28", "2025-01-31"]
    assert len(listed(f"?initiative={kpi.initiative_id}")) == 4
    assert listed(f"?kpi={kpi.pk}&observed_since=2025-02-01&observed_until=2025-02-28") == ["2025-02-28"]
    assert client.get(f"{API}kpi-observations/?observed_since=not-a-date").status_code == 400
    nested = client.get(f"{API}kpis/{kpi.pk}/").json()["observations"]
    assert [o["observed_on"] for o in nested] == ["2025-03-31", "2025-02-28", "2025-01-31"]

    first = created[0]
    assert client.get(f"{API}kpi-observations/{first}/").json()["value"] == 110
    response = client.patch(f"{API}kpi-observations/{first}/", {"value": "111.5"}, format="json")
    assert response.status_code == 200 and KPIObservation.objects.get(pk=first).value == Decimal("111.5")
    response = client.put(
        f"{API}kpi-observations/{first}/",
        {"kpi": kpi.pk, "observed_on": "2025-01-30", "value": "112", "note": ""},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert KPIObservation.objects.get(pk=first).observed_on == datetime.date(2025, 1, 30)
    assert client.delete(f"{API}kpi-observations/{first}/").status_code == 204
    assert not KPIObservation.objects.filter(pk=first).exists()


def test_observation_refusals(world, client_as):
    analyst = world.user("analyst")
    kpi = KPIFactory(initiative=world.initiatives["A"])
    other_kpi = KPIFactory(initiative=world.initiatives["A"])
    taken = KPIObservationFactory(kpi=kpi, observed_on=datetime.date(2025, 1, 31), value=1)
    moved = KPIObservationFactory(kpi=kpi, observed_on=datetime.date(2025, 2, 28), value=2)
    foreign = KPIObservationFactory(kpi=KPIFactory(initiative=world.initiatives["B"]))
    client = client_as(analyst)

    # One observation a date: the service's message, on the field.
    body = {"kpi": kpi.pk, "observed_on": "2025-01-31", "value": "9"}
    response = client.post(f"{API}kpi-observations/", body, format="json")
    assert response.status_code == 400
    assert fields_of(response) == service_messages(lambda: observation_validate(user=analyst, data=body))
    assert fields_of(response) == {"observed_on": ["This KPI already has an observation on this date."]}
    response = client.patch(
        f"{API}kpi-observations/{moved.pk}/", {"observed_on": "2025-01-31"}, format="json"
    )
    assert fields_of(response) == {"observed_on": ["This KPI already has an observation on this date."]}

    # An observation stays with its KPI.
    response = client.patch(f"{API}kpi-observations/{moved.pk}/", {"kpi": other_kpi.pk}, format="json")
    assert response.status_code == 400
    assert list(fields_of(response)) == ["kpi"]
    assert KPIObservation.objects.get(pk=moved.pk).kpi_id == kpi.pk

    # Another bank's KPI reads like a missing one; its observations are not found.
    for kpi_id in (foreign.kpi_id, 10**9):
        response = client.post(
            f"{API}kpi-observations/",
            {"kpi": kpi_id, "observed_on": "2025-05-01", "value": "1"},
            format="json",
        )
        assert fields_of(response) == {"kpi": ["Choose a KPI of one of your banks' initiatives."]}
    assert client.get(f"{API}kpi-observations/{foreign.pk}/").status_code == 404
    assert (
        client.patch(f"{API}kpi-observations/{foreign.pk}/", {"value": "5"}, format="json").status_code == 404
    )
    assert client.delete(f"{API}kpi-observations/{foreign.pk}/").status_code == 404
    assert foreign.pk not in {row["id"] for row in client.get(f"{API}kpi-observations/").json()["results"]}

    # A viewer reads and is refused every write.
    viewer = client_as(world.user("viewer"))
    assert viewer.get(f"{API}kpi-observations/{taken.pk}/").status_code == 200
    assert (
        viewer.patch(f"{API}kpi-observations/{taken.pk}/", {"value": "5"}, format="json").status_code == 403
    )
    assert viewer.delete(f"{API}kpi-observations/{taken.pk}/").status_code == 403
    response = viewer.post(
        f"{API}kpi-observations/", {"kpi": kpi.pk, "observed_on": "2025-06-30", "value": "1"}, format="json"
    )
    assert response.status_code == 403
    assert KPIObservation.objects.filter(kpi=kpi).count() == 2
    assert KPIObservation.objects.get(pk=taken.pk).value == 1


# --- Evidence ------------------------------------------------------------------------------------------------
def upload(client, initiative_id, name: str, content: bytes, note: str = "验收报告"):
    return client.post(
        f"{API}evidence/upload/",
        {"initiative": initiative_id, "note": note, "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def test_an_uploaded_file_is_stored_and_downloaded_by_its_bank_only(world, client_as, media):
    a1 = world.initiatives["A"]
    response = upload(client_as(world.user("analyst")), a1.pk, "试点验收报告.pdf", PDF)
    assert response.status_code == 201, response.content
    body = response.json()
    evidence = Evidence.objects.get(pk=body["id"])
    assert (body["kind"], body["filename"], body["note"], body["uploaded_by"]) == (
        "file",
        "试点验收报告.pdf",
        "验收报告",
        world.user("analyst").username,
    )
    assert body["download"].endswith(f"/api/v1/evidence/{evidence.pk}/download/")
    assert len(stored_files(media)) == 1

    download = f"{API}evidence/{evidence.pk}/download/"
    response = client_as(world.user("viewer")).get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"]
    assert client_as(world.user("other")).get(download).status_code == 404
    response = client_as(None).get(download)
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("name", "content", "limit"),
    [
        ("big.pdf", PDF + b"0" * 4096, 1024),
        ("malware.exe", b"MZ\x90\x00", None),
        ("report.pdf", b"MZ\x90\x00 not a pdf", None),
        ("notes.txt", b"text\x00\x01binary", None),
    ],
    ids=["too large", "type not allowed", "content not the extension", "binary text"],
)
def test_a_refused_upload_says_what_the_service_says_and_stores_nothing(
    world, client_as, media, settings, name, content, limit
):
    if limit is not None:
        settings.EVIDENCE_MAX_BYTES = limit
    analyst = world.user("analyst")
    a1 = world.initiatives["A"]
    response = upload(client_as(analyst), a1.pk, name, content)
    assert response.status_code == 400, response.content
    fields = fields_of(response)
    expected = service_messages(
        lambda: evidence_validate(
            user=analyst,
            data={"initiative": a1.pk, "kind": "file", "file": SimpleUploadedFile(name, content)},
        )
    )
    assert fields == expected and list(fields) == ["file"]
    assert not Evidence.objects.exists()
    assert stored_files(media) == []


def test_an_upload_beyond_the_request_limit_is_413_and_stores_nothing(world, client_as, media, settings):
    settings.UPLOAD_MAX_BYTES = 2048
    response = upload(
        client_as(world.user("analyst")), world.initiatives["A"].pk, "big.pdf", PDF + b"0" * 4096
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert not Evidence.objects.exists() and stored_files(media) == []


def test_only_the_upload_takes_multipart(world, client_as, media):
    client = client_as(world.user("analyst"))
    a1 = world.initiatives["A"]
    as_json = client.post(f"{API}evidence/upload/", {"initiative": a1.pk, "note": "无文件"}, format="json")
    assert as_json.status_code == 415
    as_form = client.post(
        f"{API}evidence/",
        {"initiative": a1.pk, "file": SimpleUploadedFile("a.pdf", PDF)},
        format="multipart",
    )
    assert as_form.status_code == 415
    missing = client.post(f"{API}evidence/upload/", {"initiative": a1.pk}, format="multipart")
    assert missing.status_code == 400 and "file" in fields_of(missing)
    assert not Evidence.objects.exists() and stored_files(media) == []


def test_upload_refusals_by_role_and_bank(world, client_as, media):
    a1, b1 = world.initiatives["A"], world.initiatives["B"]
    assert upload(client_as(world.user("viewer")), a1.pk, "a.pdf", PDF).status_code == 403
    response = upload(client_as(world.user("analyst")), b1.pk, "a.pdf", PDF)
    assert fields_of(response) == {"initiative": ["Choose an initiative of one of your banks."]}
    assert client_as(None).post(f"{API}evidence/upload/", {}, format="multipart").status_code == 401
    assert not Evidence.objects.exists() and stored_files(media) == []


def test_a_link_is_recorded_changed_and_deleted_by_json(world, client_as):
    client = client_as(world.user("analyst"))
    a1 = world.initiatives["A"]
    response = client.post(
        f"{API}evidence/",
        {"initiative": a1.pk, "url": "https://example.com/report", "note": "公告"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["url"], body["download"]) == ("link", "https://example.com/report", None)
    pk = body["id"]

    response = client.patch(
        f"{API}evidence/{pk}/", {"note": "公告（更正）", "url": "https://example.com/v2"}, format="json"
    )
    assert response.status_code == 200, response.content
    evidence = Evidence.objects.get(pk=pk)
    assert (evidence.note, evidence.url) == ("公告（更正）", "https://example.com/v2")

    bad = {"initiative": a1.pk, "url": "not a link"}
    response = client.post(f"{API}evidence/", bad, format="json")
    assert response.status_code == 400
    assert fields_of(response) == service_messages(
        lambda: evidence_validate(user=world.user("analyst"), data={**bad, "kind": "link"})
    )
    assert client.put(f"{API}evidence/{pk}/", {"note": "整体"}, format="json").status_code == 405
    assert client.get(f"{API}evidence/{pk}/download/").status_code == 404  # a link has no file

    assert client_as(world.user("viewer")).delete(f"{API}evidence/{pk}/").status_code == 403
    assert client_as(world.user("other")).delete(f"{API}evidence/{pk}/").status_code == 404
    assert client.delete(f"{API}evidence/{pk}/").status_code == 204
    assert not Evidence.objects.exists()


def test_a_stored_file_is_not_replaced_and_is_deleted_with_its_record(
    world, client_as, media, django_capture_on_commit_callbacks
):
    analyst = world.user("analyst")
    evidence = evidence_create(
        user=analyst,
        initiative=world.initiatives["A"],
        data={"kind": "file", "file": SimpleUploadedFile("合同.pdf", PDF), "note": "合同"},
    )
    client = client_as(analyst)
    response = client.patch(f"{API}evidence/{evidence.pk}/", {"url": "https://example.com/x"}, format="json")
    assert response.status_code == 400 and "file" in fields_of(response)
    assert Evidence.objects.get(pk=evidence.pk).url == ""
    assert (
        client.patch(f"{API}evidence/{evidence.pk}/", {"note": "合同（签字版）"}, format="json").status_code
        == 200
    )
    assert len(stored_files(media)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{API}evidence/{evidence.pk}/").status_code == 204
    assert not Evidence.objects.exists() and stored_files(media) == []


def test_the_schema_types_the_bodies_multipart_only_for_the_upload(client):
    schema = client.get(f"{API}schema/?format=json", HTTP_ACCEPT_LANGUAGE="en").json()
    paths = schema["paths"]
    bodies = {
        (path, method): sorted(operation["requestBody"]["content"])
        for path, item in paths.items()
        if path.startswith(("/api/v1/kpi", "/api/v1/evidence"))
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    }
    assert bodies.pop(("/api/v1/evidence/upload/", "post")) == ["multipart/form-data"]
    assert set(bodies) >= {
        ("/api/v1/kpis/", "post"),
        ("/api/v1/kpis/{id}/", "put"),
        ("/api/v1/kpis/{id}/", "patch"),
        ("/api/v1/kpi-observations/", "post"),
        ("/api/v1/kpi-observations/{id}/", "patch"),
        ("/api/v1/evidence/", "post"),
        ("/api/v1/evidence/{id}/", "patch"),
    }
    assert all(types == ["application/json"] for types in bodies.values()), bodies
    assert "put" not in paths["/api/v1/evidence/{id}/"]
    upload = paths["/api/v1/evidence/upload/"]["post"]
    assert upload["summary"] and "multipart" in upload["responses"]["415"]["description"]
    names = {p["name"] for p in paths["/api/v1/kpi-observations/"]["get"]["parameters"]}
    assert {"kpi", "initiative", "observed_since", "observed_until", "ordering"} <= names


@pytest.mark.parametrize("note", [0, 1.5, ["月报"], {"text": "月报"}, True])
def test_a_string_field_takes_a_string_only(world, client_as, note):
    """The schema says ``note`` is a string: a number is refused as a list is, not stored as "0"
    (partnerships/api/strict.py; found by schemathesis's negative checks)."""
    kpi = KPIFactory(initiative=world.initiatives["A"])
    client = client_as(world.user("analyst"))
    body = {"kpi": kpi.pk, "observed_on": "2025-01-31", "value": "9", "note": note}
    response = client.post(f"{API}kpi-observations/", body, format="json")
    assert response.status_code == 400, response.content
    assert fields_of(response) == {"note": ["Not a valid string."]}
    assert not KPIObservation.objects.exists()
    body["note"] = "0"
    assert client.post(f"{API}kpi-observations/", body, format="json").status_code == 201
