"""Version 2 formulas (scoring/formulas_v2.py): worked examples, and the rule above all — blanking any input never
raises the value and never turns an unrated or failing result into a passing one."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.formulas_v2 import (
    DataCategory,
    KpiPath,
    PartnerFiguresV2,
    PersonalDataFacts,
    Segment,
    data_protection_v2,
    expected_value,
    kpi_attainment_v2,
    partner_strength_v2,
    segment_growth,
)

D = datetime.date
AS_OF = D(2025, 6, 30)

TENCENT_SEGMENTS = (
    Segment("增值服务", 826.95, 9),
    Segment("营销服务", 299.93, 17),
    Segment("金融科技及企业服务", 530.89, 2),
    Segment("其他", 14.16, 28),
    Segment("本土市场游戏", 260.0, 14, part_of="增值服务"),
    Segment("国际市场游戏", 150.0, 9, part_of="增值服务"),
)


def test_tencent_segment_growth_counts_the_games_lines_once():
    growth, counted, left_out = segment_growth(TENCENT_SEGMENTS)
    assert round(growth, 2) == 8.37
    assert counted == ["增值服务", "营销服务", "金融科技及企业服务", "其他"]
    assert [s.split(" ")[0] for s in left_out] == ["本土市场游戏", "国际市场游戏"]


def test_partner_strength_names_the_basis_and_marks_stale_rows():
    tencent = PartnerFiguresV2(
        "腾讯", "lead", 43, "2024", D(2024, 12, 31), TENCENT_SEGMENTS, "2024Q3", D(2024, 9, 30), 99.0
    )
    result = partner_strength_v2([tencent], as_of=AS_OF)
    row = result.data["partners"][0]
    assert (row["market_cap_band"], row["revenue_growth_band"], row["revenue_growth_basis"]) == (
        3,
        2,
        "segments",
    )
    assert result.value == 2.5 and row["stale"] is False  # company growth (99) ignored: segments exist
    late = partner_strength_v2([tencent], as_of=D(2026, 6, 30))
    assert late.data["partners"][0]["stale"] is True and "stale" in late.rationale
    company_only = dataclasses.replace(
        tencent, segments=(), company_growth_pct=12, company_growth_period_end=D(2024, 9, 30)
    )
    assert (
        partner_strength_v2([company_only], as_of=AS_OF).data["partners"][0]["revenue_growth_basis"]
        == "company"
    )


def test_a_lead_partner_without_figures_makes_partner_strength_unrated():
    result = partner_strength_v2(
        [
            PartnerFiguresV2("某金融科技公司", "lead"),
            PartnerFiguresV2("美团", "channel", 84, "2024", D(2024, 12, 31)),
        ],
        as_of=AS_OF,
    )
    assert (
        result.value is None
        and "某金融科技公司" in result.rationale
        and result.rationale.startswith("missing")
    )


def test_other_partners_without_figures_count_zero():
    known = PartnerFiguresV2("美团", "lead", 84, "2024", D(2024, 12, 31))
    alone = partner_strength_v2([known], as_of=AS_OF).value
    with_unknown = partner_strength_v2(
        [known, PartnerFiguresV2("某担保公司", "guarantor")], as_of=AS_OF
    ).value
    assert alone == 2.0 and with_unknown == pytest.approx(4 / 3)


def test_kpi_path_worked_example():
    """Baseline 100 on 2025-01-01, target 200 on 2025-12-31 (364 days). Observed 140 on 2025-06-30 (180 days in):
    expected 100 + 100 × 180/364 = 149.45; a = 40 / 49.45 = 0.809; value 4 × 0.809 = 3.24. Version 1 said
    40 / 100 = 0.4 → 1.6 for the same figures."""
    kpi = KpiPath("获客数", 100, 200, 140, D(2025, 6, 30), D(2025, 1, 1), D(2025, 12, 31))
    assert expected_value(100, 200, D(2025, 1, 1), D(2025, 12, 31), D(2025, 6, 30)) == pytest.approx(
        149.45, abs=0.01
    )
    result = kpi_attainment_v2([kpi], as_of=AS_OF)
    assert result.value == pytest.approx(4 * 40 / (100 * 180 / 364), rel=1e-12)
    assert round(result.value, 2) == 3.24


def test_kpi_weights_and_not_yet_due():
    on_track = KpiPath("a", 0, 10, 10, D(2025, 6, 1), D(2025, 1, 1), D(2025, 6, 1), weight=3)
    behind = KpiPath("b", 0, 10, 0, D(2025, 6, 1), D(2025, 1, 1), D(2025, 6, 1), weight=1)
    future = KpiPath("c", 0, 10, None, None, D(2026, 1, 1), D(2026, 12, 31))
    result = kpi_attainment_v2([on_track, behind, future], as_of=AS_OF)
    assert result.value == pytest.approx(4 * 3 / 4)
    assert [r["counted"] for r in result.data["kpis"]] == [True, True, False]
    assert kpi_attainment_v2([future], as_of=AS_OF).value is None


def test_a_kpi_due_without_an_observation_counts_zero():
    due = KpiPath("a", 0, 10, None, None, D(2025, 1, 1), D(2025, 3, 1))
    result = kpi_attainment_v2([due], as_of=AS_OF)
    assert result.value == 0.0 and "observation of a" in result.data["missing"]


CONSENTED = PersonalDataFacts(
    categories=(DataCategory("contact", "separate_consent", True, False),),
    provided_to_partner=True,
    provision_separate_consent=True,
    cross_border=False,
    credit_use=False,
    impact_assessment_on=D(2024, 3, 1),
    processing_agreement=True,
)


@pytest.mark.parametrize(
    ("facts", "value", "rule"),
    [
        (CONSENTED, 4.0, None),
        (dataclasses.replace(CONSENTED, processing_agreement=False), 3.0, None),
        (dataclasses.replace(CONSENTED, impact_assessment_on=D(2021, 1, 1)), 2.0, None),
        (PersonalDataFacts(no_personal_data=True), 4.0, None),
        (PersonalDataFacts(), None, None),  # nothing recorded: unrated, not 4 as version 1 said
        (
            dataclasses.replace(
                CONSENTED, categories=(DataCategory("financial_accounts", "consent", False),)
            ),
            0.0,
            "PIPL Art. 28–29",
        ),
        (dataclasses.replace(CONSENTED, provision_separate_consent=False), 0.0, "PIPL Art. 23"),
        (
            dataclasses.replace(CONSENTED, cross_border=True, cross_border_destination="新加坡"),
            0.0,
            "PIPL Art. 38",
        ),
        (
            dataclasses.replace(
                CONSENTED,
                cross_border=True,
                cross_border_destination="新加坡",
                cross_border_mechanism="standard_contract",
            ),
            0.0,
            "PIPL Art. 39",
        ),
        (dataclasses.replace(CONSENTED, credit_use=True), 0.0, "断直连"),
        (dataclasses.replace(CONSENTED, credit_use=True, credit_route_agency="百行征信"), 4.0, None),
        (
            dataclasses.replace(CONSENTED, categories=(DataCategory("contact", "", True, False),)),
            0.0,
            "PIPL Art. 13",
        ),
    ],
)
def test_data_protection_rules_name_their_article(facts, value, rule):
    result = data_protection_v2(facts, as_of=AS_OF)
    assert result.value == value
    if rule:
        assert rule in [b["rule"] for b in result.data["breaches"]] and rule in result.rationale


def test_unrecorded_facts_are_named_as_missing():
    result = data_protection_v2(
        PersonalDataFacts(categories=(DataCategory("preferences", "consent"),), cross_border=True),
        as_of=AS_OF,
    )
    assert result.value is None
    assert result.data["missing"] == [
        "provided_to_partner",
        "credit_use",
        "sensitivity of preferences",
        "cross_border_destination",
    ]


# -- the property: blanking never helps --------------------------------------------------------------------

dates = st.dates(D(2023, 1, 1), D(2026, 12, 31))
maybe = st.none() | st.booleans()


def _blank(value, annotation: str):
    """The "not recorded" value of a field: None where the field may be None, else False / "" / ()."""
    if "None" in annotation:
        return None
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return ""
    if isinstance(value, tuple):
        return ()
    return None


def _variants(obj, skip=()):
    """obj with one field blanked, for every field that is not already blank."""
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        blank = _blank(value, str(f.type))
        if blank != value or (blank is None and value is not None):
            yield f.name, dataclasses.replace(obj, **{f.name: blank})


def _never_better(before, after):
    # An unrated criterion counts 0 in the total (and fails its gate), like a 0.
    b = 0 if before.value is None else before.value
    a = 0 if after.value is None else after.value
    assert a <= b + 1e-12, (before.rationale, after.rationale)


categories = st.lists(
    st.builds(
        DataCategory,
        st.sampled_from(["contact", "transactions", "financial_accounts", "whereabouts", "preferences"]),
        st.sampled_from(["", "consent", "separate_consent", "contract", "bogus"]),
        st.booleans(),
        maybe,
    ),
    max_size=3,
).map(tuple)
facts = st.builds(
    PersonalDataFacts,
    no_personal_data=st.booleans(),
    categories=st.none() | categories,
    provided_to_partner=maybe,
    provision_separate_consent=st.booleans(),
    cross_border=maybe,
    cross_border_destination=st.sampled_from(["", "新加坡"]),
    cross_border_mechanism=st.sampled_from(
        ["", "standard_contract", "certification", "cac_security_assessment"]
    ),
    cross_border_separate_consent=st.booleans(),
    credit_use=maybe,
    credit_route_agency=st.sampled_from(["", "百行征信"]),
    impact_assessment_on=st.none() | dates,
    processing_agreement=st.booleans(),
)


# The services refuse "no personal data" together with recorded categories; the formula never sees both.
@settings(max_examples=400, deadline=None)
@given(facts.filter(lambda f: not (f.no_personal_data and f.categories)))
def test_blanking_a_personal_data_fact_never_helps(f):
    before = data_protection_v2(f, as_of=AS_OF)
    for _name, blanked in _variants(f, skip=("extra", "categories")):
        _never_better(before, data_protection_v2(blanked, as_of=AS_OF))
    if f.categories:
        _never_better(before, data_protection_v2(dataclasses.replace(f, categories=None), as_of=AS_OF))
    for i, c in enumerate(f.categories or ()):
        for _name, blank_c in _variants(c, skip=("key",)):
            cats = list(f.categories)
            cats[i] = blank_c
            _never_better(
                before, data_protection_v2(dataclasses.replace(f, categories=tuple(cats)), as_of=AS_OF)
            )


figures = st.none() | st.floats(-60, 120, allow_nan=False).map(lambda x: round(x, 1))
segments = st.lists(
    st.builds(
        Segment,
        st.sampled_from(["甲", "乙", "丙"]),
        st.none() | st.floats(1, 1000),
        figures,
        st.sampled_from(["", "甲"]),
    ),
    max_size=3,
).map(tuple)
partners = st.lists(
    st.builds(
        PartnerFiguresV2,
        st.sampled_from(["腾讯", "美团", "某公司"]),
        st.sampled_from(["lead", "channel", "technology"]),
        figures,
        st.just("2024"),
        st.none() | dates,
        segments,
        st.just("2024Q3"),
        st.none() | dates,
        figures,
        st.just("2024"),
        st.none() | dates,
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(partners)
def test_blanking_a_partner_figure_never_helps(ps):
    before = partner_strength_v2(ps, as_of=AS_OF)
    for i, p in enumerate(ps):
        # Each figure is blanked, one at a time, including every figure of every segment; the list of segments
        # is the shape of the partner's figures (segment growth where segments exist, else the company's).
        for _name, blanked in _variants(p, skip=("name", "role", "segments")):
            after = partner_strength_v2([*ps[:i], blanked, *ps[i + 1 :]], as_of=AS_OF)
            _never_better(before, after)
        for j, s in enumerate(p.segments):
            for _name, blank_s in _variants(s, skip=("name", "part_of")):
                segs = list(p.segments)
                segs[j] = blank_s
                after = partner_strength_v2(
                    [*ps[:i], dataclasses.replace(p, segments=tuple(segs)), *ps[i + 1 :]], as_of=AS_OF
                )
                _never_better(before, after)


kpis = st.lists(
    st.builds(
        KpiPath,
        st.sampled_from(["a", "b", "c"]),
        st.none() | st.integers(0, 100).map(float),
        st.none() | st.integers(0, 200).map(float),
        st.none() | st.integers(0, 200).map(float),
        st.none() | dates,
        st.none() | dates,
        st.none() | dates,
        st.sampled_from([1.0, 2.0, 0.5]),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=400, deadline=None)
@given(kpis)
def test_blanking_a_kpi_figure_never_helps(ks):
    before = kpi_attainment_v2(ks, as_of=AS_OF)
    for i, k in enumerate(ks):
        for _name, blanked in _variants(k, skip=("name", "weight")):
            _never_better(before, kpi_attainment_v2([*ks[:i], blanked, *ks[i + 1 :]], as_of=AS_OF))


def test_the_formulas_import_no_django():
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, scoring.formulas_v2; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"
