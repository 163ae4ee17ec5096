"""Reads and writes tests/test_bank_archive.py does in a database, in the test process or in a subprocess.

In a subprocess (the second database): ``python -c "import django; django.setup(); from tests.archive_probe import
main; main()" NAME JSON`` runs ``NAME(**JSON)`` and prints ``RESULT <json>`` on one line.
"""

from __future__ import annotations

import datetime
import json
import sys
from io import StringIO
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import translation

RESULT = "RESULT "

# A regulatory limit (reference data) the test's source names in a breach: created alike in both databases.
REGULATORY_LIMIT = {
    "key": "archive-test-regulatory",
    "version": 1,
    "kind": "total_loans_share",
    "threshold_percent": 50,
    "name_zh_hans": "测试用监管限额",
    "name_en": "A regulatory limit for the archive test",
    "source_zh_hans": "测试",
    "source_en": "test",
    "valid_from": datetime.date(2021, 1, 1),
}


def add_regulatory_limit():
    from partnerships.models import LimitRule

    return LimitRule.objects.create(**REGULATORY_LIMIT).pk


def snapshot() -> dict:
    """Row counts of every auth, partnerships and scoring table (historical and m2m ones too), and stored files."""
    counts = {}
    for app in ("auth", "partnerships", "scoring"):
        for model in apps.get_app_config(app).get_models(include_auto_created=True):
            counts[model._meta.label] = model._default_manager.count()
    root = Path(settings.MEDIA_ROOT)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return {"counts": counts, "files": files}


def stored_scores(code: str) -> dict[str, list]:
    """Every stored score of the bank's initiatives, by initiative code, with every stored value."""
    from scoring.models import Score

    out: dict[str, list] = {}
    scores = (
        Score.objects.filter(initiative__bank__code=code)
        .select_related("initiative", "rubric_version__rubric")
        .order_by("initiative__code", "computed_at", "inputs_hash")
    )
    for s in scores:
        out.setdefault(s.initiative.code, []).append(
            {
                "rubric": [s.rubric_version.rubric.code, s.rubric_version.number],
                "total": str(s.total),
                "tier": s.tier,
                "gate_passed": s.gate_passed,
                "failed_gates": s.failed_gates,
                "confidence": str(s.confidence),
                "provisional": s.provisional,
                "breakdown": s.breakdown,
                "inputs_hash": s.inputs_hash,
                "computed_at": s.computed_at.isoformat(),
                "assessment_author": s.assessment.author.username if s.assessment_id else None,
                "job": str(s.job_id) if s.job_id else None,
            }
        )
    return out


def rescore(code: str, wanted: dict[str, list], as_of: str) -> dict[str, dict]:
    """Score each initiative (by code) again under the rubric version [rubric code, number] as of the date, through
    the service the workers call, and return what it computed."""
    from partnerships.models import Bank, Initiative
    from scoring.models import RubricVersion, Score
    from scoring.services.compute import score_initiatives

    bank = Bank.objects.get(code=code)
    out = {}
    for initiative_code, (rubric, number) in sorted(wanted.items()):
        initiative = Initiative.objects.get(bank=bank, code=initiative_code)
        version = RubricVersion.objects.get(rubric__code=rubric, number=number)
        outcome = score_initiatives(
            bank_id=bank.pk,
            initiative_ids=[initiative.pk],
            rubric_version_id=version.pk,
            as_of=datetime.date.fromisoformat(as_of),
        )
        assert outcome.failed == 0, outcome.errors
        score = Score.objects.get(pk=outcome.score_ids[0])
        out[initiative_code] = {
            "total": str(score.total),
            "tier": score.tier,
            "gate_passed": score.gate_passed,
            "failed_gates": score.failed_gates,
            "confidence": str(score.confidence),
            "provisional": score.provisional,
            "breakdown": score.breakdown,
        }
    return out


def details(code: str) -> dict:
    """What the import should have kept beyond the archive's bytes: people, files, report links, history."""
    from django.contrib.auth import get_user_model

    from partnerships.models import Bank, Evidence, Initiative
    from scoring.models import Report

    bank = Bank.objects.get(code=code)
    users = {
        u.username: {
            "active": u.is_active,
            "usable_password": u.has_usable_password(),
            "superuser": u.is_superuser,
        }
        for u in get_user_model().objects.filter(bank_memberships__bank=bank)
    }
    files = []
    for evidence in (
        Evidence.objects.filter(initiative__bank=bank).exclude(file="").select_related("initiative")
    ):
        with evidence.file.open("rb") as handle:
            files.append(
                {
                    "name": evidence.file.name,
                    "bytes": handle.read().hex(),
                    "initiative": evidence.initiative.code,
                    "initiative_id": evidence.initiative_id,
                }
            )
    ids = dict(Initiative.objects.filter(bank=bank).values_list("pk", "code"))
    reports = []
    for r in Report.objects.filter(bank=bank).order_by("period_start"):
        previous = (r.payload.get("movers") or {}).get("previous_report") or {}
        reports.append(
            {
                "id": r.pk,
                "period_start": r.period_start.isoformat(),
                "scope_bank_id": r.payload["scope"]["bank_id"],
                "totals_codes": sorted(ids.get(int(k), "?") for k in r.payload.get("totals", {})),
                "previous_id": previous.get("id"),
                # Each ranked row names its initiative by id and by code: the id must be this installation's.
                "ranked": [
                    [ids.get(item["initiative_id"], "?"), item["code"]]
                    for item in r.payload["ranking"]["top"]
                ],
            }
        )
    history = Initiative.history.model.objects.filter(bank_id=bank.pk)
    return {
        "bank_id": bank.pk,
        "users": users,
        "files": files,
        "reports": reports,
        "history_reasons": sorted({r or "" for r in history.values_list("history_change_reason", flat=True)}),
        "initiatives": len(ids),
    }


def import_attempt(
    path: str, args: list | None = None, change: dict | None = None, language: str = "en"
) -> dict:
    """Run ``import_bank PATH *ARGS`` as the command line does, in ``language``, after changing this installation's
    reference data (``change``: rename a partner, change one of its figures, alter a rubric version's checksum),
    all in a transaction rolled
    back at the end; return its output or error and the snapshots before and after it."""
    from partnerships.models import TechPartner
    from scoring.models import RubricVersion

    with transaction.atomic():
        if change and change.get("partner"):
            renamed = TechPartner.objects.filter(key=change["partner"]).update(
                key=change["partner"] + "-gone"
            )
            assert renamed == 1
        if change and change.get("partner_figures"):
            from partnerships.models import PartnerMetric

            metric = (
                PartnerMetric.objects.filter(partner__key=change["partner_figures"]).order_by("pk").first()
            )
            metric.value += 1
            metric.save(update_fields=["value"])
        if change and change.get("rubric"):
            rubric, number = change["rubric"]
            changed = RubricVersion.objects.filter(rubric__code=rubric, number=number).update(
                source_checksum="0" * 64
            )
            assert changed == 1
        before = snapshot()
        out, err, error = StringIO(), StringIO(), None
        try:
            with translation.override(language):
                call_command("import_bank", path, *(args or []), stdout=out, stderr=err)
        except CommandError as exc:
            error = str(exc)
        after = snapshot()
        transaction.set_rollback(True)  # a probe leaves the installation as it found it
    return {
        "error": error,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "before": before,
        "after": after,
    }


def main() -> None:
    name, arguments = sys.argv[1], json.loads(sys.argv[2])
    result = globals()[name](**arguments)
    print(RESULT + json.dumps(result, ensure_ascii=False, default=str), flush=True)
