"""One format per kind of figure (partnerships.formatting), the same in both languages but for words and units."""

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from partnerships.choices import InitiativeStatus
from partnerships.formatting import (
    fmt,
    fmt_bool,
    fmt_choice,
    fmt_count,
    fmt_date,
    fmt_delta,
    fmt_figure,
    fmt_hhi,
    fmt_instant,
    fmt_metric,
    fmt_percent,
    fmt_rating,
    fmt_total,
    xlsx_cell,
)

LANGUAGES = ["zh-hans", "en"]


@pytest.fixture(params=LANGUAGES)
def language(request):
    with translation.override(request.param):
        yield request.param


def test_totals_have_one_decimal(language):
    assert [fmt_total(v) for v in (72.45, 82, Decimal("64.50"), "57.7", 0)] == [
        "72.5",
        "82.0",
        "64.5",
        "57.7",
        "0.0",
    ]


def test_deltas_are_signed(language):
    assert [fmt_delta(v) for v in (3.46, -2, -0.04, 0)] == ["+3.5", "-2.0", "0.0", "0.0"]


def test_ratings_as_entered_with_at_most_two_decimals(language):
    assert [fmt_rating(v) for v in (3, Decimal("2.50"), 2.833333, 2.675, Decimal("4.0000"))] == [
        "3",
        "2.5",
        "2.83",
        "2.68",  # half up from the decimal text, not the binary float 2.67499…
        "4",
    ]


def test_percentages_with_at_most_one_decimal_and_the_sign(language):
    assert [fmt_percent(v) for v in (12.5, 50, 33.3333, 0)] == ["12.5%", "50%", "33.3%", "0%"]
    assert fmt_percent(0.5, fraction=True) == "50%" and fmt_percent(0.1234, fraction=True) == "12.3%"
    assert fmt_percent(43, signed=True) == "+43%" and fmt_percent(-8.25, signed=True) == "-8.3%"


def test_hhi_and_counts_are_grouped_integers_in_both_languages(language):
    # Chinese groups by three with a comma, as CLDR and Excel on zh-CN do (config/formats overrides Django's
    # zh_Hans, which has no separator).
    assert [fmt_hhi(v) for v in (3437.5, 2450.5, 980, 10000)] == ["3,438", "2,451", "980", "10,000"]
    assert fmt_count(1234567) == "1,234,567"


def test_figures_are_grouped_with_at_most_two_decimals(language):
    assert [fmt_figure(v) for v in (1671.934, Decimal("150.0000"), 12.5, -0.001)] == [
        "1,671.93",
        "150",
        "12.5",
        "0",
    ]


def test_metrics_carry_their_unit_in_the_readers_words():
    with translation.override("zh-hans"):
        assert fmt_metric(Decimal("1671.9300"), "亿元") == "1,671.93亿元"
        assert fmt_metric(3, "名") == "第3名" and fmt_metric(43, "%") == "43%"
        assert fmt_metric(1.2, "个百分点") == "1.2个百分点" and fmt_metric(12000, "万台") == "12,000万台"
    with translation.override("en"):
        assert fmt_metric(Decimal("1671.9300"), "亿元") == "1,671.93 RMB 100m"
        assert fmt_metric(3, "名") == "No. 3" and fmt_metric(43, "%") == "43%"
        assert fmt_metric(54.1, "亿美元") == "54.1 USD 100m"


def test_words_follow_the_language():
    with translation.override("zh-hans"):
        assert (fmt_bool(True), fmt_bool(False), fmt_choice(InitiativeStatus, "live")) == (
            "是",
            "否",
            "已上线",
        )
    with translation.override("en"):
        assert (fmt_bool(True), fmt_bool(False), fmt_choice(InitiativeStatus, "live")) == (
            "Yes",
            "No",
            "Live",
        )


def test_empty_is_an_empty_cell_never_none(language):
    formatters = [
        fmt_total,
        fmt_delta,
        fmt_rating,
        fmt_percent,
        fmt_hhi,
        fmt_count,
        fmt_figure,
        fmt_bool,
        fmt_date,
    ]
    for formatter in formatters:
        assert formatter(None) == "" and formatter("") == "", formatter
    assert (
        fmt_metric(None, "亿元") == "" and fmt_choice(InitiativeStatus, "") == "" and fmt_instant(None) == ""
    )
    assert fmt("text", None) == "" and xlsx_cell("total", None) == (None, None)


def test_instants_and_dates_are_in_beijing_time(language):
    late_utc = "2024-11-17T18:30:00+00:00"
    assert fmt_instant(late_utc) == "2024-11-18 02:30:00 +08:00"
    assert fmt_date(late_utc) == "2024-11-18"  # the Beijing date, not the UTC one
    assert (
        fmt_instant(datetime.datetime(2024, 11, 17, 18, 30, tzinfo=datetime.UTC))
        == "2024-11-18 02:30:00 +08:00"
    )
    assert fmt_date(datetime.date(2024, 11, 11)) == "2024-11-11"


def test_workbook_cells_are_numbers_with_the_format_that_shows_the_same_text():
    with translation.override("zh-hans"):
        assert xlsx_cell("total", 72.45) == (72.5, "0.0")
        assert xlsx_cell("delta", -2) == (-2.0, "+0.0;-0.0;0.0")
        assert xlsx_cell("rating", 2.8333) == (2.83, "0.00") and xlsx_cell("rating", 3) == (3.0, "0")
        assert xlsx_cell("percent", 12.5) == (0.125, "0.0%") and xlsx_cell("percent", 50) == (0.5, "0%")
        assert xlsx_cell("fraction", 0.5) == (0.5, "0%")
        assert xlsx_cell("hhi", 3437.5) == (3438, "#,##0") and xlsx_cell("count", 12) == (12, "#,##0")
        assert xlsx_cell("figure", 1671.934) == (1671.93, "#,##0.00")
        assert xlsx_cell("metric", 1671.93, unit="亿元") == (1671.93, '#,##0.00"亿元"')
        assert xlsx_cell("metric", 3, unit="名") == (3, '"第"0"名"')
        assert xlsx_cell("bool", True) == ("是", None)  # never Excel's TRUE
    with translation.override("en"):
        assert xlsx_cell("metric", 1671.93, unit="亿元") == (1671.93, '#,##0.00" RMB 100m"')
        assert xlsx_cell("bool", False) == ("No", None)


def test_template_filters_write_what_the_functions_write(language):
    template = Template(
        "{% load scorecard_format %}{{ t|total }} {{ d|delta }} {{ r|rating }} {{ s|percent }} "
        '{{ a|percent:"fraction" }} {{ h|hhi }} {{ m|metric:"亿元" }} {{ b|yes_no }} {{ n|total }}|'
    )
    text = template.render(
        Context(
            {
                "t": 72.45,
                "d": 3.5,
                "r": 2.5,
                "s": 12.5,
                "a": 0.5,
                "h": 3437.5,
                "m": 1671.93,
                "b": True,
                "n": None,
            }
        )
    )
    assert text == " ".join(
        [
            fmt_total(72.45),
            "+3.5",
            "2.5",
            "12.5%",
            "50%",
            "3,438",
            fmt_metric(1671.93, "亿元"),
            fmt_bool(True),
            "|",
        ]
    )
