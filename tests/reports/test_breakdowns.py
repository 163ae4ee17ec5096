"""Score breakdowns downloaded from the initiative list: in the reader's language, the reasons of computed criteria
described from their figures (scoring.describe), other banks' initiatives never included, a bounded cost."""

import csv
import io
import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from scoring.admin import initiatives as initiatives_admin
from scoring.models import Score
from scoring.services.compute import score_initiatives
from tests.factories import InitiativeFactory
from tests.scoring.conftest import make_rated_initiative

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
XLSX_ACTION, CSV_ACTION = "export_breakdowns_xlsx", "export_breakdowns_csv"


@pytest.fixture
def scored(two_banks, rubrics):
    banks, users = two_banks
    mine = make_rated_initiative(bank=banks["A"])
    theirs = make_rated_initiative(bank=banks["B"])
    unscored = InitiativeFactory(bank=banks["A"], code="zz-unscored", title="尚无评分的项目")
    for bank, initiative in ((banks["A"], mine), (banks["B"], theirs)):
        score_initiatives(bank_id=bank.pk, initiative_ids=[initiative.pk])
    return users, mine, theirs, unscored


def _download(client, action: str, ids: list[int], language: str):
    return client.post(
        reverse("admin:partnerships_initiative_changelist"),
        {"action": action, "_selected_action": ids},
        HTTP_ACCEPT_LANGUAGE=language,
    )


def _sheet(response) -> list[dict]:
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows())
    header = [c.value for c in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_a_chinese_breakdown_describes_computed_criteria_in_chinese(scored, client_for):
    users, mine, theirs, unscored = scored
    client = client_for(users[("A", "viewer")])
    response = _download(client, XLSX_ACTION, [mine.pk, theirs.pk, unscored.pk], "zh-hans")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    rows = _sheet(response)
    header = list(rows[0])
    assert all(CJK.search(h) or h.endswith("ID") for h in header), header
    assert {r["编码"].value for r in rows} == {mine.code, unscored.code}  # bank B's initiative is not there

    by_criterion = {r["评分指标"].value: r for r in rows if r["编码"].value == mine.code}
    strength = by_criterion["合作方实力"]
    reason = strength["理由或数据"].value
    assert "market cap" in str(
        Score.objects.get(initiative=mine).breakdown
    )  # what the formula stored, in English
    assert "腾讯" in reason and "+43%" in reason and CJK.search(reason.replace("腾讯", ""))
    assert "market cap" not in reason  # described in Chinese from the figures instead
    assert strength["来源"].value == "由数据计算"

    total = strength["总分"]
    assert total.value == 73.5 and total.number_format == "0.0"
    weight, rating = strength["权重"], strength["评分值"]
    assert isinstance(weight.value, int | float) and weight.number_format in ("0", "0.0", "0.00")
    assert rating.value == 3 and rating.number_format == "0"
    assert strength["暂定"].value in ("是", "否") and strength["置信度"].number_format in ("0%", "0.0%")
    rated = next(r for name, r in by_criterion.items() if r["来源"].value == "人工打分")
    assert rated["理由或数据"].value.endswith("试点实测")  # a rater's words, as typed

    (missing,) = [r for r in rows if r["编码"].value == unscored.code]
    assert missing["理由或数据"].value == "尚未评分" and missing["总分"].value is None
    for row in rows:
        for cell in row.values():
            assert not isinstance(cell.value, bool) and cell.value not in ("True", "False", "None")


def test_an_english_breakdown_reads_in_english(scored, client_for):
    users, mine, _theirs, _unscored = scored
    response = _download(client_for(users[("A", "analyst")]), CSV_ACTION, [mine.pk], "en")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["# Score breakdowns"]
    table = [dict(zip(rows[1], r, strict=True)) for r in rows[2:] if r]
    strength = next(r for r in table if r["Criterion"] == "Partner strength")
    assert "Tencent" in strength["Rationale or data"] or "腾讯" in strength["Rationale or data"]
    assert "market cap +43%" in strength["Rationale or data"] and strength["Source"] == "Computed from data"
    assert strength["Total"] == "73.5" and strength["Rubric version"].endswith(" v1")
    assert not CJK.search("".join(rows[1]))


def test_the_download_costs_the_same_queries_for_one_initiative_or_many(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiatives = [make_rated_initiative(bank=banks["A"]) for _ in range(4)]
    score_initiatives(bank_id=banks["A"].pk, initiative_ids=[i.pk for i in initiatives])
    client = client_for(users[("A", "viewer")])
    _download(client, XLSX_ACTION, [initiatives[0].pk], "zh-hans")  # warm the rubric cache
    counts = []
    for chosen in (initiatives[:1], initiatives):
        with CaptureQueriesContext(connection) as queries:
            assert _download(client, XLSX_ACTION, [i.pk for i in chosen], "zh-hans").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_too_many_initiatives_is_a_message_not_a_file(scored, client_for, monkeypatch):
    users, mine, _theirs, unscored = scored
    monkeypatch.setattr(initiatives_admin, "BREAKDOWN_MAX_INITIATIVES", 1)
    client = client_for(users[("A", "viewer")])
    response = _download(client, XLSX_ACTION, [mine.pk, unscored.pk], "en")
    assert response.status_code == 302
    assert "at most 1 initiatives" in " ".join(str(m) for m in get_messages(response.wsgi_request))
