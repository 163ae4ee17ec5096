"""Version 2's data sources against the database: what they read, the scoring date, the licence check, the queries.

- partner_strength_v2: the seed's Tencent segments give 8.37 % growth (the games lines are inside 增值服务 and are
  not counted twice); company growth only without segments; a lead without figures makes it unrated; rows go
  stale after ``SCORECARD_PARTNER_FIGURES_STALE_DAYS`` before the scoring date.
- kpi_attainment_v2: the path from the baseline date to the target date, KPI weights, observations after the
  scoring date not yet known.
- data_protection_v2: categories with their sensitivity (formulas_v2.SENSITIVE_CATEGORIES), 断直连 with a
  licensed and an unlicensed agency on the scoring date.
- The scoring date is part of each score's inputs (and a job's date is the day it was requested).
- A chunk of 20 initiatives costs the same queries as one of 2.
"""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerships.models import InitiativeDataCategory, PartnerMetric, TechPartner
from partnerships.services.seed import seed_reference_data
from scoring import formulas, formulas_v2
from scoring.models import Criterion, RubricVersion, Score
from scoring.services.compute import score_initiatives
from scoring.services.jobs import score_chunk_run, score_job_create, score_job_plan
from scoring.sources import SOURCES, InitiativeFacts
from tests.factories import (
    BankFactory,
    InitiativeFactory,
    InitiativePartnerFactory,
    KPIFactory,
    KPIObservationFactory,
    PartnerMetricFactory,
    TechPartnerFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("taxonomy")]

D = datetime.date


def _run(source: str, initiatives, as_of: datetime.date) -> dict:
    return SOURCES[source]([InitiativeFacts(i.pk, as_of=as_of) for i in initiatives])


Q3_END = D(2024, 9, 30)


def _metric(partner, metric, value, *, period="2024Q3", end=Q3_END, **rest):
    return PartnerMetricFactory(
        partner=partner, metric=metric, value=value, period=period, period_end=end, **rest
    )


# --- partner strength ----------------------------------------------------------------------------------------
def test_tencent_segment_growth_from_the_seed_is_8_37_percent(db):
    seed_reference_data()
    tencent = TechPartner.objects.get(key="tencent")
    games = set(
        PartnerMetric.objects.filter(partner=tencent, part_of="增值服务").values_list("segment", flat=True)
    )
    assert games == {"本土市场游戏", "国际市场游戏"}  # the fixture marks the games lines inside 增值服务
    initiative = InitiativeFactory(bank=BankFactory())
    InitiativePartnerFactory(initiative=initiative, partner=tencent, role="lead")
    result = _run("partner_strength_v2", [initiative], D(2025, 1, 1))[initiative.pk]
    row = result.data["partners"][0]
    assert row["revenue_growth_pct"] == pytest.approx(13999.62 / 1671.93, abs=1e-4)  # 8.3733, not 9.37
    assert round(row["revenue_growth_pct"], 2) == 8.37 and "8.37%" in result.rationale
    assert row["revenue_growth_basis"] == "segments" and row["revenue_growth_period"] == "2024Q3"
    assert sorted(row["segments_counted"]) == ["其他", "增值服务", "营销服务", "金融科技及企业服务"]
    assert len(row["segments_left_out"]) == 2 and all("增值服务" in s for s in row["segments_left_out"])
    # market cap +43 % → 3, growth 8.37 % → 2: (3 + 2) / 2
    assert (row["market_cap_band"], row["revenue_growth_band"], result.value) == (3, 2, 2.5)
    assert result.data["as_of"] == "2025-01-01" and row["name_en"] == "Tencent"


@pytest.fixture
def partners(db):
    """A partner with segments in two periods and company growth; one with company growth only; one bare."""
    seg = TechPartnerFactory(key="seg", name_zh_hans="分部公司", name_en="Segmented Co")
    _metric(seg, "market_cap_change_pct", 25, period="2024", end=D(2024, 12, 31))
    _metric(seg, "revenue_growth_pct", 50)  # company level: ignored while segments exist
    for name, revenue, growth, part_of in (("A", 300, 10, ""), ("A1", 100, 40, "A"), ("B", 100, -10, "")):
        _metric(seg, "revenue", revenue, segment=name, part_of=part_of, unit="亿元")
        _metric(seg, "revenue_growth_pct", growth, segment=name, part_of=part_of)
    _metric(seg, "revenue_growth_pct", 99, segment="A", period="2024Q2", end=D(2024, 6, 30))  # older period
    whole = TechPartnerFactory(key="whole", name_zh_hans="整体公司", name_en="Whole Co")
    _metric(whole, "market_cap_change_pct", -5, period="2024", end=D(2024, 12, 31))
    _metric(whole, "revenue_growth_pct", 12, period="2024-01~09")
    _metric(whole, "revenue_growth_pct", 30, period="2024Q3")  # same end: the label breaks the tie, as in v1
    bare = TechPartnerFactory(key="bare", name_zh_hans="无数据公司", name_en="Bare Co")
    return seg, whole, bare


def test_segments_of_the_latest_period_not_counted_twice_company_growth_only_without_segments(partners):
    seg, whole, _bare = partners
    initiative = InitiativeFactory(bank=BankFactory())
    InitiativePartnerFactory(initiative=initiative, partner=seg, role="lead")
    InitiativePartnerFactory(initiative=initiative, partner=whole, role="technology")
    result = _run("partner_strength_v2", [initiative], D(2025, 1, 1))[initiative.pk]
    rows = {r["name"]: r for r in result.data["partners"]}
    # (300·10 + 100·(−10)) / 400 = 5 %: A1 is inside A, the 2024Q2 figure is older, company growth 50 % unused
    assert (
        rows["分部公司"]["revenue_growth_pct"] == 5.0
        and rows["分部公司"]["revenue_growth_basis"] == "segments"
    )
    assert rows["分部公司"]["segments"][1] == {
        "name": "A1",
        "part_of": "A",
        "revenue": 100.0,
        "growth_pct": 40.0,
    }
    assert (
        rows["整体公司"]["revenue_growth_pct"] == 30.0
        and rows["整体公司"]["revenue_growth_basis"] == "company"
    )
    # seg: (3 + 2) / 2 = 2.5, weight 2; whole: (1 + 4) / 2 = 2.5 → 2.5
    assert result.value == pytest.approx(2.5)


def test_a_lead_partner_without_figures_makes_it_unrated_naming_the_partner(partners):
    seg, _whole, bare = partners
    initiative = InitiativeFactory(bank=BankFactory())
    InitiativePartnerFactory(initiative=initiative, partner=bare, role="lead")
    InitiativePartnerFactory(initiative=initiative, partner=seg, role="technology")
    result = _run("partner_strength_v2", [initiative], D(2025, 1, 1))[initiative.pk]
    assert result.value is None and "无数据公司" in result.data["missing"][0]
    nobody = InitiativeFactory(bank=BankFactory())
    assert _run("partner_strength_v2", [nobody], D(2025, 1, 1))[nobody.pk].value is None


def test_figures_go_stale_after_the_configured_age_before_the_scoring_date(partners, settings):
    seg, _whole, _bare = partners
    initiative = InitiativeFactory(bank=BankFactory())
    InitiativePartnerFactory(initiative=initiative, partner=seg, role="lead")
    fresh = _run("partner_strength_v2", [initiative], D(2025, 6, 1))[initiative.pk]
    stale = _run("partner_strength_v2", [initiative], D(2026, 6, 1))[initiative.pk]  # 609 days after 2024Q3
    assert fresh.data["partners"][0]["stale"] is False and stale.data["partners"][0]["stale"] is True
    assert stale.value == fresh.value  # staleness warns, it does not change the value
    assert stale.data["stale_after_days"] == 548 and "stale" in stale.rationale
    settings.SCORECARD_PARTNER_FIGURES_STALE_DAYS = 700
    later = _run("partner_strength_v2", [initiative], D(2026, 6, 1))[initiative.pk]
    assert later.data["partners"][0]["stale"] is False and later.data["stale_after_days"] == 700


# --- KPI attainment ------------------------------------------------------------------------------------------
def test_kpis_follow_their_path_with_weights_and_ignore_later_observations(db):
    initiative = InitiativeFactory(bank=BankFactory())
    on_path = KPIFactory(
        initiative=initiative,
        name="获客成本",
        baseline=0,
        target=100,
        baseline_date=D(2025, 1, 1),
        target_date=D(2025, 12, 31),
    )
    KPIObservationFactory(kpi=on_path, observed_on=D(2025, 7, 1), value=40)
    KPIObservationFactory(kpi=on_path, observed_on=D(2025, 8, 1), value=100)  # after the scoring date
    done = KPIFactory(
        initiative=initiative,
        name="线上占比",
        baseline=10,
        target=20,
        baseline_date=D(2025, 1, 1),
        target_date=D(2025, 4, 1),
        weight=3,
    )
    KPIObservationFactory(kpi=done, observed_on=D(2025, 5, 1), value=20)
    result = _run("kpi_attainment_v2", [initiative], D(2025, 7, 15))[initiative.pk]
    rows = {r["name"]: r for r in result.data["kpis"]}
    a = 40 / (100 * 181 / 364)
    assert rows["获客成本"]["latest"] == 40 and rows["获客成本"]["attainment"] == pytest.approx(a)
    assert rows["线上占比"]["attainment"] == 1.0 and rows["线上占比"]["weight"] == 3
    assert result.value == pytest.approx(4 * (a + 3) / 4)
    later = _run("kpi_attainment_v2", [initiative], D(2025, 8, 15))[initiative.pk]
    assert {r["name"]: r["latest"] for r in later.data["kpis"]}["获客成本"] == 100  # known by then
    assert result.data["as_of"] == "2025-07-15"


def test_a_kpi_without_its_baseline_date_counts_zero_naming_it_and_none_due_is_unrated(db):
    initiative = InitiativeFactory(bank=BankFactory())
    kpi = KPIFactory(
        initiative=initiative, name="无基线日期", baseline=0, target=10, target_date=D(2025, 3, 1)
    )
    KPIObservationFactory(kpi=kpi, observed_on=D(2025, 3, 1), value=10)
    result = _run("kpi_attainment_v2", [initiative], D(2025, 6, 1))[initiative.pk]
    assert result.value == 0.0 and result.data["missing"] == ["start date of 无基线日期"]
    early = InitiativeFactory(bank=BankFactory())
    KPIFactory(
        initiative=early, baseline=0, target=10, baseline_date=D(2026, 1, 1), target_date=D(2026, 12, 1)
    )
    assert _run("kpi_attainment_v2", [early], D(2025, 6, 1))[early.pk].value is None


# --- data protection -----------------------------------------------------------------------------------------
def _credit_initiative(agency, **facts):
    values = {
        "provided_to_partner": True,
        "provision_separate_consent": True,
        "cross_border_transfer": False,
        "credit_use": True,
        "credit_route_agency": agency,
        "impact_assessment_on": D(2025, 3, 1),
        "processing_agreement": True,
        **facts,
    }
    initiative = InitiativeFactory(bank=BankFactory(), pillar_id="data_sharing", **values)
    InitiativeDataCategory.objects.create(
        initiative=initiative, category="credit", lawful_basis="separate_consent", separate_consent=True
    )
    InitiativeDataCategory.objects.create(initiative=initiative, category="contact", lawful_basis="contract")
    return initiative


def test_dzlian_counts_the_agency_only_while_it_is_licensed(agency):
    initiative = _credit_initiative(agency)
    licensed = _run("data_protection_v2", [initiative], D(2026, 6, 1))[initiative.pk]
    assert licensed.value == 4.0 and licensed.data["breaches"] == []
    assert licensed.data["credit_route_agency"] == "演示征信"
    assert licensed.data["credit_route_agency_recorded"]["licensed"] is True
    expired = _run("data_protection_v2", [initiative], D(2026, 7, 1))[initiative.pk]
    assert expired.value == 0.0
    assert expired.data["breaches"] == [
        {
            "rule": "断直连",
            "what": "credit-related data reaches the bank without a licensed credit-reporting agency",
            "agency": "演示征信",
        }
    ]
    assert "演示征信 holds no credit-reporting licence valid on 2026-07-01" in expired.rationale
    assert expired.data["credit_route_agency_recorded"] == {
        "name": "演示征信",
        "name_en": "Demo Credit (illustrative)",
        "licensed": False,
    }
    unlicensed = TechPartnerFactory(key="no_licence", name_zh_hans="无牌征信", kind="credit_reporting")
    other = _credit_initiative(unlicensed)
    assert _run("data_protection_v2", [other], D(2026, 6, 1))[other.pk].value == 0.0


def test_categories_take_their_sensitivity_from_pipl_art_28(agency):
    initiative = _credit_initiative(agency)
    InitiativeDataCategory.objects.create(initiative=initiative, category="identity", lawful_basis="contract")
    result = _run("data_protection_v2", [initiative], D(2026, 1, 1))[initiative.pk]
    sensitivity = {c["key"]: c["sensitive"] for c in result.data["categories"]}
    assert sensitivity == {"contact": False, "credit": True, "identity": True}
    assert result.value == 0.0 and result.data["breaches"] == [
        {
            "rule": "PIPL Art. 28–29",
            "what": "sensitive identity without separate consent",
            "category": "identity",
        }
    ]


def test_the_mapping_of_our_categories(db):
    sensitive = {"biometric", "financial", "credit", "transaction", "location", "identity", "behaviour"}
    assert sensitive <= formulas_v2.SENSITIVE_CATEGORIES and "contact" not in formulas_v2.SENSITIVE_CATEGORIES
    from partnerships.choices import PersonalDataCategory

    assert set(PersonalDataCategory.values) - formulas_v2.SENSITIVE_CATEGORIES == {"contact"}


def test_cross_border_mechanisms_and_bases_in_the_formulas_terms(agency):
    abroad = {
        "cross_border_transfer": True,
        "cross_border_destination": "新加坡",
        "cross_border_separate_consent": True,
    }
    standard = _credit_initiative(agency, transfer_mechanism="cac_assessment", **abroad)
    InitiativeDataCategory.objects.filter(initiative=standard, category="contact").update(
        lawful_basis="other"
    )
    exempt = _credit_initiative(agency, transfer_mechanism="exemption", **abroad)
    results = _run("data_protection_v2", [standard, exempt], D(2026, 1, 1))
    # The CAC assessment is a mechanism; "other basis under Art. 13" is a basis; an exemption is not a mechanism.
    assert results[standard.pk].value == 4.0
    assert results[exempt.pk].value == 0.0
    assert [b["rule"] for b in results[exempt.pk].data["breaches"]] == ["PIPL Art. 38"]
    assert results[exempt.pk].data["transfer_mechanism"] == "exemption"


def test_nothing_recorded_is_unrated_and_no_personal_data_is_4(db):
    blank = InitiativeFactory(bank=BankFactory(), pillar_id="data_sharing")
    none_shared = InitiativeFactory(bank=BankFactory(), pillar_id="data_sharing", no_personal_data=True)
    results = _run("data_protection_v2", [blank, none_shared], D(2026, 1, 1))
    assert results[blank.pk].value is None
    assert results[blank.pk].data["missing"] == [
        "personal_data_categories",
        "provided_to_partner",
        "cross_border",
        "credit_use",
    ]
    assert results[none_shared.pk].value == 4.0


# --- fixed queries per chunk -----------------------------------------------------------------------------------
def _portfolio(n: int, agency, partners) -> list:
    seg, whole, _bare = partners
    bank = BankFactory()
    made = []
    for i in range(n):
        initiative = _credit_initiative(agency)
        initiative.bank = bank
        initiative.save()
        InitiativePartnerFactory(initiative=initiative, partner=seg, role="lead")
        InitiativePartnerFactory(initiative=initiative, partner=whole, role="data")
        kpi = KPIFactory(initiative=initiative, baseline=0, target=10, baseline_date=D(2025, 1, 1))
        KPIObservationFactory(kpi=kpi, observed_on=D(2025, 2, 1) + datetime.timedelta(days=i), value=i)
        made.append(initiative)
    return made


@pytest.mark.parametrize("source", ["partner_strength_v2", "kpi_attainment_v2", "data_protection_v2"])
def test_a_chunk_costs_the_same_queries_for_2_and_20_initiatives(agency, partners, source):
    few, many = _portfolio(2, agency, partners), _portfolio(20, agency, partners)
    counts = {}
    for label, chunk in (("few", few), ("many", many)):
        with CaptureQueriesContext(connection) as queries:
            results = _run(source, chunk, D(2026, 1, 1))
        counts[label] = len(queries)
        assert set(results) == {i.pk for i in chunk}
    assert counts["few"] == counts["many"] <= 3, counts


# --- the scoring date is an input of the score ---------------------------------------------------------------
@pytest.fixture
def version_2(db, taxonomy):
    """A draft data-sharing rubric version whose computed criteria take the version 2 sources."""
    from scoring.services.rubrics import rubrics_load

    rubrics_load(versions={1})
    published = RubricVersion.objects.get(rubric__pillar_id="data_sharing", rubric__is_default=True)
    draft = RubricVersion.objects.create(
        rubric=published.rubric, number=published.number + 100, status="draft"
    )
    for c in published.criteria.all():
        c.pk, c.version = None, draft
        if c.computed_from:
            c.computed_from = f"{c.computed_from}_v2"
        c.save()
    assert set(
        Criterion.objects.filter(version=draft)
        .exclude(computed_from="")
        .values_list("computed_from", flat=True)
    ) == {
        "partner_strength_v2",
        "kpi_attainment_v2",
        "data_protection_v2",
    }
    return draft


def _stored_as_of(score: Score) -> set[str]:
    return {d["as_of"] for d in score.breakdown["inputs"]["data"].values() if "as_of" in d}


def test_the_scoring_date_is_in_the_inputs_hash_and_stored_with_the_score(version_2, agency, partners):
    initiative = _portfolio(1, agency, partners)[0]
    run = lambda day: score_initiatives(  # noqa: E731
        bank_id=initiative.bank_id, initiative_ids=[initiative.pk], rubric_version_id=version_2.pk, as_of=day
    )
    first, again, later = run(D(2026, 1, 1)), run(D(2026, 1, 1)), run(D(2026, 1, 2))
    assert (first.created, again.created, later.created) == (1, 0, 1)
    scores = list(Score.objects.filter(initiative=initiative).order_by("id"))
    assert [_stored_as_of(s) for s in scores] == [{"2026-01-01"}, {"2026-01-02"}]
    assert scores[0].inputs_hash != scores[1].inputs_hash
    assert not any(g["key"] == "data_protection" for g in scores[0].failed_gates)
    # The licence lapses on 2026-06-30: judged on 2026-07-01 the 断直连 gate fails, on its stored date it passed.
    run(D(2026, 7, 1))
    lapsed = Score.objects.filter(initiative=initiative).latest("id")
    data = lapsed.breakdown["inputs"]["data"]["data_protection"]
    assert data["as_of"] == "2026-07-01" and data["breaches"][0]["rule"] == "断直连"
    assert lapsed.tier == "D" and any(g["key"] == "data_protection" for g in lapsed.failed_gates)


def test_a_jobs_chunks_judge_on_the_day_the_job_was_requested(version_2, agency, partners):
    initiative = _portfolio(1, agency, partners)[0]
    job = score_job_create(
        bank_id=initiative.bank_id, initiative_ids=[initiative.pk], rubric_version=version_2
    )
    requested = datetime.datetime(2026, 3, 1, 23, 30, tzinfo=datetime.UTC)  # 2026-03-02 in Asia/Shanghai
    type(job).objects.filter(pk=job.pk).update(created_at=requested)
    for chunk_id in score_job_plan(job.pk):
        score_chunk_run(chunk_id)
    score = Score.objects.get(initiative=initiative)
    assert _stored_as_of(score) == {"2026-03-02"}
    stored = json.loads(json.dumps(score.breakdown))
    assert stored["inputs"]["data"]["partner_strength"]["stale_after_days"] == 548


def test_version_1_sources_are_unchanged(partners):
    """Version 1 reads company growth first and knows no scoring date: its results are what they were."""
    seg, _whole, _bare = partners
    initiative = InitiativeFactory(bank=BankFactory())
    InitiativePartnerFactory(initiative=initiative, partner=seg, role="lead")
    result = SOURCES["partner_strength"]([InitiativeFacts(initiative.pk, as_of=D(2026, 1, 1))])[initiative.pk]
    assert result.data["partners"][0]["revenue_growth_pct"] == 50.0 and "as_of" not in result.data
    assert SOURCES["data_protection"] is not SOURCES["data_protection_v2"]
    assert isinstance(result, formulas.FormulaResult)
