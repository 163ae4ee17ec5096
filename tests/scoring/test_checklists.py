"""The regulatory checklist: its files (validation, idempotent loading, versions), the answers through the one
door (rules, roles, tenancy), the level reached (expired evidence, fixed queries), and the admin and API doors.
Also the warning for a prohibited or restricted scenario type (P2P) in the admin and the API."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import pytest
import yaml
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partnerships.choices import PillarKey
from partnerships.errors import Conflict, Forbidden, Invalid, NotFound
from partnerships.models import Evidence, ScenarioType
from partnerships.services.evidence import evidence_create
from partnerships.services.seed import load_reference_data
from scoring.models import ChecklistAnswer, ChecklistItem, ChecklistVersion
from scoring.services.checklists import (
    CHECKLIST_DIR,
    ChecklistFileError,
    checklist_answer_set,
    checklist_answers_set,
    checklist_level,
    checklists_load,
    current_checklists,
    parse_checklist_files,
)
from tests.api.conftest import API
from tests.factories import InitiativeFactory, TechPartnerFactory
from tests.partnerships.test_admin import _add_payload

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


# --- fixtures -------------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def english():
    """Messages in English here (the doors' tests ask for their language by header)."""
    with translation.override("en"):
        yield


@pytest.fixture
def checklists(taxonomy):
    checklists_load()
    return current_checklists()


@pytest.fixture
def setup(two_banks, checklists):
    """Bank A's scenario initiative with a link as evidence; bank B's initiative with evidence of its own."""
    banks, users = two_banks
    initiative = InitiativeFactory(bank=banks["A"], code="sc-a", pillar_id="scenario")
    other = InitiativeFactory(bank=banks["B"], code="sc-b", pillar_id="scenario")
    evidence = evidence_create(
        user=None, initiative=initiative, data={"kind": "link", "url": "https://example.com/agreement.pdf"}
    )
    foreign = evidence_create(
        user=None, initiative=other, data={"kind": "link", "url": "https://example.com/other.pdf"}
    )
    return {
        "banks": banks,
        "users": users,
        "initiative": initiative,
        "other": other,
        "evidence": evidence,
        "foreign": foreign,
        "version": checklists["scenario"],
    }


def items_of(version: ChecklistVersion, *levels: int) -> list[ChecklistItem]:
    return list(version.items.filter(level__in=levels).order_by("level", "position"))


def later(days: int = 90) -> datetime.date:
    return TODAY() + datetime.timedelta(days=days)


def answer_all(initiative, version, evidence, *levels, expires_on=None):
    """Every item of ``levels`` met with ``evidence`` (system actor)."""
    checklist_answers_set(
        user=None,
        initiative=initiative,
        answers=[
            {"item": i.key, "answer": "met", "evidence": evidence.pk, "expires_on": expires_on or later()}
            for i in items_of(version, *levels)
        ],
    )


def copy_files(tmp_path: Path) -> Path:
    target = tmp_path / "checklists"
    shutil.copytree(CHECKLIST_DIR, target)
    return target


# --- the files --------------------------------------------------------------------------------------------------
def test_the_shipped_files_cover_every_pillar_and_level_and_cite_their_rules():
    bodies = parse_checklist_files()
    assert sorted(b["pillar"] for b in bodies) == sorted(PillarKey.values)
    for body in bodies:
        assert body["urn"] == f"urn:scorecard:checklist:{body['pillar']}"
        assert {i["level"] for i in body["items"]} == {1, 2, 3, 4}
        for item in body["items"]:
            assert "《" in item["rule"]["zh-hans"] or "金规" in item["rule"]["zh-hans"], item["key"]
            assert item["rule"]["en"] and item["text"]["en"]
    rules = " ".join(i["rule"]["zh-hans"] for b in bodies for i in b["items"])
    for cited in (
        "《商业银行互联网贷款管理暂行办法》",
        "《关于进一步规范商业银行互联网贷款业务的通知》",
        "《关于加强商业银行互联网助贷业务管理 提升金融服务质效的通知》",
        "《中华人民共和国个人信息保护法》第十三条",
        "第二十三条",
        "第二十八条",
        "第三十八条",
        "第五十五条",
        "断直连",
        "《银行保险机构信息科技外包风险监管办法》",
        "《银行保险机构消费者权益保护管理办法》",
    ):
        assert cited in rules, cited


def test_the_file_headers_say_what_each_level_means():
    for path in sorted(CHECKLIST_DIR.glob("*.yaml")):
        header = path.read_text(encoding="utf-8").split("\nurn:")[0]
        for level, words in ((1, "basic legality"), (2, "core regulatory"), (3, "documented"), (4, "tested")):
            assert f"#   {level} " in header and words in header, (path.name, level)


def test_loading_is_idempotent(checklists, django_assert_max_num_queries):
    assert set(checklists) == set(PillarKey.values)
    versions, items = ChecklistVersion.objects.count(), ChecklistItem.objects.count()
    assert versions == 3 and items == sum(len(b["items"]) for b in parse_checklist_files())
    with django_assert_max_num_queries(3):
        report = checklists_load()
    assert report.created == [] and len(report.unchanged) == 3
    assert (ChecklistVersion.objects.count(), ChecklistItem.objects.count()) == (versions, items)


def test_a_changed_file_for_a_loaded_version_is_refused_and_nothing_is_written(checklists, tmp_path):
    folder = copy_files(tmp_path)
    path = folder / "scenario.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("P2P网络借贷", "网络借贷"), encoding="utf-8")
    before = list(ChecklistItem.objects.order_by("pk").values_list("text_zh_hans", flat=True))
    with pytest.raises(ChecklistFileError) as caught:
        checklists_load(directory=folder)
    assert caught.value.problems == [
        "scenario.yaml › - › version: scenario v1 is already loaded and the file differs; give the changed "
        "content a new version number"
    ]
    assert list(ChecklistItem.objects.order_by("pk").values_list("text_zh_hans", flat=True)) == before


def test_a_comment_is_not_content(checklists, tmp_path):
    folder = copy_files(tmp_path)
    path = folder / "smart_banking.yaml"
    path.write_text("# a new first line\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert checklists_load(directory=folder).created == []


def test_a_new_version_loads_and_becomes_current(checklists, tmp_path):
    folder = copy_files(tmp_path)
    path = folder / "scenario.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["version"] = 2
    data["items"][0]["text"]["zh-hans"] += "（第二版）"
    (folder / "scenario-v2.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    report = checklists_load(directory=folder)
    assert report.created == ["scenario v2"] and len(report.unchanged) == 3
    current = current_checklists()
    assert current["scenario"].number == 2 and current["data_sharing"].number == 1
    assert current["scenario"].items.get(key=data["items"][0]["key"]).text_zh_hans.endswith("（第二版）")


def test_every_problem_is_reported_by_file_item_and_field_and_nothing_is_loaded(taxonomy, tmp_path):
    folder = copy_files(tmp_path)
    bad = {
        "urn": "scorecard-bad",
        "kind": "rubric",
        "pillar": "payments",
        "version": 0,
        "name": {"zh-hans": "坏清单"},
        "colour": "red",
        "items": [
            {"key": "ok_item", "level": 1, "text": {"zh-hans": "甲", "en": "A"}, "rule": {"zh-hans": "乙"}},
            {"key": "Bad Key", "level": 1},
            {
                "key": "too_high",
                "level": 5,
                "text": {"zh-hans": "甲", "en": "A"},
                "rule": {"zh-hans": "乙", "en": "B"},
            },
            {
                "key": "ok_item",
                "level": 2,
                "text": {"zh-hans": "甲", "en": "A"},
                "rule": {"zh-hans": "乙" * 301, "en": "B"},
                "weight": 3,
            },
        ],
    }
    (folder / "bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    (folder / "broken.yaml").write_text("items: [unclosed", encoding="utf-8")
    with pytest.raises(ChecklistFileError) as caught:
        checklists_load(directory=folder)
    problems = caught.value.problems
    expected = [
        "bad.yaml › - › colour: unknown field",
        "bad.yaml › - › kind: must be checklist",
        "bad.yaml › - › urn: a URN",
        "bad.yaml › - › pillar: must be one of scenario, data_sharing, smart_banking",
        "bad.yaml › - › version: must be a positive integer",
        "bad.yaml › - › name: needs non-empty zh-hans and en texts",
        "bad.yaml › ok_item › rule: needs non-empty zh-hans and en texts",
        "bad.yaml › items[1] › key: a snake_case key",
        "bad.yaml › too_high › level: must be one of 1, 2, 3, 4",
        "bad.yaml › ok_item › weight: unknown field",
        "bad.yaml › ok_item › rule.zh-hans: at most 300 characters (has 301)",
        "bad.yaml › ok_item › key: appears twice in the checklist",
        "bad.yaml › - › items: level 3 has no items",
        "bad.yaml › - › items: level 4 has no items",
        "broken.yaml › - › file: cannot be read as UTF-8 YAML",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert ChecklistVersion.objects.count() == 0  # the three good files were not loaded either


def test_two_files_with_the_same_urn_and_version_are_refused(taxonomy, tmp_path):
    folder = copy_files(tmp_path)
    shutil.copy(folder / "scenario.yaml", folder / "scenario-copy.yaml")
    with pytest.raises(ChecklistFileError, match="version 1 is also in"):
        checklists_load(directory=folder)


def test_loading_before_the_taxonomy_names_the_missing_pillars(db):
    with pytest.raises(ChecklistFileError) as caught:
        checklists_load()
    assert len(caught.value.problems) == 3
    assert all("is not in the database; load the taxonomy first" in p for p in caught.value.problems)


def test_the_command_loads_and_reports(taxonomy, tmp_path, capsys):
    call_command("load_checklists")
    assert capsys.readouterr().out.count("loaded") == 3
    call_command("load_checklists")
    assert capsys.readouterr().out.count("unchanged") == 3
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(CommandError, match="no checklist files found"):
        call_command("load_checklists", "--dir", str(folder))


def test_seed_demo_loads_the_checklists_with_the_rubrics(db):
    call_command("seed_demo", "--no-demo", "--quiet")
    assert set(current_checklists()) == set(PillarKey.values)
    call_command("seed_demo", "--no-demo", "--quiet")  # again: unchanged, no error
    assert ChecklistVersion.objects.count() == 3


# --- the taxonomy: prohibited and restricted scenario types -----------------------------------------------------
def test_p2p_is_prohibited_with_its_rule_in_the_fixture_and_the_seed(taxonomy):
    p2p = ScenarioType.objects.get(key="p2p")
    assert p2p.status == "prohibited"
    assert "《网络借贷信息中介机构业务活动管理暂行办法》" in p2p.status_rule_zh_hans
    assert "2020年11月" in p2p.status_rule_zh_hans and "November 2020" in p2p.status_rule_en
    assert ScenarioType.objects.get(key="credit_reporting").status == "restricted"
    assert (
        ScenarioType.objects.exclude(key__in=["p2p", "credit_reporting"]).filter(status="active").count()
        == 20
    )
    reference = load_reference_data()
    seeded = {t["key"]: t["values"] for t in reference.scenario_types}
    assert seeded["p2p"]["status"] == "prohibited"
    assert seeded["p2p"]["status_rule_en"] == p2p.status_rule_en
    assert seeded["ecommerce"]["status"] == "active"


def test_the_seed_refuses_a_prohibited_type_without_its_rule(tmp_path):
    import json

    from partnerships.services.seed import TAXONOMY_FILE, SeedDataError

    data = json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    for obj in data:
        if obj["fields"].get("key") == "p2p":
            obj["fields"]["status_rule_en"] = ""
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(
        SeedDataError, match="status_rule_en: a restricted or prohibited scenario type names its rule"
    ):
        load_reference_data(taxonomy_path=path)


# --- answers through the service ---------------------------------------------------------------------------------
def test_an_analyst_answers_met_with_evidence_and_a_future_expiry(setup):
    analyst = setup["users"][("A", "analyst")]
    item = items_of(setup["version"], 1)[0]
    answer = checklist_answer_set(
        user=analyst,
        initiative=setup["initiative"],
        item=item.key,
        answer="met",
        evidence=setup["evidence"],
        expires_on=later(),
    )
    stored = ChecklistAnswer.objects.get(pk=answer.pk)
    assert (stored.item_id, stored.answer, stored.evidence_id) == (item.pk, "met", setup["evidence"].pk)
    assert stored.answered_by == analyst and stored.expires_on == later()
    # Answering again changes the one row (and records the change in its history).
    checklist_answer_set(user=analyst, initiative=setup["initiative"], item=item.key, answer="not_met")
    assert ChecklistAnswer.objects.filter(initiative=setup["initiative"]).count() == 1
    assert ChecklistAnswer.objects.get(pk=answer.pk).answer == "not_met"
    assert ChecklistAnswer.history.filter(id=answer.pk).count() == 2


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ({"answer": "met", "expires_on": "later"}, "evidence", "A met item needs evidence"),
        ({"answer": "met", "evidence": "own"}, "expires_on", "needs the date its evidence expires"),
        ({"answer": "met", "evidence": "own", "expires_on": "today"}, "expires_on", "after today"),
        ({"answer": "met", "evidence": "own", "expires_on": "yesterday"}, "expires_on", "after today"),
        (
            {"answer": "met", "evidence": "foreign", "expires_on": "later"},
            "evidence",
            "recorded for this initiative",
        ),
        ({"answer": "met", "evidence": "own", "expires_on": "2026-13-40"}, "expires_on", "YYYY-MM-DD"),
        ({"answer": "na"}, "note", "why the item does not apply"),
        ({"answer": "na", "note": "   "}, "note", "why the item does not apply"),
        ({"answer": "maybe"}, "answer", "Choose one of: met, not_met, na"),
        ({"answer": "not_met", "note": "长" * 301}, "note", "at most 300 characters"),
        ({"answer": "not_met", "item": "no_such_item"}, "item", "current checklist"),
    ],
)
def test_the_rules_of_an_answer(setup, row, field, message):
    values = {
        "own": setup["evidence"].pk,
        "foreign": setup["foreign"].pk,
        "later": later(),
        "today": TODAY(),
        "yesterday": TODAY() - datetime.timedelta(days=1),
    }
    kwargs = {k: values.get(v, v) if isinstance(v, str) else v for k, v in row.items()}
    kwargs.setdefault("item", items_of(setup["version"], 1)[0].key)
    with pytest.raises(Invalid) as caught:
        checklist_answer_set(user=setup["users"][("A", "analyst")], initiative=setup["initiative"], **kwargs)
    assert field in caught.value.fields, caught.value.fields
    assert message in " ".join(caught.value.fields[field])
    assert not ChecklistAnswer.objects.exists()


def test_not_applicable_with_a_note_and_not_met_need_nothing_else(setup):
    analyst = setup["users"][("A", "analyst")]
    first, second = items_of(setup["version"], 1)[:2]
    checklist_answer_set(
        user=analyst, initiative=setup["initiative"], item=first.key, answer="na", note="不涉及放贷"
    )
    checklist_answer_set(user=analyst, initiative=setup["initiative"], item=second.pk, answer="not_met")
    assert dict(ChecklistAnswer.objects.values_list("item__key", "answer")) == {
        first.key: "na",
        second.key: "not_met",
    }


def test_an_item_of_another_pillar_or_an_older_version_is_refused(setup, tmp_path):
    analyst = setup["users"][("A", "analyst")]
    other_pillar = current_checklists()["data_sharing"].items.first()
    with pytest.raises(Invalid) as caught:
        checklist_answer_set(
            user=analyst, initiative=setup["initiative"], item=other_pillar.pk, answer="not_met"
        )
    assert "item" in caught.value.fields
    old = items_of(setup["version"], 1)[0]
    folder = copy_files(tmp_path)
    data = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    data["version"] = 2
    (folder / "scenario-v2.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    checklists_load(directory=folder)
    with pytest.raises(Invalid):
        checklist_answer_set(user=analyst, initiative=setup["initiative"], item=old, answer="not_met")
    # The key names the item of the current version.
    answer = checklist_answer_set(
        user=analyst, initiative=setup["initiative"], item=old.key, answer="not_met"
    )
    assert answer.item.version.number == 2


@pytest.mark.parametrize(
    ("actor", "error"),
    [(("A", "viewer"), Forbidden), (("B", "analyst"), NotFound), (("B", "manager"), NotFound)],
)
def test_only_analysts_and_managers_of_the_bank_answer(setup, actor, error):
    item = items_of(setup["version"], 1)[0]
    with pytest.raises(error):
        checklist_answer_set(
            user=setup["users"][actor], initiative=setup["initiative"], item=item.key, answer="not_met"
        )
    assert not ChecklistAnswer.objects.exists()
    checklist_answer_set(
        user=setup["users"][("A", "manager")], initiative=setup["initiative"], item=item.key, answer="not_met"
    )
    assert ChecklistAnswer.objects.count() == 1


def test_a_batch_is_written_whole_or_not_at_all(setup):
    first, second = items_of(setup["version"], 1)[:2]
    with pytest.raises(Invalid) as caught:
        checklist_answers_set(
            user=setup["users"][("A", "analyst")],
            initiative=setup["initiative"],
            answers=[
                {"item": first.key, "answer": "not_met"},
                {"item": second.key, "answer": "na"},
                {"item": first.key, "answer": "na", "note": "重复"},
            ],
        )
    assert set(caught.value.fields) == {"answers[1].note", "answers[2].item"}
    assert not ChecklistAnswer.objects.exists()


def test_no_checklist_for_the_pillar_is_a_conflict(setup):
    ChecklistVersion.objects.filter(pillar_id="scenario").delete()
    with pytest.raises(Conflict, match="No checklist is loaded"):
        checklist_answer_set(
            user=None, initiative=setup["initiative"], item="lawful_business", answer="not_met"
        )


# --- the level reached -----------------------------------------------------------------------------------------
def test_nothing_answered_reaches_no_level_and_names_the_level_1_items(setup):
    result = checklist_level([setup["initiative"].pk], as_of=TODAY())[setup["initiative"].pk]
    level_1 = items_of(setup["version"], 1)
    assert result["level"] == 0
    assert (
        result["checklist"]["urn"] == "urn:scorecard:checklist:scenario"
        and result["checklist"]["version"] == 1
    )
    assert [(b["key"], b["level"], b["reason"]) for b in result["blocking"]] == [
        (i.key, 1, "missing") for i in level_1
    ]
    assert len(result["unmet"]) == setup["version"].items.count()


def test_the_level_is_the_highest_with_every_item_below_met_or_not_applicable(setup):
    initiative, version = setup["initiative"], setup["version"]
    answer_all(initiative, version, setup["evidence"], 1, 2, 4)  # level 3 left out: level 4 cannot count
    level_2 = items_of(version, 2)
    checklist_answer_set(
        user=None, initiative=initiative, item=level_2[0].key, answer="na", note="无联合贷款"
    )
    result = checklist_level([initiative.pk], as_of=TODAY())[initiative.pk]
    assert result["level"] == 2
    assert {b["key"] for b in result["blocking"]} == {i.key for i in items_of(version, 3)}
    assert {b["reason"] for b in result["blocking"]} == {"missing"}
    level_3 = items_of(version, 3)
    answer_all(initiative, version, setup["evidence"], 3)
    assert checklist_level([initiative.pk], as_of=TODAY())[initiative.pk]["level"] == 4
    checklist_answer_set(user=None, initiative=initiative, item=level_3[-1].key, answer="not_met")
    result = checklist_level([initiative.pk], as_of=TODAY())[initiative.pk]
    assert result["level"] == 2
    assert [(b["key"], b["reason"]) for b in result["blocking"]] == [(level_3[-1].key, "not met")]


def test_expired_evidence_counts_as_not_met(setup):
    initiative, version = setup["initiative"], setup["version"]
    expiry = later(30)
    answer_all(initiative, version, setup["evidence"], 1, 2, 3, 4)
    first = items_of(version, 1)[0]
    checklist_answer_set(
        user=None,
        initiative=initiative,
        item=first.key,
        answer="met",
        evidence=setup["evidence"],
        expires_on=expiry,
    )
    day_before = expiry - datetime.timedelta(days=1)
    assert checklist_level([initiative.pk], as_of=day_before)[initiative.pk]["level"] == 4
    result = checklist_level([initiative.pk], as_of=expiry)[initiative.pk]
    assert result["level"] == 0
    assert result["blocking"] == [
        {
            "key": first.key,
            "level": 1,
            "reason": "expired",
            "text_zh_hans": first.text_zh_hans,
            "text_en": first.text_en,
        }
    ]


def test_a_met_answer_whose_evidence_was_deleted_does_not_count(setup):
    initiative, version = setup["initiative"], setup["version"]
    answer_all(initiative, version, setup["evidence"], 1)
    assert checklist_level([initiative.pk], as_of=TODAY())[initiative.pk]["level"] == 1
    Evidence.objects.filter(pk=setup["evidence"].pk).delete()
    result = checklist_level([initiative.pk], as_of=TODAY())[initiative.pk]
    assert result["level"] == 0 and {b["reason"] for b in result["blocking"]} == {"no evidence"}


def test_the_level_reads_many_initiatives_in_four_queries(setup, django_assert_num_queries):
    banks = setup["banks"]
    ids = [setup["initiative"].pk, setup["other"].pk]
    for pillar in ("data_sharing", "smart_banking", "scenario"):
        ids.append(InitiativeFactory(bank=banks["A"], pillar_id=pillar).pk)
    answer_all(setup["initiative"], setup["version"], setup["evidence"], 1)
    with django_assert_num_queries(4):
        many = checklist_level([*ids, 10**9], as_of=TODAY())
    assert set(many) == set(ids)  # an id that is no initiative is left out
    assert many[setup["initiative"].pk]["level"] == 1
    assert {many[i]["checklist"]["urn"].rsplit(":", 1)[1] for i in ids[2:]} == set(PillarKey.values)
    with django_assert_num_queries(4):
        checklist_level(ids[:1], as_of=TODAY())


def test_a_pillar_without_a_checklist_reaches_level_0(setup):
    ChecklistVersion.objects.filter(pillar_id="scenario").delete()
    result = checklist_level([setup["initiative"].pk], as_of=TODAY())
    assert result == {setup["initiative"].pk: {"level": 0, "checklist": None, "blocking": [], "unmet": []}}


# --- the admin door --------------------------------------------------------------------------------------------
def checklist_url(initiative) -> str:
    return reverse("admin:partnerships_initiative_checklist", args=[initiative.pk])


def test_the_change_page_shows_the_checklist_panel(setup, client_for):
    client = client_for(setup["users"][("A", "viewer")])
    url = reverse("admin:partnerships_initiative_change", args=[setup["initiative"].pk])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = response.content.decode()
    assert checklist_url(setup["initiative"]) in text
    assert "Regulatory checklist: scenario cooperation" in text and "no level reached yet" in text
    answer_all(setup["initiative"], setup["version"], setup["evidence"], 1)
    text = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "场景合作监管合规清单" in text and "<strong>1</strong>" in text


def test_the_checklist_page_lists_items_with_their_rules(setup, client_for, django_assert_max_num_queries):
    client = client_for(setup["users"][("A", "analyst")])
    with django_assert_max_num_queries(20):
        response = client.get(checklist_url(setup["initiative"]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = response.content.decode()
    for item in setup["version"].items.all():
        assert f'id="item-{item.key}"' in text
    assert "Jin Gui [2025] No. 9" in text
    assert 'value="Save answers"' in text


def test_an_analyst_answers_in_the_admin(setup, client_for):
    client = client_for(setup["users"][("A", "analyst")])
    item = items_of(setup["version"], 1)[0]
    prefix = f"item-{item.pk}"
    response = client.post(
        checklist_url(setup["initiative"]),
        {
            f"{prefix}-answer": "met",
            f"{prefix}-evidence": str(setup["evidence"].pk),
            f"{prefix}-expires_on": later().isoformat(),
            f"{prefix}-note": "",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302
    answer = ChecklistAnswer.objects.get()
    assert (answer.item_id, answer.answer, answer.expires_on) == (item.pk, "met", later())
    assert answer.answered_by == setup["users"][("A", "analyst")]
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["1 answer saved; level reached: 0."]


def test_a_refused_answer_is_shown_on_its_row_and_nothing_is_saved(setup, client_for):
    client = client_for(setup["users"][("A", "analyst")])
    first, second = items_of(setup["version"], 1)[:2]
    response = client.post(
        checklist_url(setup["initiative"]),
        {
            f"item-{first.pk}-answer": "not_met",
            f"item-{second.pk}-answer": "met",  # no evidence, no expiry
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "A met item needs evidence of this initiative." in text
    assert "Nothing was saved" in text
    assert not ChecklistAnswer.objects.exists()


def test_an_empty_post_changes_nothing(setup, client_for):
    response = client_for(setup["users"][("A", "analyst")]).post(checklist_url(setup["initiative"]), {})
    assert response.status_code == 302
    assert not ChecklistAnswer.objects.exists()


def test_a_viewer_reads_but_cannot_answer(setup, client_for):
    client = client_for(setup["users"][("A", "viewer")])
    response = client.get(checklist_url(setup["initiative"]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and 'value="Save answers"' not in response.content.decode()
    assert "disabled" in response.content.decode()
    item = items_of(setup["version"], 1)[0]
    assert (
        client.post(checklist_url(setup["initiative"]), {f"item-{item.pk}-answer": "not_met"}).status_code
        == 403
    )
    assert not ChecklistAnswer.objects.exists()


def test_another_banks_initiative_is_not_found_in_the_admin(setup, client_for):
    client = client_for(setup["users"][("B", "manager")])
    assert client.get(checklist_url(setup["initiative"])).status_code == 404
    assert client.post(checklist_url(setup["initiative"]), {}).status_code == 404


# --- the API door ----------------------------------------------------------------------------------------------
def api_url(initiative) -> str:
    return f"{API}initiatives/{initiative.pk}/checklist/"


@pytest.fixture
def api(setup):
    """A client signed in with the actor's API token, in the given language."""

    def client(actor, language="en") -> APIClient:
        token, _created = Token.objects.get_or_create(user=setup["users"][actor])
        api_client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return api_client

    return client


def test_the_api_reads_the_checklist(setup, api, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = api(("A", "viewer")).get(api_url(setup["initiative"]))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["checklist"]["urn"] == "urn:scorecard:checklist:scenario" and body["level"] == 0
    assert len(body["items"]) == setup["version"].items.count()
    first = body["items"][0]
    assert first["answer"] is None and first["counts"] is False and first["reason"] == "missing"
    assert first["rule"] == items_of(setup["version"], 1)[0].rule_en
    chinese = api(("A", "viewer"), "zh-hans").get(api_url(setup["initiative"])).json()
    assert chinese["items"][0]["text"] == items_of(setup["version"], 1)[0].text_zh_hans


def test_the_api_answers_and_reports_the_new_level(setup, api):
    version, evidence = setup["version"], setup["evidence"]
    answers = [
        {"item": i.key, "answer": "met", "evidence": evidence.pk, "expires_on": later().isoformat()}
        for i in items_of(version, 1)
    ]
    response = api(("A", "analyst")).put(api_url(setup["initiative"]), {"answers": answers}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["level"] == 1 and body["level_name"] == "Basic legality"
    assert {b["level"] for b in body["blocking"]} == {2}
    answered = [i for i in body["items"] if i["answer"]]
    assert len(answered) == len(answers) and all(
        i["counts"] and i["answered_by"] == "analyst_a" for i in answered
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"answers": [{"item": "lawful_business", "answer": "met"}]}, "answers[0].evidence"),
        ({"answers": [{"item": "lawful_business", "answer": "na"}]}, "answers[0].note"),
        ({"answers": [{"item": "lawful_business", "answer": "maybe"}]}, "answers[0].answer"),
        (
            {"answers": [{"item": "lawful_business", "answer": "met", "expires_on": "soon"}]},
            "answers[0].expires_on",
        ),
        ({"answers": [{"item": "nope", "answer": "not_met"}]}, "answers[0].item"),
        ({"answers": []}, "answers"),
        ({"answers": "all met"}, "answers"),
        ({}, "answers"),
    ],
)
def test_the_api_refuses_bad_answers_with_field_messages(setup, api, payload, field):
    response = api(("A", "analyst")).put(api_url(setup["initiative"]), payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not ChecklistAnswer.objects.exists()


def test_the_api_refuses_evidence_of_another_initiative(setup, api):
    payload = {
        "answers": [
            {
                "item": "lawful_business",
                "answer": "met",
                "evidence": setup["foreign"].pk,
                "expires_on": str(later()),
            }
        ]
    }
    response = api(("A", "analyst")).put(api_url(setup["initiative"]), payload, format="json")
    assert response.status_code == 400
    assert "answers[0].evidence" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("actor", "read", "write"),
    [
        (("A", "viewer"), 200, 403),
        (("A", "analyst"), 200, 200),
        (("A", "manager"), 200, 200),
        (("B", "analyst"), 404, 404),
        (("B", "manager"), 404, 404),
    ],
)
def test_the_api_checklist_by_role_and_bank(setup, api, actor, read, write):
    client = api(actor)
    assert client.get(api_url(setup["initiative"])).status_code == read
    payload = {"answers": [{"item": "lawful_business", "answer": "not_met"}]}
    assert client.put(api_url(setup["initiative"]), payload, format="json").status_code == write
    assert ChecklistAnswer.objects.count() == (1 if write == 200 else 0)


def test_the_api_checklist_is_in_the_schema(client):
    import json

    schema = json.loads(client.get(f"{API}schema/?format=json").content)
    operations = schema["paths"]["/api/v1/initiatives/{id}/checklist/"]
    assert set(operations) >= {"get", "put"}
    assert "warnings" in schema["components"]["schemas"]["SavedInitiative"]["properties"]


# --- the P2P warning in the admin and the API -------------------------------------------------------------------
def test_the_admin_warns_when_an_initiative_is_saved_with_p2p(two_banks, client_for):
    banks, users = two_banks
    tencent = TechPartnerFactory(key="tencent", name_zh_hans="腾讯", name_en="Tencent")
    client = client_for(users[("A", "analyst")])
    response = client.post(
        reverse("admin:partnerships_initiative_add"),
        _add_payload(banks["A"], tencent, ["p2p", "ecommerce"]),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    warnings = [m for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert len(warnings) == 1
    assert "P2P" in str(warnings[0]) and "《网络借贷信息中介机构业务活动管理暂行办法》" in str(warnings[0])
    assert "禁止" in str(warnings[0])


def test_the_api_warns_when_an_initiative_is_saved_with_p2p_and_still_records_it(setup, api):
    client = api(("A", "analyst"))
    payload = {
        "bank": setup["banks"]["A"].pk,
        "title": "历史P2P合作",
        "pillar": "scenario",
        "scenario_types": ["p2p", "credit_reporting", "ecommerce"],
    }
    response = client.post(f"{API}initiatives/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(w["code"], w["scenario_type"]) for w in body["warnings"]] == [
        ("scenario_type_restricted", "credit_reporting"),
        ("scenario_type_prohibited", "p2p"),
    ]
    prohibited = next(w for w in body["warnings"] if w["status"] == "prohibited")
    assert "November 2020" in prohibited["rule"] and prohibited["rule"] in prohibited["message"]
    assert "p2p" in body["scenario_types"]  # recorded all the same (history)
    response = client.patch(
        f"{API}initiatives/{body['id']}/", {"scenario_types": ["ecommerce"]}, format="json"
    )
    assert response.status_code == 200 and response.json()["warnings"] == []
