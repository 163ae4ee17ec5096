"""Computed criteria are described in the reader's language from the figures used."""

from django.utils import translation

from scoring import formulas
from scoring.describe import describe_computed


def test_partner_strength_described_from_its_figures():
    result = formulas.partner_strength(
        [
            formulas.PartnerFigures("腾讯", "lead", 43, "2024", 9, "2024Q3"),
            formulas.PartnerFigures("X", "technology"),
        ]
    )
    with translation.override("en"):
        text = describe_computed("partner_strength", result.data, result.rationale)
    assert "腾讯" in text and "+43%" in text and "2024Q3" in text and "not counted" in text
    with translation.override("zh-hans"):
        zh = describe_computed("partner_strength", result.data, result.rationale)
    assert "腾讯" in zh and "market cap" not in zh


def test_data_protection_steps_and_fallback():
    facts = formulas.DataSharingFacts(("identity",), "separate_consent", True, True, "")
    result = formulas.data_protection(facts)
    with translation.override("en"):
        text = describe_computed("data_protection", result.data, result.rationale)
    assert "Separate consent" in text and "stays 3" in text
    assert describe_computed("unknown_source", {"a": 1}, "as written") == "as written"
