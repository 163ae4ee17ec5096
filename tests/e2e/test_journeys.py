"""Browser journeys through the admin, end to end: Chromium, the live server, PostgreSQL, Redis, a worker.

1. An analyst working in Chinese records an initiative (partner picked through the autocomplete, a KPI and an
   observation), rates it against the published rubric and submits; a manager approves; the real worker
   scores it and the score panel shows the breakdown.
2. A manager working in English opens the latest weekly report, sees its charts and downloads the XLSX.
3. The header's language switch turns the login page from Chinese to English.
"""

from __future__ import annotations

import re
import time

import pytest
from django.utils import translation
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from partnerships.models import KPI, Initiative, ScenarioType
from partnerships.services.seed import seed_reference_data
from scoring.choices import AssessmentStatus, JobStatus
from scoring.models import Assessment, Criterion, Score, ScoreJob
from scoring.reports.services import last_complete_week_start, report_generate
from scoring.services.compute import score_initiatives
from scoring.services.rubrics import rubrics_load
from tests.e2e.conftest import PASSWORD, enrol_second_factor, login
from tests.factories import BankFactory, MembershipFactory, UserFactory
from tests.processes import wait_for
from tests.scoring.conftest import make_rated_initiative

pytestmark = [pytest.mark.services, pytest.mark.slow]

SCORE_TIMEOUT = 60  # seconds from approval to a score on the page


def _user(username: str, bank, role: str):
    user = UserFactory(username=username, is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    MembershipFactory(user=user, bank=bank, role=role)
    if (
        role == "manager"
    ):  # a manager with a local password has set up a second factor; login() types its code
        enrol_second_factor(user)
    return user


def _publish_rubrics_and_wait() -> None:
    """Publish the default rubrics and let the worker finish their (empty) re-score jobs first."""
    for job in rubrics_load(versions={1}).jobs:
        if job is None:
            continue
        wait_for(
            lambda job=job: ScoreJob.objects.filter(
                pk=job.pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]
            ).exists(),
            60,
            message=f"rubric publish job {job.pk} to finish",
        )


def _pick_autocomplete(page: Page, select_id: str, term: str, option: str | re.Pattern) -> None:
    """Choose in a Django admin autocomplete (select2): open it, type, click the matching result."""
    page.locator(f"#{select_id} + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(term)
    page.locator(".select2-container--open .select2-results__option", has_text=option).first.click()
    expect(page.locator(f"#select2-{select_id}-container")).to_contain_text(option)


def _run_action(page: Page, changelist: str, pk: int, action: str) -> None:
    """Tick one row of an admin changelist and run an action on it."""
    page.goto(changelist)
    page.locator(f"#result_list input.action-select[value='{pk}']").check()
    page.select_option("select[name=action]", action)
    page.click("#changelist-form button[name=index]")
    expect(page.locator(".messagelist .success")).to_be_visible()


def test_analyst_records_rates_and_manager_approves_in_chinese(workers, new_page, shot):
    workers()
    seed_reference_data()
    _publish_rubrics_and_wait()
    bank = BankFactory(code="e2e-bank", name_zh_hans="端到端银行", name_en="E2E Bank")
    _user("analyst_e2e", bank, "analyst")
    _user("manager_e2e", bank, "manager")
    payment = ScenarioType.objects.get(key="payment")
    with translation.override("zh-hans"):
        criteria = {
            c.key: c
            for c in Criterion.objects.filter(
                version__rubric__pillar_id="scenario", version__status="published", source="rated"
            )
        }
        ratings = {"ecosystem_breadth": 3, "backend_enablement": 2, "compliance_readiness": 3}
        level_texts = {key: criteria[key].level_text(value) for key, value in ratings.items()}

    # -- the analyst signs in; the login page is in Chinese ------------------------------------------------
    page = new_page("zh-CN")
    page.goto("/admin/login/?next=/admin/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#login-form [type=submit]")).to_have_value("登录")
    expect(page.locator("#site-name")).to_contain_text("合作评分卡")
    shot(page, "login-zh")
    login(page, "analyst_e2e")
    shot(page, "admin-index-zh")

    # -- a new initiative: pillar, scenario type, partner through the autocomplete, one KPI ---------------
    page.goto("/admin/partnerships/initiative/add/")
    page.select_option("select[name=bank]", str(bank.pk))
    page.fill("input[name=code]", "wechat-pay-card")
    page.fill("input[name=title]", "微信支付场景联名卡")
    page.fill("textarea[name=description]", "与腾讯合作的支付场景获客")
    page.select_option("select[name=pillar]", "scenario")
    expect(page.locator("select[name=pillar] option:checked")).to_contain_text("场景合作")
    # The two-list picker speaks Chinese too (Django's own catalogue lacks these strings; ours adds them).
    expect(page.locator("#id_scenario_types_add_all")).to_contain_text("全选")
    expect(page.locator(".selector-available-title .helptext")).to_contain_text("选中要添加的")
    page.select_option("#id_scenario_types_from", str(payment.pk))
    page.click("#id_scenario_types_add")
    expect(page.locator("#id_scenario_types_to option")).to_have_text(["支付"])

    page.locator("#partner_links-group .add-row a").click()
    _pick_autocomplete(page, "id_partner_links-0-partner", "腾讯", "腾讯")
    page.select_option("select[name='partner_links-0-role']", "lead")

    page.locator("#kpis-group .add-row a").click()
    page.fill("input[name='kpis-0-name']", "获客成本(元/户)")
    page.select_option("select[name='kpis-0-cost_driver']", "acquisition")
    page.fill("input[name='kpis-0-unit']", "元")
    page.fill("input[name='kpis-0-baseline']", "320")
    page.fill("input[name='kpis-0-target']", "200")
    shot(page, "initiative-add-filled")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    shot(page, "initiative-saved")
    initiative = Initiative.objects.get(bank=bank, code="wechat-pay-card")
    assert initiative.partner_links.get().partner.key == "tencent"
    assert list(initiative.scenario_types.values_list("key", flat=True)) == ["payment"]
    change_url = f"/admin/partnerships/initiative/{initiative.pk}/change/"
    expect(page.get_by_text("尚未评分", exact=False).first).to_be_visible()

    # -- an observation of the KPI, on the KPI's own page (reached from the inline's change link) ----------
    page.locator("#kpis-0 a.inlinechangelink").click()
    expect(page.locator("input[name='observations-0-value']")).to_be_visible()
    page.fill("input[name='observations-0-observed_on']", "2024-09-30")
    page.fill("input[name='observations-0-value']", "260")
    page.fill("input[name='observations-0-note']", "试点第一季度")
    shot(page, "kpi-observation")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert KPI.objects.get(initiative=initiative).observations.get().value == 260

    # -- an assessment against the published scenario rubric ----------------------------------------------
    page.goto("/admin/scoring/assessment/add/")
    _pick_autocomplete(page, "id_initiative", "wechat", "微信支付场景联名卡")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    assessment = Assessment.objects.get(initiative=initiative)
    for key, value in ratings.items():
        row = page.locator(f".form-row.field-rating__{key}")
        select = row.locator(f"select[name='rating__{key}']")
        select.select_option(str(value))
        # The anchored level text is beside the rating: in the chosen option and in the criterion's list.
        expect(select.locator("option:checked")).to_have_text(f"{value} · {level_texts[key]}")
        expect(row.locator("li", has_text=level_texts[key])).to_be_visible()
        row.locator(f"textarea[name='rationale__{key}']").fill("试点实测")
        shot(row, f"rating-{key}")
    shot(page, "assessment-rated")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    assert {
        r.criterion.key: r.value
        for r in assessment.ratings.select_related("criterion")
        if r.value is not None
    } == ratings

    # Submitted by the button on the assessment's own page.
    page.locator(".assessment-workflow input[type=submit][value='提交审批']").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    expect(page.locator(".assessment-workflow .status")).to_contain_text("已提交")
    shot(page, "assessment-submitted")
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED

    # -- a manager (own browser context) approves: that queues a score job --------------------------------
    manager = new_page("zh-CN")
    login(manager, "manager_e2e")
    _run_action(manager, "/admin/scoring/assessment/", assessment.pk, "approve")
    shot(manager, "assessment-approved")
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.APPROVED

    # -- the worker scores it; the initiative page shows the total and the breakdown ----------------------
    deadline = time.monotonic() + SCORE_TIMEOUT
    while True:
        manager.goto(change_url)
        if manager.locator(".score-panel").count():
            break
        assert time.monotonic() < deadline, f"no score on the page after {SCORE_TIMEOUT} s"
        manager.wait_for_timeout(1000)
    panel = manager.locator(".score-panel")
    score = Score.objects.get(initiative=initiative)
    expect(panel.locator("p strong").first).to_have_text(str(score.total))
    partner_row = panel.locator("table.score-breakdown tbody tr", has_text="合作方实力")
    expect(partner_row).to_have_count(1)
    expect(partner_row).to_contain_text("腾讯")
    shot(manager, "initiative-scored")
    shot(panel, "score-panel")


def test_manager_reads_weekly_report_and_downloads_xlsx(private_broker, taxonomy, new_page, shot, artifacts):
    # Its re-score jobs wait on the private broker; the score below is computed directly.
    rubrics_load(versions={1})
    bank = BankFactory(code="e2e-bank", name_zh_hans="端到端银行", name_en="E2E Bank")
    initiative = make_rated_initiative(bank=bank)
    outcome = score_initiatives(bank_id=bank.pk, initiative_ids=[initiative.pk])
    assert outcome.failed == 0
    report = report_generate(bank_id=bank.pk, period_start=last_complete_week_start(), deliver=False)
    _user("manager_e2e", bank, "manager")

    page = new_page("en-US")
    page.goto("/admin/login/?next=/admin/")
    expect(page.locator("#login-form [type=submit]")).to_have_value("Log in")
    login(page, "manager_e2e")
    page.locator("a[href$='/admin/scoring/report/']").first.click()
    expect(page.locator("#result_list")).to_be_visible()
    shot(page, "reports-list")
    page.locator("#result_list tbody tr").first.locator("th a, td a").first.click()
    expect(page).to_have_url(re.compile(rf"/admin/scoring/report/{report.pk}/change/"))
    charts = page.locator(".report-body svg")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 3, f"{charts.count()} charts on the report page"
    shot(page, "weekly-report")
    shot(page.locator(".report-body"), "weekly-report-body")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download XLSX").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx") and "e2e-bank" in download.suggested_filename
    saved = artifacts / download.suggested_filename
    download.save_as(saved)
    workbook = load_workbook(saved, read_only=True)
    assert len(workbook.sheetnames) >= 3, workbook.sheetnames
    assert "Partner concentration" in workbook.sheetnames  # sheets named in the reader's language


def test_language_switch_on_login_page(live_server, new_page, shot):
    page = new_page("zh-CN")
    page.goto("/admin/login/")
    expect(page.locator("#login-form [type=submit]")).to_have_value("登录")
    expect(page.locator("#language-select option:checked")).to_have_text("简体中文")
    shot(page, "login-zh")
    page.select_option("#language-select", "en")  # submits the form (onchange); set_language redirects back
    expect(page.locator("#login-form [type=submit]")).to_have_value("Log in")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#site-name")).to_contain_text("Partnership Scorecard")
    shot(page, "login-en")
    page.reload()  # the choice is kept (language cookie), whatever the browser's Accept-Language says
    expect(page.locator("#login-form [type=submit]")).to_have_value("Log in")
