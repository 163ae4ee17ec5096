"""A gate that fails for missing data names what is missing, in the reader's language (scoring/missing.py)."""

import pytest
from django.utils import translation

from scoring.missing import missing_label, missing_labels


@pytest.mark.parametrize(
    ("item", "zh", "en"),
    [
        (
            "credit_use",
            "信用相关信息是否用于授信决策",
            "whether credit-related data is used for credit decisions",
        ),
        ("target of 获客数", "获客数的目标值", "the target of 获客数"),
        ("sensitivity of credit", "信用信息是否属于敏感个人信息", "whether Credit data is sensitive"),
        (
            "figures of the lead partner 某金融科技",
            "牵头合作方某金融科技的数据",
            "figures of the lead partner 某金融科技",
        ),
        ("something new", "something new", "something new"),
    ],
)
def test_each_form_of_missing_input_reads_in_both_languages(item, zh, en):
    with translation.override("zh-hans"):
        assert missing_label(item) == zh
    with translation.override("en"):
        assert missing_label(item) == en


def test_a_list_joins_with_the_languages_separator():
    with translation.override("zh-hans"):
        assert (
            missing_labels(["cross_border", "credit_use"]) == "个人信息是否出境、信用相关信息是否用于授信决策"
        )
    with translation.override("en"):
        assert missing_labels(["KPIs", "partners"]) == "KPIs, partners"


def test_a_report_names_what_a_failed_gate_lacked():
    from scoring.reports.render import gate_reason_text

    gate = {"reason": "missing", "missing": ["credit_use"]}
    with translation.override("zh-hans"):
        assert gate_reason_text(gate) == "数据缺失：信用相关信息是否用于授信决策"
        assert gate_reason_text({"reason": "unrated"}) == "未打分"
    with translation.override("en"):
        assert (
            gate_reason_text(gate) == "missing data: whether credit-related data is used for credit decisions"
        )
