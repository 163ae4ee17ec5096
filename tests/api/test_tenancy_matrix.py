"""Every endpoint × every role, in one table: what bank A's objects answer to each kind of caller.

Roles: bank A's viewer, analyst and manager; "other" — bank B's manager, a full member of another bank; an
anonymous caller; a superuser. Another bank's object is a 404 (never a 403, which would confirm it exists); a
write pointing at it is a 400 naming the field. After each case, nothing of bank A changed unless the caller
was allowed to change it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerships.services.evidence import evidence_create
from partnerships.services.exposure import bank_figures_create, exposure_create
from partnerships.services.lifecycle import contract_create, monitoring_event_create, reassessment_policy_set
from partnerships.services.partners import due_diligence_create
from partnerships.services.webhooks import webhook_endpoint_create, webhook_event_emit
from scoring.reports.services import report_generate
from scoring.services.assessments import assessment_create, assessment_submit
from scoring.services.jobs import score_job_create
from tests.api.conftest import API, published_version, rate_all
from tests.factories import InitiativeFactory, KPIFactory, KPIObservationFactory

pytestmark = pytest.mark.django_db

ROLES = ("viewer", "analyst", "manager", "other", "anonymous", "superuser")


def expect(*, default=None, anonymous=401, **by_role) -> dict[str, int]:
    table = {role: default for role in ROLES}
    table["anonymous"] = anonymous
    table.update(by_role)
    missing = [role for role, status in table.items() if status is None]
    assert not missing, missing
    return table


READ = expect(default=200, other=404)  # a bank A object, read
LIST = expect(default=200)  # a list: everyone signed in gets one (bank B's manager gets B's rows)
WRITE = expect(viewer=403, analyst=200, manager=200, other=404, superuser=200)
REFERENCE_WRITE = expect(default=403, superuser=409)  # published rubric content
MANAGERS_LIST = expect(viewer=403, analyst=403, manager=200, other=200, superuser=200)  # webhooks
MANAGERS_READ = expect(viewer=403, analyst=403, manager=200, other=404, superuser=200)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    expected: dict
    body: object = None


CASES = [
    Case("banks list", "get", "banks/", LIST),
    Case("bank detail", "get", "banks/{bank_a}/", READ),
    Case("bank delete", "delete", "banks/{bank_a}/", expect(default=405)),
    Case(
        "bank profile patch",
        "patch",
        "banks/{bank_a}/",
        expect(viewer=403, analyst=403, manager=200, other=404, superuser=200),
        {"limit_warning_percent": "85"},
    ),
    Case("exposures list", "get", "exposures/", LIST),
    Case("exposure detail", "get", "exposures/{exposure}/", READ),
    Case(
        "exposure create in bank A",
        "post",
        "exposures/",
        expect(viewer=403, analyst=201, manager=201, other=400, superuser=201),
        {"bank": "{bank_a}", "partner": "tencent", "period_end": "2025-07-31", "balance": "10"},
    ),
    Case("exposure patch", "patch", "exposures/{exposure}/", WRITE, {"balance": "12"}),
    Case(
        "exposure delete",
        "delete",
        "exposures/{exposure}/",
        expect(viewer=403, analyst=204, manager=204, other=404, superuser=204),
    ),
    Case("bank figures list", "get", "bank-figures/", LIST),
    Case("bank figures detail", "get", "bank-figures/{figures}/", READ),
    Case(
        "bank figures create in bank A",
        "post",
        "bank-figures/",
        expect(viewer=403, analyst=201, manager=201, other=400, superuser=201),
        {"bank": "{bank_a}", "period_end": "2025-09-30", "total_loans": "100"},
    ),
    Case("bank figures patch", "patch", "bank-figures/{figures}/", WRITE, {"total_loans": "12"}),
    Case(
        "bank figures delete",
        "delete",
        "bank-figures/{figures}/",
        expect(viewer=403, analyst=204, manager=204, other=404, superuser=204),
    ),
    Case("partners list", "get", "partners/", LIST),
    Case("partner detail", "get", "partners/tencent/", LIST),
    Case("due diligence list", "get", "due-diligence/", LIST),
    Case("due diligence detail", "get", "due-diligence/{dd}/", READ),
    Case(
        "due diligence create in bank A",
        "post",
        "due-diligence/",
        expect(viewer=403, analyst=201, manager=201, other=400, superuser=201),
        {
            "bank": "{bank_a}",
            "partner": "tencent",
            "inherent_risk_tier": "low",
            "performed_on": "2024-11-01",
            "next_due": "2025-11-01",
            "answers": {"是否持牌": "是"},
        },
    ),
    Case("due diligence patch", "patch", "due-diligence/{dd}/", WRITE, {"inherent_risk_tier": "high"}),
    Case("due diligence delete", "delete", "due-diligence/{dd}/", expect(default=405)),
    Case("pillars list", "get", "pillars/", LIST),
    Case("pillar detail", "get", "pillars/scenario/", LIST),
    Case("initiatives list", "get", "initiatives/", LIST),
    Case("initiative detail", "get", "initiatives/{a1}/", READ),
    Case(
        "initiative create in bank A",
        "post",
        "initiatives/",
        expect(viewer=403, analyst=201, manager=201, other=400, superuser=201),
        {"bank": "{bank_a}", "code": "new-1", "title": "新项目", "pillar": "scenario"},
    ),
    Case("initiative patch", "patch", "initiatives/{a1}/", WRITE, {"title": "改名"}),
    Case(
        "initiative put",
        "put",
        "initiatives/{a1}/",
        WRITE,
        {"bank": "{bank_a}", "code": "a1", "title": "整体替换", "pillar": "scenario", "status": "pilot"},
    ),
    Case(
        "initiative delete",
        "delete",
        "initiatives/{a1}/",
        expect(viewer=403, analyst=204, manager=204, other=404, superuser=204),
    ),
    Case(
        "initiative score",
        "post",
        "initiatives/{a1}/score/",
        expect(viewer=403, analyst=202, manager=202, other=404, superuser=202),
    ),
    Case("initiative score history", "get", "initiatives/{a1}/scores/", READ),
    Case("kpis list", "get", "kpis/", LIST),
    Case("kpi detail", "get", "kpis/{kpi}/", READ),
    Case(
        "kpi create in bank A",
        "post",
        "kpis/",
        expect(viewer=403, analyst=201, manager=201, other=400, superuser=201),
        {"initiative": "{a1}", "name": "新指标", "baseline": "100", "target": "120"},
    ),
    Case("kpi patch", "patch", "kpis/{kpi}/", WRITE, {"name": "改名指标"}),
    Case(
        "kpi put", "put", "kpis/{kpi}/", WRITE, {"initiative": "{a1}", "name": "整体替换", "baseline": "90"}
    ),
    Case(
        "kpi delete",
        "delete",
        "kpis/{kpi}/",
        expect(viewer=403, analyst=204, manager=204, other=404, superuser=204),
    ),
    Case("kpi observations list", "get", "kpi-observations/", LIST),
    Case("kpi observation detail", "get", "kpi-observations/{observation}/", READ),
    Case(
        "kpi observation create",
        "post",
        "kpi-observations/",
        expect(viewer=403, analyst=201, manager=201, other=400, superuser=201),
        {"kpi": "{kpi}", "observed_on": "2026-03-31", "value": "130"},
    ),
    Case("kpi observation patch", "patch", "kpi-observations/{observation}/", WRITE, {"value": "140"}),
    Case(
        "kpi observation delete",
        "delete",
        "kpi-observations/{observation}/",
        expect(viewer=403, analyst=204, manager=204, other=404, superuser=204),
    ),
    Case("evidence list", "get", "evidence/", LIST),
    Case("evidence detail", "get", "evidence/{evidence}/", READ),
    Case(
        "evidence link create",
        "post",
        "evidence/",
        expect(viewer=403, analyst=201, manager=201, other=400, superuser=201),
        {"initiative": "{a1}", "url": "https://example.com/b", "note": "公告"},
    ),
    Case("evidence patch", "patch", "evidence/{evidence}/", WRITE, {"note": "改"}),
    Case(
        "evidence delete",
        "delete",
        "evidence/{evidence}/",
        expect(viewer=403, analyst=204, manager=204, other=404, superuser=204),
    ),
    Case("evidence download", "get", "evidence/{evidence_file}/download/", READ),
    Case("assessments list", "get", "assessments/", LIST),
    Case("assessment detail", "get", "assessments/{draft}/", READ),
    Case(
        "assessment create",
        "post",
        "assessments/",
        expect(viewer=403, analyst=201, manager=201, other=400, superuser=201),
        {"initiative": "{a1}"},
    ),
    Case("assessment ratings", "get", "assessments/{draft}/ratings/", READ),
    Case(
        "assessment rate",
        "put",
        "assessments/{draft}/ratings/",
        WRITE,
        {"ratings": {"acquisition_cost": 1}},
    ),
    Case("assessment submit", "post", "assessments/{draft}/submit/", WRITE),
    Case(
        "assessment approve",
        "post",
        "assessments/{submitted}/approve/",
        expect(viewer=403, analyst=403, manager=200, other=404, superuser=200),
    ),
    Case("rubrics list", "get", "rubrics/", LIST),
    Case("rubric detail", "get", "rubrics/{rubric}/", LIST),
    Case("rubric versions list", "get", "rubric-versions/", LIST),
    Case("rubric version detail", "get", "rubric-versions/{version}/", LIST),
    Case("rubric version change", "patch", "rubric-versions/{version}/", REFERENCE_WRITE, {"tier_a": 80}),
    Case(
        "rubric version clone",
        "post",
        "rubric-versions/{version}/clone/",
        expect(default=403, superuser=201),
    ),
    Case("criterion detail", "get", "criteria/{criterion}/", LIST),
    Case("criterion change", "patch", "criteria/{criterion}/", REFERENCE_WRITE, {"weight": 9}),
    Case("score jobs list", "get", "score-jobs/", LIST),
    Case("score job detail", "get", "score-jobs/{job}/", READ),
    Case(
        "score job create",
        "post",
        "score-jobs/",
        expect(viewer=403, analyst=202, manager=202, other=400, superuser=202),
        {"initiatives": ["{a1}"]},
    ),
    Case("preview by pillar", "post", "scoring/preview/", LIST, {"pillar": "scenario"}),
    Case(
        "preview with an initiative",
        "post",
        "scoring/preview/",
        expect(default=200, other=400),
        {"initiative": "{a1}"},
    ),
    Case("reports list", "get", "reports/", LIST),
    Case("report detail", "get", "reports/{report}/", READ),
    Case("report download", "get", "reports/{report}/download/?format=csv", READ),
    # webhooks (docs/webhooks.md): the bank's managers only, reads included
    Case("webhooks list", "get", "webhooks/", MANAGERS_LIST),
    Case("webhook detail", "get", "webhooks/{webhook}/", MANAGERS_READ),
    Case(
        "webhook create in bank A",
        "post",
        "webhooks/",
        expect(viewer=403, analyst=403, manager=201, other=400, superuser=201),
        {"bank": "{bank_a}", "url": "https://hooks.example.com/new", "events": ["score.created"]},
    ),
    Case("webhook patch", "patch", "webhooks/{webhook}/", MANAGERS_READ, {"description": "改"}),
    Case(
        "webhook rotate secret",
        "post",
        "webhooks/{webhook}/rotate-secret/",
        MANAGERS_READ,
    ),
    Case(
        "webhook delete",
        "delete",
        "webhooks/{webhook}/",
        expect(viewer=403, analyst=403, manager=204, other=404, superuser=204),
    ),
    Case("webhook deliveries list", "get", "webhook-deliveries/", MANAGERS_LIST),
    Case("webhook delivery detail", "get", "webhook-deliveries/{delivery}/", MANAGERS_READ),
    Case(
        "webhook redeliver",
        "post",
        "webhook-deliveries/{delivery}/redeliver/",
        expect(viewer=403, analyst=403, manager=202, other=404, superuser=202),
    ),
    # the partnership lifecycle (docs/lifecycle.md): events and contracts by analysts, policies by managers
    Case("monitoring events list", "get", "monitoring-events/", LIST),
    Case("monitoring event detail", "get", "monitoring-events/{event}/", READ),
    Case(
        "monitoring event create in bank A",
        "post",
        "monitoring-events/",
        expect(viewer=403, analyst=201, manager=201, other=400, superuser=201),
        {
            "initiative": "{a1}",
            "kind": "complaint",
            "occurred_on": "2025-01-02",
            "severity": "low",
            "description": "客户投诉",
        },
    ),
    Case("monitoring event patch", "patch", "monitoring-events/{event}/", WRITE, {"status": "remediating"}),
    Case(
        "monitoring event delete",
        "delete",
        "monitoring-events/{event}/",
        expect(viewer=403, analyst=204, manager=204, other=404, superuser=204),
    ),
    Case("contracts list", "get", "contracts/", LIST),
    Case("contract detail", "get", "contracts/{contract}/", READ),
    Case(
        "contract create in bank A",
        "post",
        "contracts/",
        expect(viewer=403, analyst=201, manager=201, other=400, superuser=201),
        {"initiative": "{a2}", "exit_plan": "切换至备选服务商", "audit_rights": "yes"},
    ),
    Case("contract patch", "patch", "contracts/{contract}/", WRITE, {"notice_days": 90}),
    Case(
        "contract delete",
        "delete",
        "contracts/{contract}/",
        expect(viewer=403, analyst=204, manager=204, other=404, superuser=204),
    ),
    Case("reassessment policies list", "get", "reassessment-policies/", LIST),
    Case("reassessment policy detail", "get", "reassessment-policies/{policy}/", READ),
    Case(
        "reassessment policy set in bank A",
        "post",
        "reassessment-policies/",
        expect(viewer=403, analyst=403, manager=201, other=400, superuser=201),
        {"bank": "{bank_a}", "months_c": 9},
    ),
    Case(
        "reassessment policy patch",
        "patch",
        "reassessment-policies/{policy}/",
        expect(viewer=403, analyst=403, manager=200, other=404, superuser=200),
        {"months_a": 18},
    ),
    Case("reassessments list", "get", "reassessments/", LIST),
    Case("reassessment detail", "get", "reassessments/{a1}/", READ),
    Case("schema", "get", "schema/", expect(default=200, anonymous=200)),
    Case("docs", "get", "docs/", expect(default=200, anonymous=200)),
    Case("unknown path", "get", "no-such-thing/", expect(default=404, anonymous=404)),
]


@pytest.fixture
def scene(world, settings, tmp_path):
    """Bank A's objects every case may touch, by placeholder name."""
    settings.MEDIA_ROOT = str(tmp_path)  # the evidence file
    analyst = world.user("analyst")
    a1 = world.initiatives["A"]
    draft = assessment_create(user=analyst, initiative=a1)
    rate_all(draft, analyst)
    submitted = assessment_create(user=analyst, initiative=a1)
    rate_all(submitted, analyst)
    assessment_submit(assessment=submitted, user=analyst)
    version = published_version("scenario")
    job = score_job_create(requested_by=analyst, bank_id=a1.bank_id, initiative_ids=[a1.pk])
    report = report_generate(bank_id=a1.bank_id, period_start=datetime.date(2024, 11, 4), deliver=False)
    observation = KPIObservationFactory(kpi=KPIFactory(initiative=a1))
    kpi = observation.kpi
    evidence = evidence_create(
        user=analyst, initiative=a1, data={"kind": "link", "url": "https://example.com/a", "note": "公告"}
    )
    evidence_file = evidence_create(
        user=analyst,
        initiative=a1,
        data={"kind": "file", "file": SimpleUploadedFile("合同.txt", "合同正文".encode()), "note": "合同"},
    )
    dd = due_diligence_create(
        user=analyst,
        data={
            "bank": a1.bank_id,
            "partner": "tencent",
            "inherent_risk_tier": "medium",
            "performed_on": datetime.date(2024, 10, 1),
            "next_due": datetime.date(2025, 10, 1),
        },
    )
    exposure = exposure_create(
        user=analyst,
        data={"bank": a1.bank_id, "partner": "tencent", "period_end": "2025-06-30", "balance": "100"},
    )
    figures = bank_figures_create(
        user=analyst, data={"bank": a1.bank_id, "period_end": "2025-06-30", "tier1_net_capital": "2000"}
    )
    webhook = webhook_endpoint_create(
        user=world.user("manager"),
        data={"bank": a1.bank_id, "url": "https://hooks.example.com/a", "events": ["limit.breached"]},
    )
    (delivery,) = webhook_event_emit(bank_id=a1.bank_id, event_type="limit.breached", data={"breach": 1})
    event = monitoring_event_create(
        user=analyst,
        initiative=a1,
        data={
            "kind": "incident",
            "occurred_on": "2025-01-01",
            "severity": "medium",
            "description": "系统中断",
        },
    )
    contract = contract_create(user=analyst, initiative=a1, data={"exit_plan": "回迁本行自建系统"})
    policy = reassessment_policy_set(user=world.user("manager"), bank=a1.bank_id, data={"months_b": 12})
    a2 = InitiativeFactory(bank=a1.bank, code="a2-no-contract")
    return {
        "event": event.pk,
        "contract": contract.pk,
        "policy": policy.pk,
        "a2": a2.pk,
        "webhook": webhook.pk,
        "delivery": delivery.pk,
        "exposure": exposure.pk,
        "figures": figures.pk,
        "kpi": kpi.pk,
        "observation": observation.pk,
        "evidence": evidence.pk,
        "evidence_file": evidence_file.pk,
        "dd": dd.pk,
        "bank_a": world.banks["A"].pk,
        "a1": a1.pk,
        "draft": draft.pk,
        "submitted": submitted.pk,
        "rubric": version.rubric_id,
        "version": version.pk,
        "criterion": version.criteria.first().pk,
        "job": job.pk,
        "report": report.pk,
    }


def _fill(value, scene: dict):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in scene:
        return scene[value[1:-1]]
    if isinstance(value, str):
        return value.format(**scene)
    if isinstance(value, dict):
        return {k: _fill(v, scene) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, scene) for v in value]
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_endpoint_by_role(case, role, world, scene, client_as):
    user = None if role == "anonymous" else world.user(role)
    client = client_as(user)
    path = API + case.path.format(**scene)
    body = _fill(case.body, scene)
    kwargs = {"format": "json"} if body is not None else {}
    response = (
        getattr(client, case.method)(path, body, **kwargs)
        if body is not None
        else getattr(client, case.method)(path)
    )
    expected = case.expected[role]
    assert response.status_code == expected, (case.name, role, response.content[:400])
    if expected >= 400 and not case.path.startswith(("docs", "schema")):
        assert response.json()["error"]["status"] == expected
    if role == "other" and expected == 400:
        fields = response.json()["error"]["fields"]
        assert set(fields) <= {"bank", "initiative", "initiatives", "kpi"}, fields


LISTS = [
    "initiatives/",
    "kpis/",
    "kpi-observations/",
    "evidence/",
    "assessments/",
    "score-jobs/",
    "reports/",
    "banks/",
    "due-diligence/",
    "exposures/",
    "bank-figures/",
    "webhooks/",
    "webhook-deliveries/",
]


@pytest.mark.parametrize("path", LISTS)
def test_lists_never_show_another_banks_rows(path, world, scene, client_as):
    """Bank B's manager lists everything they can: none of bank A's objects appear, in any pagination mode."""
    a_ids = {
        scene["bank_a"],
        scene["a1"],
        scene["draft"],
        scene["submitted"],
        str(scene["job"]),
        scene["report"],
    }
    client = client_as(world.user("other"))
    for query in ("", "?pagination=cursor", "?search=甲", "?page_size=200"):
        response = client.get(f"{API}{path}{query}")
        if response.status_code == 400:  # no search on this list
            continue
        rows = response.json()["results"]
        if path == "banks/":
            assert {row["code"] for row in rows} <= {"bank-b"}
            continue
        assert not {row["id"] for row in rows} & a_ids, (path, query)
        assert all(row.get("bank") in (None, world.banks["B"].pk) for row in rows if "bank" in row)
