"""The API contract (issue 16): a client generated from the live schema drives the journeys, and every request and
response of the run is validated against that schema.

A real server (pytest-django's ``live_server``) and a real Celery worker subprocess on the test database and a
private Redis. The test fetches ``/api/v1/schema/?format=json`` in Chinese and in English (the schema must not
depend on the language), generates a Python client from it with openapi-python-client (which must print no
warning), imports every generated module, then signs in, records an initiative with its KPI, observation and
evidence, has an assessment rated, submitted and approved (four eyes), asks for a score and polls it, previews a
what-if, lists reports and downloads one — only through the generated client. A recording httpx transport keeps
every exchange; openapi-core then checks each request and response against the schema, and the test fails with
the list of every one that does not match.

docs/api.md's worked example makes the same calls, and the test runs it as written there.
"""

from __future__ import annotations

import datetime
import importlib
import io
import json
import os
import pkgutil
import subprocess
import sys
import time
import traceback
import uuid
from pathlib import Path

import httpx
import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from jsonschema.validators import extend
from openapi_core import Config, OpenAPI
from openapi_core.casting.schemas import oas31_schema_casters_factory
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.deserializers import MediaTypeDeserializer
from openapi_core.deserializing.media_types.factories import MediaTypeDeserializersFactory
from openapi_core.exceptions import OpenAPIError
from openapi_core.validation.schemas.factories import SchemaValidatorsFactory
from openapi_schema_validator import OAS31Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from partnerships.services.seed import seed_reference_data
from partnerships.signon.services.second_factor import totp_code_for
from scoring.choices import JobStatus
from scoring.reports.services import report_generate
from scoring.services.rubrics import rubrics_load
from tests.factories import BankFactory, MembershipFactory, UserFactory
from tests.processes import BIN, ROOT, wait_for
from tests.scoring.conftest import private_broker, workers  # noqa: F401  (fixtures for this module)

pytestmark = [pytest.mark.services, pytest.mark.slow]

PACKAGE = "scorecard_client"  # the generated package's name (docs/api.md uses the same)
PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory's
POLL_TIMEOUT = 60.0
# The generator's configuration, as docs/api.md gives it to integrators. Its post-hooks (ruff) only format the code.
# openapi-python-client reads every text/* answer as str (response.text), even one the schema marks as binary, and
# then fails to wrap it as a File; a report's CSV is bytes (UTF-8 with a BOM), so it is read as a binary download.
GENERATOR_CONFIG = """\
post_hooks: []
content_type_overrides:
  text/csv: application/octet-stream
"""


# --- openapi-core, strict, with two gaps of its version 0.23.1 filled ----------------------------------------------
def _binary_aware_type(validator, types, instance, schema):
    """JSON Schema's ``type``, except that bytes match ``type: string, format: binary``: openapi-core 0.23.1 hands a
    file (a download, a multipart file part) over as bytes, which its OAS 3.1 validator then refuses as "not of
    type 'string'" (python-openapi/openapi-core#854; openapi-schema-validator's own OAS 3.0 validator makes this
    same exception)."""
    if isinstance(instance, bytes) and schema.get("format") == "binary":
        return
    yield from OAS31Validator.VALIDATORS["type"](validator, types, instance, schema)


BinaryAwareOAS31Validator = extend(OAS31Validator, {"type": _binary_aware_type})


class MultipartCastingDeserializer(MediaTypeDeserializer):
    """openapi-core 0.23.1 casts a urlencoded body's fields to their schema's types but leaves a multipart body's
    text parts as strings ("1" for an integer field); this casts them the same way."""

    def decode_property_content_type(self, prop_name, prop_schema, location, prop_encoding=None):
        value = super().decode_property_content_type(prop_name, prop_schema, location, prop_encoding)
        if isinstance(value, str) and self.schema_caster is not None:
            return self.schema_caster.evolve(prop_schema).cast(value)
        return value


class MultipartCastingFactory(MediaTypeDeserializersFactory):
    def create(self, *args, **kwargs) -> MediaTypeDeserializer:
        deserializer = super().create(*args, **kwargs)
        deserializer.__class__ = MultipartCastingDeserializer  # the same object, with the method above
        return deserializer


def strict_openapi(schema: dict) -> OpenAPI:
    """The schema as openapi-core's validator (this also checks the document is valid OpenAPI). Strict: a property
    the schema does not declare is an error, as if every object said ``additionalProperties: false``."""
    return OpenAPI.from_dict(
        schema,
        config=Config(
            additional_properties_default_policy="forbid",
            schema_validators_factory=SchemaValidatorsFactory(BinaryAwareOAS31Validator),
            media_type_deserializers_factory=MultipartCastingFactory.from_schema_casters_factory(
                oas31_schema_casters_factory
            ),
        ),
    )


# --- Recording every exchange, and checking it with openapi-core ------------------------------------------------
class RecordingTransport(httpx.HTTPTransport):
    """An httpx transport that keeps each request (its body read) with its response (read)."""

    def __init__(self, exchanges: list, **kwargs):
        super().__init__(**kwargs)
        self.exchanges = exchanges

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        response = super().handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response


class OpenAPIRequest:
    """An httpx request as openapi-core's Request protocol (openapi_core.protocols.Request)."""

    def __init__(self, request: httpx.Request):
        url = request.url
        self.host_url = f"{url.scheme}://{url.netloc.decode()}"
        self.path = url.path
        self.method = request.method.lower()
        self.body = request.content or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(url.params.multi_items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )


class OpenAPIResponse:
    """An httpx response as openapi-core's Response protocol."""

    def __init__(self, response: httpx.Response):
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(list(response.headers.items()))
        self.data = response.content


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _reasons(exc: BaseException) -> str:
    """An openapi-core error with its causes and the JSON-schema errors beneath them, each where it is."""
    parts, seen = [], exc
    while seen is not None:
        errors = getattr(seen, "schema_errors", None)
        if errors:
            for error in errors:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                parts.append(f"at {where}: {_short(error.message)}")
        else:
            parts.append(_short(f"{type(seen).__name__}: {seen}"))
        seen = seen.__cause__
    return "\n  ".join(dict.fromkeys(parts))


def contract_violations(spec: OpenAPI, exchanges: list) -> list[str]:
    """Every request or response of the run that the schema does not describe, one readable entry each."""
    problems = []
    for request, response in exchanges:
        name = f"{request.method} {request.url.path}"
        if request.url.query:
            name += f"?{request.url.query.decode()}"
        name += f" → {response.status_code}"
        wrapped = OpenAPIRequest(request)
        for step, check in (
            ("request", lambda w=wrapped: spec.validate_request(w)),
            ("response", lambda w=wrapped, r=response: spec.validate_response(w, OpenAPIResponse(r))),
        ):
            try:
                check()
            except OpenAPIError as exc:
                problems.append(f"{name} [{step}]\n  {_reasons(exc)}")
            except Exception as exc:  # openapi-core itself broke on the document: show where
                where = "".join(traceback.format_exception(exc)[-4:])
                problems.append(f"{name} [{step}]\n  openapi-core failed: {where}")
    return problems


# --- The schema and its generated client ---------------------------------------------------------------------------
def fetch_schema(base_url: str, language: str) -> dict:
    response = httpx.get(
        f"{base_url}/api/v1/schema/", params={"format": "json"}, headers={"Accept-Language": language}
    )
    assert response.status_code == 200, response.text[:2000]
    return response.json()


def generate_client(schema_path: Path, workdir: Path) -> Path:
    """openapi-python-client's package from the schema; fails on any warning it prints, showing them."""
    config = workdir / "generator.yaml"
    config.write_text(GENERATOR_CONFIG)
    output = workdir / PACKAGE
    done = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(schema_path),
            "--output-path",
            str(output),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    printed = f"{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, f"openapi-python-client failed ({done.returncode}):\n{printed}"
    assert "warning" not in printed.lower(), f"openapi-python-client warned about the schema:\n{printed}"
    return output


def import_every_module(package_dir: Path) -> list[str]:
    """Import each module of the generated package; the modules that failed, with the error, and every
    generated name that is not plain ASCII (a Chinese title turned into a class name)."""
    sys.path.insert(0, str(package_dir.parent))
    importlib.invalidate_caches()
    package = importlib.import_module(PACKAGE)
    failures, count = [], 0
    for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        count += 1
        if not info.name.isascii():
            failures.append(f"{info.name}: a module name that is not ASCII")
        try:
            module = importlib.import_module(info.name)
        except Exception as exc:
            failures.append(f"{info.name}: {type(exc).__name__}: {exc}")
            continue
        for attribute in vars(module):
            if not attribute.isascii():
                failures.append(f"{info.name}.{attribute}: a name that is not ASCII")
    assert count > 50, f"only {count} generated modules"
    return failures


@pytest.fixture
def generated_client_path(tmp_path):
    """Where the generated package goes; it leaves sys.path and sys.modules as it found them."""
    yield tmp_path
    sys.path[:] = [p for p in sys.path if p != str(tmp_path)]
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


# --- Set-up the API has no door for ------------------------------------------------------------------------------
def _rubrics_published_and_settled() -> None:
    """Publish the default rubrics and wait for their (empty) re-score jobs, so they don't race the test."""
    for job in rubrics_load(versions={1}).jobs:
        if job is None:
            continue

        def finished(job=job):
            job.refresh_from_db()
            return job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

        wait_for(finished, 60, message=f"rubric publish job {job.pk}")


@pytest.fixture
def media(settings, tmp_path):
    """Evidence files under the test's own folder (the live server runs in this process)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_the_generated_client_drives_the_api_within_its_schema(
    live_server,
    workers,  # noqa: F811
    generated_client_path,
    media,
):
    workers()
    seed_reference_data()
    _rubrics_published_and_settled()
    bank = BankFactory(code="contract-bank", name_zh_hans="契约银行", name_en="Contract Bank")
    analyst = UserFactory(username="contract_analyst")
    manager = UserFactory(username="contract_manager")
    MembershipFactory(user=analyst, bank=bank, role="analyst")
    MembershipFactory(user=manager, bank=bank, role="manager")
    # Managers signing in with a local password give their authenticator's code (docs/sign-on.md).
    device = TOTPDevice.objects.create(user=manager, name="authenticator", confirmed=True)
    # A ready weekly report of the bank to list and download (reports are built by beat, not by the API).
    report = report_generate(bank_id=bank.pk, period_start=datetime.date(2024, 11, 4), deliver=False)

    # --- The schema: one document whatever the language; a client generated from it without a warning ----------
    schema = fetch_schema(live_server.url, "zh-hans")
    assert schema == fetch_schema(live_server.url, "en"), (
        "the schema differs between Accept-Language zh-hans and en: it must be language-independent"
    )
    schema_path = generated_client_path / "schema.json"
    schema_path.write_text(json.dumps(schema, ensure_ascii=False))
    spec = strict_openapi(schema)
    package_dir = generate_client(schema_path, generated_client_path)
    import_failures = import_every_module(package_dir)
    assert not import_failures, "generated modules that do not import cleanly:\n" + "\n".join(import_failures)

    # --- The journeys, then every exchange of the run against the schema ---------------------------------------
    exchanges: list = []
    try:
        drive_journeys(live_server.url, exchanges, bank_id=bank.pk, otp_device=device, report_id=report.pk)
    finally:
        # Shown even when a journey step failed first: the exchanges up to it are checked too.
        problems = contract_violations(spec, exchanges)
        print(f"{len(exchanges)} exchanges, {len(problems)} not matching the schema", *problems, sep="\n\n")
    assert len(exchanges) >= 25, [f"{q.method} {q.url}" for q, _ in exchanges]
    run_the_worked_example(live_server.url, bank_id=bank.pk)
    assert not problems, f"{len(problems)} of {len(exchanges)} exchanges do not match the schema:\n\n" + (
        "\n\n".join(problems)
    )


def run_the_worked_example(url: str, *, bank_id: int) -> None:
    """docs/api.md's Python session, as written there, against this server: the documented calls must work."""
    code = (ROOT / "docs" / "api.md").read_text().split("```python\n", 1)[1].split("\n```", 1)[0]
    for documented, here in (
        ('BASE = "http://127.0.0.1:8000"', f"BASE = {url!r}"),
        ('username="demo_analyst", password="…"', f'username="contract_analyst", password="{PASSWORD}"'),
        ("bank=1,", f"bank={bank_id},"),
    ):
        assert documented in code, f"docs/api.md's example no longer has {documented!r}"
        code = code.replace(documented, here)
    exec(compile(code, "docs/api.md", "exec"), {"__name__": "docs_api_example"})


def drive_journeys(url: str, exchanges: list, *, bank_id: int, otp_device, report_id: int) -> None:
    """The integrator's journeys with the generated client only (docs/api.md's worked example makes these calls)."""
    from scorecard_client import AuthenticatedClient, Client
    from scorecard_client.api.assessments import (
        assessments_approve_create,
        assessments_create,
        assessments_ratings_update,
        assessments_submit_create,
    )
    from scorecard_client.api.auth import auth_token_create, auth_token_destroy
    from scorecard_client.api.evidence import evidence_download_retrieve, evidence_upload_create
    from scorecard_client.api.initiatives import (
        initiatives_create,
        initiatives_list,
        initiatives_retrieve,
        initiatives_score_create,
        initiatives_scores_list,
    )
    from scorecard_client.api.kpi_observations import kpi_observations_create
    from scorecard_client.api.kpis import kpis_create
    from scorecard_client.api.reports import reports_download_retrieve, reports_list
    from scorecard_client.api.rubric_versions import rubric_versions_list
    from scorecard_client.api.score_jobs import score_jobs_create, score_jobs_retrieve
    from scorecard_client.api.scoring import scoring_preview_create
    from scorecard_client.models import (
        AssessmentCreateRequest,
        CostDriverEnum,
        EvidenceUploadRequest,
        InitiativePartnerRequest,
        InitiativesListOrderingItem,
        InitiativesListPagination,
        KPIObservationRecordRequest,
        KPIRequest,
        LawfulBasisEnum,
        PartnerRoleEnum,
        PersonalDataCategoryEnum,
        PillarKeyEnum,
        PreviewRequestRequest,
        PreviewRequestRequestRatingsType0Item,
        RatingsWriteRequest,
        RatingsWriteRequestRatingsType0Item,
        ReportsDownloadRetrieveFormat,
        ScoredInitiativeRequest,
        ScoreJobCreateRequest,
        ScoreRequestRequest,
        TokenRequestRequest,
    )
    from scorecard_client.types import File

    english = {"Accept-Language": "en"}

    def recording() -> dict:
        return {"transport": RecordingTransport(exchanges)}

    def sign_in(username: str, otp_token: str | None = None) -> AuthenticatedClient:
        anonymous = Client(base_url=url, headers=english, httpx_args=recording())
        body = TokenRequestRequest(username=username, password=PASSWORD)
        if otp_token:
            body.otp_token = otp_token
        signed_in = auth_token_create.sync_detailed(client=anonymous, body=body)
        assert signed_in.status_code == 200, signed_in.content
        return AuthenticatedClient(
            base_url=url,
            token=signed_in.parsed.token,
            prefix="Token",
            headers=english,
            httpx_args=recording(),
        )

    def wait_for_job(client: AuthenticatedClient, job_id):
        deadline = time.monotonic() + POLL_TIMEOUT
        while True:
            job = score_jobs_retrieve.sync_detailed(id=job_id, client=client)
            assert job.status_code == 200, job.content
            if job.parsed.status.value in ("succeeded", "failed"):
                return job.parsed
            assert time.monotonic() < deadline, (
                f"job {job_id} still {job.parsed.status} after {POLL_TIMEOUT} s"
            )
            time.sleep(0.25)

    api = sign_in("contract_analyst")

    # --- Record an initiative with Tencent as lead partner, safely retried with an Idempotency-Key ---------------
    initiative = ScoredInitiativeRequest(
        bank=bank_id,
        code="CT-01",
        title="腾讯联合数据共享消费金融平台",
        pillar=PillarKeyEnum.DATA_SHARING,
        partners=[InitiativePartnerRequest(partner="tencent", role=PartnerRoleEnum.LEAD)],
        personal_data_categories=[PersonalDataCategoryEnum.IDENTITY, PersonalDataCategoryEnum.TRANSACTION],
        lawful_basis=LawfulBasisEnum.SEPARATE_CONSENT,
        security_assessment_done=True,
        cross_border_transfer=False,
    )
    key = str(uuid.uuid4())
    created = initiatives_create.sync_detailed(client=api, body=initiative, idempotency_key=key)
    assert created.status_code == 201, created.content
    initiative_id = created.parsed.id
    assert created.headers["Location"].endswith(f"/api/v1/initiatives/{initiative_id}/")
    # The retry (say the answer was lost) gets the first answer again and records nothing new.
    retried = initiatives_create.sync_detailed(client=api, body=initiative, idempotency_key=key)
    assert retried.status_code == 201 and retried.parsed.id == initiative_id, retried.content
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.headers["Location"] == created.headers["Location"]
    # The same key with another body is refused (422) in the one error shape.
    initiative.code = "CT-02"
    reused = initiatives_create.sync_detailed(client=api, body=initiative, idempotency_key=key)
    assert reused.status_code == 422 and reused.parsed.error.code == "idempotency_key_reused", reused.content
    # Bad input: 400 naming the field.
    initiative.partners = [InitiativePartnerRequest(partner="no-such-partner", role=PartnerRoleEnum.LEAD)]
    refused = initiatives_create.sync_detailed(client=api, body=initiative)
    assert refused.status_code == 400 and refused.parsed.error.fields, refused.content

    # --- Lists: numbered pages (with a count) and a cursor (without) ------------------------------------------
    paged = initiatives_list.sync_detailed(
        client=api, page=1, page_size=10, ordering=[InitiativesListOrderingItem.TITLE]
    )
    assert paged.status_code == 200 and paged.parsed.count == 1, paged.content
    by_cursor = initiatives_list.sync_detailed(
        client=api, pagination=InitiativesListPagination.CURSOR, page_size=1
    )
    assert by_cursor.status_code == 200, by_cursor.content
    assert [i.id for i in by_cursor.parsed.results] == [initiative_id] and not by_cursor.parsed.next_

    # --- A KPI with an observation, and a file of evidence ---------------------------------------------------------
    kpi = kpis_create.sync_detailed(
        client=api,
        body=KPIRequest(
            initiative=initiative_id,
            name="获客成本下降",
            cost_driver=CostDriverEnum.ACQUISITION,
            unit="%",
            baseline=0.0,
            target=20.0,
        ),
    )
    assert kpi.status_code == 201, kpi.content
    observation = kpi_observations_create.sync_detailed(
        client=api,
        body=KPIObservationRecordRequest(
            kpi=kpi.parsed.id, observed_on=datetime.date(2024, 10, 31), value=12.5
        ),
    )
    assert observation.status_code == 201, observation.content
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"
    uploaded = evidence_upload_create.sync_detailed(
        client=api,
        body=EvidenceUploadRequest(
            initiative=initiative_id,
            file=File(payload=io.BytesIO(pdf), file_name="试点验收报告.pdf", mime_type="application/pdf"),
            note="试点验收报告",
        ),
    )
    assert uploaded.status_code == 201, uploaded.content
    downloaded = evidence_download_retrieve.sync_detailed(id=uploaded.parsed.id, client=api)
    assert downloaded.status_code == 200 and downloaded.content == pdf, downloaded.content[:200]

    # --- Ask for a score: 202 with the job, polled until it has finished ----------------------------------------
    score_key = str(uuid.uuid4())
    asked = initiatives_score_create.sync_detailed(
        id=initiative_id, client=api, body=ScoreRequestRequest(), idempotency_key=score_key
    )
    assert asked.status_code == 202, asked.content
    again = initiatives_score_create.sync_detailed(
        id=initiative_id, client=api, body=ScoreRequestRequest(), idempotency_key=score_key
    )
    assert again.status_code == 202 and again.parsed.id == asked.parsed.id, "a retry asks for no second job"
    job = wait_for_job(api, asked.parsed.id)
    assert job.status.value == "succeeded" and job.scores_created == 1, job.to_dict()
    # The same through score-jobs/: nothing changed, so no new score.
    batch = score_jobs_create.sync_detailed(
        client=api, body=ScoreJobCreateRequest(initiatives=[initiative_id]), idempotency_key=str(uuid.uuid4())
    )
    assert batch.status_code == 202, batch.content
    job = wait_for_job(api, batch.parsed.id)
    assert job.status.value == "succeeded" and job.scores_created == 0, job.to_dict()

    # --- An assessment: created, rated, submitted by the analyst; approved by a manager (four eyes) -------------
    versions = rubric_versions_list.sync_detailed(client=api, page_size=200)
    assert versions.status_code == 200, versions.content
    (version,) = [
        v for v in versions.parsed.results if v.pillar == "data_sharing" and v.status.value == "published"
    ]
    rated = [c.key for c in version.criteria if c.source.value == "rated"]
    assessment = assessments_create.sync_detailed(
        client=api, body=AssessmentCreateRequest(initiative=initiative_id, note="契约测试")
    )
    assert assessment.status_code == 201, assessment.content
    assessment_id = assessment.parsed.id
    ratings = assessments_ratings_update.sync_detailed(
        id=assessment_id,
        client=api,
        body=RatingsWriteRequest(
            ratings=[RatingsWriteRequestRatingsType0Item(criterion=key, value=3.0) for key in rated]
        ),
    )
    assert ratings.status_code == 200, ratings.content
    submitted = assessments_submit_create.sync_detailed(id=assessment_id, client=api)
    assert submitted.status_code == 200 and submitted.parsed.status.value == "submitted", submitted.content
    refused = assessments_approve_create.sync_detailed(id=assessment_id, client=api)
    assert refused.status_code == 403, refused.content  # the analyst is no manager, and is the author

    boss = sign_in("contract_manager", otp_token=totp_code_for(otp_device))
    approved = assessments_approve_create.sync_detailed(id=assessment_id, client=boss)
    assert approved.status_code == 200, approved.content
    assert approved.parsed.assessment.status.value == "approved"
    job = wait_for_job(boss, approved.parsed.score_job.id)
    assert job.status.value == "succeeded" and job.scores_created == 1, job.to_dict()

    # --- The initiative's score history and its current score ---------------------------------------------------
    history = initiatives_scores_list.sync_detailed(id=initiative_id, client=api)
    assert history.status_code == 200 and history.parsed.count == 2, history.content
    latest = history.parsed.results[0]
    assert latest.assessment == assessment_id and latest.gate_passed is True
    detail = initiatives_retrieve.sync_detailed(id=initiative_id, client=api)
    assert detail.status_code == 200, detail.content
    assert detail.parsed.current_score.total == latest.total

    # --- A what-if: the score with other ratings, nothing saved -------------------------------------------------
    preview = scoring_preview_create.sync_detailed(
        client=api,
        body=PreviewRequestRequest(
            initiative=initiative_id,
            ratings=[PreviewRequestRequestRatingsType0Item(criterion=key, value=4.0) for key in rated],
        ),
    )
    assert preview.status_code == 200, preview.content

    # --- Reports: the bank's ready report, listed and downloaded as CSV and XLSX --------------------------------
    reports = reports_list.sync_detailed(client=boss)
    assert reports.status_code == 200, reports.content
    assert [r.id for r in reports.parsed.results] == [report_id]
    for fmt, starts in (("csv", "\ufeff".encode()), ("xlsx", b"PK")):
        download = reports_download_retrieve.sync_detailed(
            id=report_id, client=boss, format_=ReportsDownloadRetrieveFormat(fmt)
        )
        assert download.status_code == 200, download.content[:500]
        assert download.parsed.payload.read().startswith(starts), download.content[:100]

    # --- An error is in the schema too: an initiative that is not yours answers 404 in the one error shape ------
    missing = initiatives_retrieve.sync_detailed(id=initiative_id + 10_000, client=api)
    assert missing.status_code == 404 and missing.parsed.error.code, missing.content

    # --- Signing out: the token is revoked, and a request with it is 401 ----------------------------------------
    signed_out = auth_token_destroy.sync_detailed(client=boss)
    assert signed_out.status_code == 204, signed_out.content
    revoked = reports_list.sync_detailed(client=boss)
    assert revoked.status_code == 401 and revoked.parsed.error.code, revoked.content
