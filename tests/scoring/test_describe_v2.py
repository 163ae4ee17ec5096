"""Version 2's computed criteria described in the reader's language from the data their sources stored.

Chinese reads as a native writes it (full-width punctuation, 《个人信息保护法》 with its article in Chinese
numerals); every breach and every missing fact names its PIPL article or the 断直连 rule; English says the same.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from partnerships.models import InitiativeDataCategory, TechPartner
from partnerships.services.seed import seed_reference_data
from scoring.describe import describe_computed
from scoring.sources import SOURCES, InitiativeFacts
from tests.factories import (
    BankFactory,
    InitiativeFactory,
    InitiativePartnerFactory,
    KPIFactory,
    KPIObservationFactory,
    TechPartnerFactory,
)
from tests.test_chinese_text import HALF_WIDTH

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("taxonomy")]

D = datetime.date


def _described(source: str, initiative, as_of: datetime.date) -> dict[str, str]:
    result = SOURCES[source]([InitiativeFacts(initiative.pk, as_of=as_of)])[initiative.pk]
    texts = {}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            texts[language] = describe_computed(source, result.data, result.rationale)
    assert texts["zh-hans"] != result.rationale and texts["en"] != result.rationale  # not the fallback
    assert not HALF_WIDTH.search(texts["zh-hans"]), texts["zh-hans"]
    assert texts["zh-hans"].endswith("。") and texts["en"].endswith(".")
    return texts


def test_partner_strength_names_the_segments_counted_once_and_stale_figures():
    seed_reference_data()
    initiative = InitiativeFactory(bank=BankFactory())
    InitiativePartnerFactory(
        initiative=initiative, partner=TechPartner.objects.get(key="tencent"), role="lead"
    )
    texts = _described("partner_strength_v2", initiative, D(2026, 12, 2))
    zh, en = texts["zh-hans"], texts["en"]
    assert zh.startswith("腾讯（牵头合作方，权重 2）：市值 +43%（2024）→ 3，营收增速 +8.4%（2024Q3，按")
    assert "→ 2（国际市场游戏、本土市场游戏属于增值服务，不重复计算）" in zh
    assert "数据已过时：报告期末早于 2026-12-02 超过 548 天" in zh and zh.endswith("数值 2.5。")
    assert en.startswith("Tencent (Lead partner, weight 2): market cap +43% (2024) → 3, revenue growth +8.4%")
    assert "国际市场游戏, 本土市场游戏 are inside 增值服务 and not counted again" in en
    assert "more than 548 days before 2026-12-02" in en
    fresh = _described("partner_strength_v2", initiative, D(2025, 1, 1))
    assert "过时" not in fresh["zh-hans"] and "stale" not in fresh["en"]


def test_partner_strength_unrated_names_the_lead_without_figures():
    bare = TechPartnerFactory(key="bare", name_zh_hans="无数据公司", name_en="Bare Co")
    initiative = InitiativeFactory(bank=BankFactory())
    InitiativePartnerFactory(initiative=initiative, partner=bare, role="lead")
    texts = _described("partner_strength_v2", initiative, D(2025, 1, 1))
    assert texts["zh-hans"].startswith(
        "未评分：牵头合作方无数据公司没有任何数据；无数据公司（牵头合作方）：无数据，按 0 计"
    )
    assert texts["en"].startswith(
        "Not rated: the lead partner Bare Co has no figures; Bare Co (Lead partner)"
    )


def test_kpi_attainment_along_the_path_with_weights_and_what_is_missing():
    initiative = InitiativeFactory(bank=BankFactory())
    kpi = KPIFactory(
        initiative=initiative,
        name="获客成本",
        baseline=0,
        target=100,
        baseline_date=D(2025, 1, 1),
        target_date=D(2025, 12, 31),
        weight=3,
    )
    KPIObservationFactory(kpi=kpi, observed_on=D(2025, 7, 1), value=40)
    KPIFactory(initiative=initiative, name="无基线日期", baseline=0, target=10, target_date=D(2025, 3, 1))
    texts = _described("kpi_attainment_v2", initiative, D(2025, 7, 15))
    zh, en = texts["zh-hans"], texts["en"]
    assert "获客成本：基线值 0，截至 2025-07-01 应达到 49.73，最新值 40 → 80.4%，权重 3" in zh
    assert "无基线日期：未记录基线日期 → 0%" in zh and "加权平均达成率 60.3% × 4 = 2.41" in zh
    assert "获客成本: baseline 0, expected 49.73 by 2025-07-01, latest 40 → 80.4%, weight 3" in en
    assert "无基线日期: no baseline date recorded → 0%" in en
    early = InitiativeFactory(bank=BankFactory())
    KPIFactory(
        initiative=early,
        name="明年",
        baseline=0,
        target=1,
        baseline_date=D(2026, 1, 1),
        target_date=D(2026, 6, 1),
    )
    later = _described("kpi_attainment_v2", early, D(2025, 7, 15))
    assert later["zh-hans"].startswith(
        "未评分：尚无到期应计的 KPI；明年：截至 2025-07-15 按路径仍应处于基线值"
    )
    assert later["en"].startswith("Not rated: no KPI is due yet")


def _initiative(categories, **facts):
    initiative = InitiativeFactory(bank=BankFactory(), pillar_id="data_sharing", **facts)
    for key, basis, consent in categories:
        InitiativeDataCategory.objects.create(
            initiative=initiative, category=key, lawful_basis=basis, separate_consent=consent
        )
    return initiative


def test_data_protection_names_the_article_of_every_breach(agency):
    unlicensed = TechPartnerFactory(
        key="unlicensed", name_zh_hans="无牌征信", name_en="Unlicensed", kind="credit_reporting"
    )
    initiative = _initiative(
        [("identity", "contract", False), ("contact", "", False)],
        provided_to_partner=True,
        cross_border_transfer=True,
        cross_border_destination="新加坡",
        credit_use=True,
        credit_route_agency=unlicensed,
    )
    texts = _described("data_protection_v2", initiative, D(2026, 1, 1))
    zh, en = texts["zh-hans"], texts["en"]
    for article in ("第十三条", "第二十八条、第二十九条", "第二十三条", "第三十八条", "第三十九条"):
        assert f"《个人信息保护法》{article}：" in zh, article
    assert "《个人信息保护法》第二十八条、第二十九条：身份信息属于敏感个人信息，处理时未取得单独同意" in zh
    assert "《个人信息保护法》第十三条：联系方式信息未记录合法性基础" in zh
    assert (
        "“断直连”要求（信用相关数据只能经持牌征信机构提供）：无牌征信在 2026-01-01 没有有效的个人征信业务许可"
        in zh
    )
    assert zh.endswith("→ 0。")
    for rule in ("PIPL Art. 13", "PIPL Art. 28–29", "PIPL Art. 23", "PIPL Art. 38", "PIPL Art. 39", "断直连"):
        assert rule in en, rule
    assert "Unlicensed holds no personal credit-reporting licence valid on 2026-01-01" in en
    assert "the transfer to 新加坡 has no mechanism" in en


def test_data_protection_names_an_exemption_that_is_not_a_mechanism(agency):
    initiative = _initiative(
        [("contact", "contract", False)],
        provided_to_partner=False,
        cross_border_transfer=True,
        cross_border_destination="香港",
        transfer_mechanism="exemption",
        cross_border_separate_consent=True,
        credit_use=False,
    )
    texts = _described("data_protection_v2", initiative, D(2026, 1, 1))
    assert "《个人信息保护法》第三十八条：向香港的传输依据为“" in texts["zh-hans"]
    assert "rests on “Exempted under the 2024 cross-border data provisions”" in texts["en"]


def test_data_protection_names_every_missing_fact_with_its_rule():
    blank = _initiative([("biometric", "separate_consent", True)], cross_border_transfer=True)
    texts = _described("data_protection_v2", blank, D(2026, 1, 1))
    zh, en = texts["zh-hans"], texts["en"]
    assert zh.startswith("未评分；以下事项未记录：是否向合作方提供个人信息（《个人信息保护法》第二十三条）")
    assert (
        "信用相关数据是否用于授信决策（“断直连”要求）" in zh
        and "境外接收地（《个人信息保护法》第三十八条、第三十九条）" in zh
    )
    assert en.startswith(
        "Not rated; not recorded: whether personal data is provided to the partner (PIPL Art. 23)"
    )
    nothing = _described("data_protection_v2", _initiative([]), D(2026, 1, 1))
    assert (
        "个人信息类别及其合法性基础（《个人信息保护法》第十三条），或“未共享个人信息”" in nothing["zh-hans"]
    )
    none_shared = _described("data_protection_v2", _initiative([], no_personal_data=True), D(2026, 1, 1))
    assert none_shared["zh-hans"] == "已记录：未共享个人信息 → 4。"
    assert none_shared["en"] == "Recorded: no personal data is shared → 4."


def test_data_protection_steps_when_every_rule_is_met(agency):
    initiative = _initiative(
        [("credit", "separate_consent", True), ("contact", "contract", False)],
        provided_to_partner=True,
        provision_separate_consent=True,
        cross_border_transfer=False,
        credit_use=True,
        credit_route_agency=agency,
        impact_assessment_on=D(2025, 3, 1),
        processing_agreement=True,
    )
    texts = _described("data_protection_v2", initiative, D(2026, 6, 1))
    assert texts["zh-hans"] == (
        "每类个人信息均有合法性基础：联系方式信息、信用信息（敏感个人信息，已取得单独同意） → 2；"
        "向合作方提供个人信息已取得单独同意（《个人信息保护法》第二十三条）；"
        "信用相关数据经演示征信提供，该机构于 2026-06-01 持有有效牌照（“断直连”要求）；"
        "2025-03-01 完成个人信息保护影响评估（《个人信息保护法》第五十五条）→ 3；已与合作方签订数据处理协议 → 4。"
    )
    assert "data-processing agreement with the partner → 4." in texts["en"]
    old = _described("data_protection_v2", initiative, D(2028, 6, 1))  # licence lapsed, assessment too old
    assert "演示征信在 2028-06-01 没有有效的个人征信业务许可" in old["zh-hans"]
    initiative.credit_use = False
    initiative.credit_route_agency = None
    initiative.save()
    aged = _described("data_protection_v2", initiative, D(2028, 6, 1))
    assert (
        "2025-03-01 的个人信息保护影响评估已超过三年（《个人信息保护法》第五十五条）→ 仍为 2"
        in aged["zh-hans"]
    )
    assert "is older than three years (PIPL Art. 55) → stays 2" in aged["en"]


def test_data_of_another_shape_falls_back_to_what_the_formula_wrote():
    assert describe_computed(
        "data_protection_v2", {"breaches": [{"rule": "PIPL Art. 13"}]}, "as written"
    ) == ("as written")
    assert (
        describe_computed("kpi_attainment_v2", {"kpis": [{"counted": True}], "mean_attainment": 1}, "x")
        == "x"
    )
