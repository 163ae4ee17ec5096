"""A bank's data round trip (issue 19, item 5): export → import into a second PostgreSQL database → export again.

The source is the demo seed (``seed_demo``) plus what it lacks — a stored evidence file, a due-diligence record, a
bank's own limit with breaches, finished score jobs (one asked for by an analyst, under a named rubric version) and
two weekly reports, the second comparing with the first — built in the test database inside a transaction that is
rolled back once the archive is written. The target is a real second PostgreSQL database, dropped and created empty
for this module, migrated and loaded with the reference data by the commands an operator runs (``migrate``,
``seed_demo --no-demo``); the import and the second export run there as subprocesses with ``DATABASE_URL`` pointing
at it (``TEST_ARCHIVE_TARGET_DB`` names it; default: the test database's name with ``_archive_target``).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone, translation
from psycopg import sql

from partnerships.models import KPI, Bank, Initiative, LimitBreach, LimitRule
from partnerships.services.archive import (
    MANIFEST,
    REFERENCE,
    USERS_MEMBER,
    ArchivePart,
    archive_parts,
    registry_problems,
)
from partnerships.services.evidence import evidence_create
from partnerships.services.partners import due_diligence_create
from scoring.models import RubricVersion, ScoreJob
from scoring.reports.services import last_complete_week_start, report_generate
from scoring.services.jobs import score_job_create, score_job_request, score_job_run
from tests import archive_probe
from tests.processes import test_database_url as database_url

# django_db: pytest-django sets up the test database only for modules that ask for it, and the module fixtures
# below use it outside any test.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CODE = "demo-city-bank"
EVIDENCE_TEXT = "试点验收报告：获客成本下降 18%，不良率持平。\n".encode()


# --- The source: the demo seed and what it lacks, rolled back once exported -----------------------------------
@dataclass
class Source:
    archive: Path
    data: bytes
    again: bytes
    scores: dict[str, list]
    as_of: str
    reference: dict
    manifest: dict
    details: dict


def _build_source(work: Path) -> Source:
    call_command("seed_demo", "--quiet")
    bank = Bank.objects.get(code=CODE)
    analyst = get_user_model().objects.get(username="demo_analyst")
    initiative = Initiative.objects.for_bank(bank.pk).order_by("code").first()
    evidence_create(
        user=analyst,
        initiative=initiative,
        data={
            "kind": "file",
            "file": SimpleUploadedFile("试点验收报告.txt", EVIDENCE_TEXT),
            "note": "验收报告",
        },
    )
    due_diligence_create(
        user=analyst,
        data={
            "bank": bank.pk,
            "partner": "tencent",
            "answers": {"是否有重大诉讼": "否", "数据安全认证": True, "近三年营收增速（%）": 9.4},
            "inherent_risk_tier": "medium",
            "performed_on": datetime.date(2024, 6, 1),
            "next_due": datetime.date(2025, 6, 1),
        },
    )
    # A bank's own limit (carried) with a breach, and a breach of a regulatory limit (reference data, by key).
    own = LimitRule.objects.create(
        bank=bank,
        key="internal-partner-capital",
        version=1,
        kind="partner_capital_share",
        threshold_percent=15,
        name_zh_hans="单一合作方出资占比内部限额",
        name_en="Internal cap on one partner's share of capital",
        source_zh_hans="本行风险偏好陈述（演示）",
        source_en="The bank's risk appetite statement (illustrative)",
        valid_from=datetime.date(2024, 1, 1),
    )
    regulatory = LimitRule.objects.get(pk=archive_probe.add_regulatory_limit())
    LimitBreach.objects.create(
        bank=bank,
        rule=own,
        subject="腾讯",
        period_end=datetime.date(2024, 9, 30),
        value_percent="17.2500",
        threshold_percent="15.0000",
        detail={"balance": "1725.00", "capital": "10000.00"},
        notified_at=timezone.now(),
    )
    LimitBreach.objects.create(
        bank=bank,
        rule=regulatory,
        subject="",
        period_end=datetime.date(2024, 6, 30),
        value_percent="51.0000",
        threshold_percent="50.0000",
        resolved_at=timezone.now(),
    )
    # Finished score jobs: every initiative of the bank, then one asked for by the analyst under a named version.
    ids = list(Initiative.objects.for_bank(bank.pk).order_by("pk").values_list("pk", flat=True))
    job = score_job_create(bank_id=bank.pk, initiative_ids=ids)
    score_job_run(job.pk)
    version = RubricVersion.objects.get(rubric__pillar_id=initiative.pillar_id, status="published")
    score_job_run(score_job_request(user=analyst, initiative_ids=[initiative.pk], rubric_version=version).pk)
    assert ScoreJob.objects.filter(bank=bank, status="succeeded").count() == 2
    # Two weekly reports; the second's movers compare with the first.
    week = last_complete_week_start()
    first = report_generate(bank_id=bank.pk, period_start=week - datetime.timedelta(days=7), deliver=False)
    second = report_generate(bank_id=bank.pk, period_start=week, deliver=False)
    assert second.payload["movers"]["previous_report"]["id"] == first.pk

    archive, again = work / "source.zip", work / "source-again.zip"
    call_command("export_bank", CODE, "--output", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    call_command("export_bank", CODE, "--output", str(again), stdout=io.StringIO(), stderr=io.StringIO())
    with zipfile.ZipFile(archive) as z:
        reference = json.loads(z.read(REFERENCE))
        manifest = json.loads(z.read(MANIFEST))
    return Source(
        archive=archive,
        data=archive.read_bytes(),
        again=again.read_bytes(),
        scores=archive_probe.stored_scores(CODE),
        as_of=timezone.localdate(job.created_at).isoformat(),
        reference=reference,
        manifest=manifest,
        details=archive_probe.details(CODE),
    )


@pytest.fixture(scope="module")
def source(django_db_setup, django_db_blocker, tmp_path_factory) -> Source:
    work = tmp_path_factory.mktemp("archive-source")
    settings = {"MEDIA_ROOT": str(work / "media"), "SCORECARD_DEMO_PASSWORD": "archive-test-password"}
    with django_db_blocker.unblock(), override_settings(**settings), transaction.atomic():
        test_name = (connection.settings_dict.get("TEST") or {}).get("NAME")
        assert (
            connection.settings_dict["NAME"].startswith("test_")
            or connection.settings_dict["NAME"] == test_name
        )
        built = _build_source(work)
        transaction.set_rollback(True)  # the test database is left as it was; the archive stays
    return built


# --- The target: a second PostgreSQL database with the reference data only --------------------------------------
class Target:
    def __init__(self, name: str, work: Path):
        self.name = name
        self.work = work
        self.media = work / "media"
        base = database_url().rsplit("/", 1)[0]
        self.env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}  # its broker: files under var
        self.env.update(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DATABASE_URL=f"{base}/{name}",
            DJANGO_MEDIA_ROOT=str(self.media),
            SCORECARD_VAR_DIR=str(work / "var"),
            SCORECARD_DEMO_PASSWORD="archive-target-password-not-a-secret",
            PYTHONUNBUFFERED="1",
        )

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    def probe(self, name: str, **arguments):
        code = "import django; django.setup(); from tests.archive_probe import main; main()"
        done = subprocess.run(
            [sys.executable, "-c", code, name, json.dumps(arguments)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith(archive_probe.RESULT)]
        assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
        return json.loads(lines[-1][len(archive_probe.RESULT) :])


def _server():
    db = connection.settings_dict
    return psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


@pytest.fixture(scope="module")
def target(django_db_setup, tmp_path_factory) -> Target:
    name = os.environ.get("TEST_ARCHIVE_TARGET_DB") or f"{connection.settings_dict['NAME']}_archive_target"
    with _server() as server:
        server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = Target(name, tmp_path_factory.mktemp("archive-target"))
    for args in (("migrate", "--verbosity", "0"), ("seed_demo", "--no-demo", "--quiet")):
        done = target.manage(*args)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # The regulatory limit the source's breach names: reference data, present here as there.
    target.probe("add_regulatory_limit")
    yield target
    with _server() as server:
        server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass
class Imported:
    stdout: str
    exported: bytes
    details: dict


@pytest.fixture(scope="module")
def imported(source: Source, target: Target) -> Imported:
    """The source's archive imported into the target, then exported there again (before anything else writes)."""
    done = target.manage("import_bank", str(source.archive))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = target.work / "target.zip"
    done_export = target.manage("export_bank", CODE, "--output", str(out))
    assert done_export.returncode == 0, done_export.stdout[-3000:] + done_export.stderr[-3000:]
    return Imported(done.stdout, out.read_bytes(), target.probe("details", code=CODE))


def _consistent_copy(data: bytes, path: Path, change) -> Path:
    """A copy with ``change`` applied and the manifest's sizes and checksums made to match: not damaged, only other."""
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w") as copy:
        manifest = json.loads(source.read(MANIFEST))
        for entry in manifest["members"]:
            body = change(entry["name"], source.read(entry["name"]))
            entry["sha256"], entry["bytes"] = hashlib.sha256(body).hexdigest(), len(body)
            copy.writestr(source.getinfo(entry["name"]), body)
        copy.writestr(source.getinfo(MANIFEST), json.dumps(manifest).encode())
    return path


def _rewrite(data: bytes, path: Path, change) -> Path:
    """A copy of the archive with ``change(name, bytes) -> bytes`` applied to its members (headers kept)."""
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w") as copy:
        for info in source.infolist():
            copy.writestr(info, change(info.filename, source.read(info.filename)))
    return path


# --- Completeness: no bank-scoped model is forgotten ---------------------------------------------------------------
def bank_scoped_models() -> set:
    """Every model with a ``TENANT_BANK_PATH``, and every model that refers to one of them (transitively)."""
    scoped = {m for m in apps.get_models(include_auto_created=True) if hasattr(m, "TENANT_BANK_PATH")}
    grown = True
    while grown:
        grown = False
        for model in apps.get_models(include_auto_created=True):
            if model in scoped:
                continue
            if any(
                f.is_relation and f.concrete and f.related_model in scoped for f in model._meta.get_fields()
            ):
                scoped.add(model)
                grown = True
    return scoped


def forgotten(parts: ArchivePart) -> list[str]:
    carried = {spec.label for spec in parts.specs}
    m2m = {
        f.remote_field.through._meta.label
        for spec in parts.specs
        for f in spec.model._meta.many_to_many
        if f.name in spec.m2m
    }
    missing = []
    for model in bank_scoped_models():
        label = model._meta.label
        if label in carried or label in parts.not_carried or label in m2m:
            continue
        if hasattr(model, "instance_type") and "simple_history" in parts.not_carried:
            continue  # simple-history's records: not carried, said once for all of them
        missing.append(label)
    return sorted(missing)


def test_every_bank_scoped_model_is_carried_or_left_out_with_a_reason():
    parts = archive_parts()
    assert registry_problems() == []
    assert forgotten(parts) == [], (
        "bank-scoped models the archive neither carries nor lists in not_carried with a reason; add them to an "
        "ArchivePart (partnerships.services.archive, scoring.services.archive)"
    )
    labels = {m._meta.label for m in apps.get_models(include_auto_created=True)}
    named = [k for k in parts.not_carried if re.fullmatch(r"\w+\.\w+", k)]
    assert [k for k in named if k not in labels] == []  # no reason left behind for a model that is gone
    assert not {s.label for s in parts.specs} & set(parts.not_carried)
    assert all(len(reason) > 20 for reason in parts.not_carried.values())
    # The checks find what nobody carries: a model dropped from the registry, a field its service would not write.
    parts.specs = [s for s in parts.specs if s.label != "partnerships.Evidence"]
    assert forgotten(parts) == ["partnerships.Evidence"]
    parts.specs = [
        dataclasses.replace(s, service_fields=("name",)) if s.model is KPI else s for s in parts.specs
    ]
    assert any("partnerships.KPI: its creation service does not write" in p for p in registry_problems(parts))


# --- The archive itself --------------------------------------------------------------------------------------------
def test_the_archive_is_deterministic_and_self_describing(source: Source):
    assert source.data == source.again  # two exports of the same data: the same bytes
    with zipfile.ZipFile(io.BytesIO(source.data)) as z:
        infos = z.infolist()
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {(i.external_attr >> 16, i.create_system, i.compress_type) for i in infos} == {
            (0o100644, 3, 8)
        }
        names = [i.filename for i in infos]
        assert names[0] == USERS_MEMBER and names[-1] == MANIFEST
        manifest = json.loads(z.read(MANIFEST))
        assert [m["name"] for m in manifest["members"]] == names[:-1]
        for member in manifest["members"]:
            body = z.read(member["name"])
            assert hashlib.sha256(body).hexdigest() == member["sha256"] and len(body) == member["bytes"]
            if member["name"].startswith("data/"):
                assert body.count(b"\n") == member["rows"] == manifest["counts"][member["model"]]
        evidence = [json.loads(line) for line in z.read("data/partnerships.evidence.jsonl").splitlines()]
        stored = [e["file"] for e in evidence if e["file"]]
        assert len(stored) == 1 and z.read(stored[0]["member"]) == EVIDENCE_TEXT
        assert stored[0]["member"].startswith("files/partnerships.evidence/")
        assert re.fullmatch(r"[0-9a-f]{24}-\S+\.txt", stored[0]["name"])
    assert set(manifest) == {
        "format", "format_version", "source", "history", "users", "not_carried", "counts", "members",
    }  # fmt: skip
    assert manifest["format_version"] == 1 and manifest["source"]["bank"] == CODE
    assert "not carried" in manifest["history"] and "inactive" in manifest["users"]
    assert "scoring.ScoreJobChunk" in manifest["not_carried"]
    # No time of the export anywhere (only the data's own times, which are all before it).
    today = timezone.now().strftime("%Y-%m-%dT%H:%M")
    assert today not in json.dumps(manifest)
    counts = manifest["counts"]
    assert (
        counts["partnerships.Initiative"] >= 10
        and counts["scoring.Score"] >= counts["partnerships.Initiative"]
    )
    for label in (
        "partnerships.PartnerExposure", "partnerships.BankPeriodFigures", "partnerships.LimitRule",
        "partnerships.LimitBreach", "partnerships.PartnerDueDiligence", "scoring.Report", "scoring.ScoreJob",
        "scoring.ChecklistAnswer", "scoring.Rating", "partnerships.KPIObservation",
    ):  # fmt: skip
        assert counts[label] > 0, label
    kinds = source.reference["kinds"]
    assert {
        "pillar",
        "scenario_type",
        "partner",
        "rubric_version",
        "criterion",
        "checklist_item",
        "limit_rule",
    } <= set(kinds)
    assert all(len(v["fingerprint"]["source_checksum"]) == 64 for v in kinds["rubric_version"])
    assert [k["key"] for k in kinds["limit_rule"]] == [["archive-test-regulatory", 1]]


# --- Refusals: each names the problem and writes nothing -----------------------------------------------------------
def _assert_refused(result: dict, *fragments: str) -> None:
    assert result["error"], "the import was not refused"
    for fragment in fragments:
        assert fragment in result["error"], result["error"]
    assert result["after"] == result["before"]


def test_a_damaged_archive_is_refused_and_nothing_written(source: Source, target: Target):
    member = "data/scoring.score.jsonl"
    damaged = _rewrite(
        source.data,
        target.work / "damaged.zip",
        lambda name, body: body.replace(b'"tier":"', b'"tier":"A', 1) if name == member else body,
    )
    done = target.manage("import_bank", str(damaged))
    assert done.returncode != 0  # the command speaks the installation's language, Chinese by default
    assert "damaged.zip 已损坏" in done.stderr and member in done.stderr and "校验和不符" in done.stderr
    result = target.probe("import_attempt", path=str(damaged))
    _assert_refused(result, "damaged.zip is damaged", member, "does not match the manifest's checksum")

    truncated = target.work / "truncated.zip"
    truncated.write_bytes(source.data[: len(source.data) // 2])
    _assert_refused(target.probe("import_attempt", path=str(truncated)), "truncated.zip", "zip")


def test_an_unknown_format_version_is_refused(source: Source, target: Target):
    def future(name, body):
        if name != MANIFEST:
            return body
        manifest = json.loads(body)
        manifest["format_version"] = 99
        return json.dumps(manifest).encode()

    path = _rewrite(source.data, target.work / "future.zip", future)
    _assert_refused(target.probe("import_attempt", path=str(path)), "format version 99")


def test_a_missing_partner_is_refused_by_name(source: Source, target: Target):
    partner = source.reference["kinds"]["partner"][0]["key"]
    result = target.probe("import_attempt", path=str(source.archive), change={"partner": partner})
    _assert_refused(result, "missing here", f"“{partner}”")


def test_a_different_rubric_checksum_is_refused(source: Source, target: Target):
    rubric, number = source.reference["kinds"]["rubric_version"][0]["key"]
    result = target.probe("import_attempt", path=str(source.archive), change={"rubric": [rubric, number]})
    _assert_refused(result, "differs", rubric, "source_checksum")


def test_a_dry_run_checks_everything_and_writes_nothing(source: Source, target: Target):
    """Under another bank code (so it does not matter whether the import has run), with one of a partner's figures
    changed here: the dry run passes, warns that a re-score may differ, and writes nothing."""
    path = _consistent_copy(
        source.data,
        target.work / "copy.zip",
        lambda name, body: (
            body.replace(f'"code":"{CODE}"'.encode(), b'"code":"demo-copy-bank"')
            if name == "data/partnerships.bank.jsonl"
            else body
        ),
    )
    partner = source.reference["kinds"]["partner"][0]["key"]
    change = {"partner_figures": partner}
    result = target.probe("import_attempt", path=str(path), args=["--dry-run"], change=change)
    assert result["error"] is None and result["after"] == result["before"]
    assert "The archive of bank demo-copy-bank can be imported here; nothing was written." in result["stdout"]
    users = "demo_analyst, demo_manager, demo_viewer"
    assert f"without a usable password: {users}" in result["stdout"] or f"linked: {users}" in result["stdout"]
    assert f"Warning: partner “{partner}” (figures: archive" in result["stderr"]
    assert "a re-score here may differ" in result["stderr"]


def test_export_refuses_an_unknown_bank_and_a_lost_file(tmp_path, settings):
    from django.core.management import CommandError

    from tests.factories import BankFactory, InitiativeFactory

    with pytest.raises(CommandError, match="no-such-bank"):
        call_command("export_bank", "no-such-bank", "--output", str(tmp_path / "x.zip"))
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("loaddata", "taxonomy", verbosity=0)
    initiative = InitiativeFactory(bank=BankFactory(code="lost-file-bank"), pillar_id="scenario")
    evidence = evidence_create(
        user=None,
        initiative=initiative,
        data={"kind": "file", "file": SimpleUploadedFile("note.txt", b"text"), "note": ""},
    )
    evidence.file.storage.delete(evidence.file.name)
    with (
        translation.override("en"),
        pytest.raises(CommandError, match=r"cannot be read.*restore it from the backup"),
    ):
        call_command("export_bank", "lost-file-bank", "--output", str(tmp_path / "lost.zip"))
    assert not (tmp_path / "lost.zip").exists() and not list(tmp_path.glob(".lost.zip.*"))


# --- The round trip ------------------------------------------------------------------------------------------------
def test_export_import_export_gives_the_same_bytes(source: Source, imported: Imported):
    assert imported.exported == source.data
    assert f"银行 {CODE} 已导入" in imported.stdout
    assert (
        "已创建用户（停用且无可用密码" in imported.stdout
        and "demo_analyst, demo_manager, demo_viewer" in imported.stdout
    )


def test_stored_scores_are_equal_and_a_rescore_here_agrees(
    source: Source, target: Target, imported: Imported
):
    assert target.probe("stored_scores", code=CODE) == source.scores  # every value, times and hashes included
    latest = {code: rows[-1] for code, rows in source.scores.items()}
    wanted = {code: row["rubric"] for code, row in latest.items()}
    rescored = target.probe("rescore", code=CODE, wanted=wanted, as_of=source.as_of)
    assert set(rescored) == set(latest) and len(rescored) >= 10
    for code, row in latest.items():
        expected = {k: row[k] for k in rescored[code]}
        assert rescored[code] == expected, code  # total, tier, gates, confidence and the whole breakdown


def test_people_files_reports_and_history_are_kept(source: Source, target: Target, imported: Imported):
    details = imported.details
    assert details["users"] and all(
        u == {"active": False, "usable_password": False, "superuser": False}
        for u in details["users"].values()
    )
    assert set(details["users"]) == {"demo_viewer", "demo_analyst", "demo_manager"}
    (stored,) = details["files"]
    assert bytes.fromhex(stored["bytes"]) == EVIDENCE_TEXT
    prefix = f"evidence/{details['bank_id']}/{stored['initiative_id']}/"
    assert stored["name"].startswith(prefix)  # the storage's layout for the new rows, the stored name kept
    first, second = details["reports"]
    assert {first["scope_bank_id"], second["scope_bank_id"]} == {details["bank_id"]}
    assert second["previous_id"] == first["id"]
    # The payloads' initiative ids are this installation's: they name the same initiatives as in the source.
    for here, there in zip(details["reports"], source.details["reports"], strict=True):
        assert here["totals_codes"] == there["totals_codes"] and "?" not in here["totals_codes"]
        assert here["ranked"] == there["ranked"] and all(
            by_id == by_code for by_id, by_code in here["ranked"]
        )
    assert len(second["totals_codes"]) >= 10
    assert details["history_reasons"] == ["imported from an archive"]


def test_an_existing_bank_code_is_refused_and_nothing_written(
    target: Target, imported: Imported, source: Source
):
    done = target.manage("import_bank", str(source.archive))
    assert done.returncode != 0
    assert f"本系统已有代码为“{CODE}”的银行" in done.stderr
    result = target.probe("import_attempt", path=str(source.archive))
    _assert_refused(result, f"A bank with the code “{CODE}” already exists here")
