"""Limits as data and the limit services on the database: the loader of the regulatory files, a bank's own limits,
the utilisation of a bank's month in a fixed number of queries, and which initiatives a limit concerns."""

from __future__ import annotations

import datetime
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from partnerships.errors import Forbidden, Invalid
from partnerships.models import LimitRule
from partnerships.services.limit_register import (
    LIMIT_DIR,
    LimitFileError,
    limit_rule_create,
    limit_rule_update,
    limits_load,
)
from partnerships.services.limits import joint_lending_breaches, limit_utilisation
from tests.factories import InitiativeFactory, InitiativePartnerFactory, MembershipFactory, UserFactory
from tests.partnerships.limit_data import (
    AS_OF,
    MONTH,
    bank_figures,
    expose,
    lending_bank,
    load_regulatory_limits,
    partner,
)

pytestmark = pytest.mark.django_db
FILE = LIMIT_DIR / "joint_lending_2021.yaml"


# --- the regulatory files ---------------------------------------------------------------------------------------
def test_the_2021_rules_load_bilingual_with_their_source_and_a_second_load_changes_nothing():
    report = limits_load()
    assert sorted(report.created) == [
        "cn_2021_out_of_region v1",
        "cn_2021_partner_capital_share v1",
        "cn_2021_partner_funded_share v1",
        "cn_2021_total_loans_share v1",
    ]
    rules = {r.kind: r for r in LimitRule.objects.filter(bank__isnull=True)}
    assert {k: r.threshold_percent for k, r in rules.items()} == {
        "partner_funded_share": Decimal(30),
        "partner_capital_share": Decimal(25),
        "total_loans_share": Decimal(50),
        "out_of_region": Decimal(0),
    }
    capital = rules["partner_capital_share"]
    assert "银保监办发〔2021〕24号" in capital.source_zh_hans and "2023年6月30日" in capital.source_zh_hans
    assert "Yin Bao Jian Ban Fa [2021] No. 24" in capital.source_en
    assert capital.valid_from == datetime.date(2021, 2, 19) and capital.products == ["joint_lending"]
    assert set(rules["out_of_region"].bank_types) == {
        "city_commercial",
        "rural_commercial",
        "rural_cooperative",
        "village",
    }
    again = limits_load()
    assert again.created == [] and len(again.unchanged) == 4


def _copy(tmp_path: Path) -> tuple[Path, dict]:
    target = tmp_path / "limits"
    target.mkdir()
    shutil.copy(FILE, target / FILE.name)
    return target, yaml.safe_load(FILE.read_text(encoding="utf-8"))


def _write(folder: Path, data: dict) -> None:
    (folder / FILE.name).write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def test_a_changed_file_for_a_loaded_version_is_refused_naming_the_file_and_field(tmp_path):
    limits_load()
    folder, data = _copy(tmp_path)
    data["limits"][1]["threshold_percent"] = 20
    _write(folder, data)
    with pytest.raises(LimitFileError) as refused:
        limits_load(directory=folder)
    assert refused.value.problems[0].startswith(
        "joint_lending_2021.yaml › cn_2021_partner_capital_share v1 › threshold_percent:"
    )
    assert LimitRule.objects.get(key="cn_2021_partner_capital_share").threshold_percent == Decimal(25)
    with pytest.raises(
        CommandError, match=r"joint_lending_2021.yaml › cn_2021_partner_capital_share v1 › threshold_percent"
    ):
        call_command("load_limits", "--dir", str(folder))


def test_a_new_version_is_added_beside_the_loaded_one(tmp_path):
    limits_load()
    folder, data = _copy(tmp_path)
    newer = dict(data["limits"][1], version=2, threshold_percent=20, valid_from=datetime.date(2026, 1, 1))
    data["limits"].append(newer)
    _write(folder, data)
    report = limits_load(directory=folder)
    assert report.created == ["cn_2021_partner_capital_share v2"]
    versions = LimitRule.objects.filter(key="cn_2021_partner_capital_share").order_by("version")
    assert [(r.version, r.threshold_percent) for r in versions] == [(1, Decimal(25)), (2, Decimal(20))]


def test_a_bad_file_is_refused_whole_with_every_problem_and_nothing_is_written(tmp_path):
    folder, data = _copy(tmp_path)
    data["limits"][0]["kind"] = "fastest_growth"
    data["limits"][1]["threshold_percent"] = 120
    data["limits"][2]["name"]["zh-hans"] = "全部联合贷款余额,不超过50%"
    data["limits"][3]["products"] = ["mortgage"]
    data["limits"].append(dict(data["limits"][0], kind="total_loans_share"))  # the same key and version twice
    _write(folder, data)
    with pytest.raises(LimitFileError) as refused:
        limits_load(directory=folder)
    text = "\n".join(refused.value.problems)
    assert "cn_2021_partner_funded_share v1 › kind" in text
    assert "cn_2021_partner_capital_share v1 › threshold_percent" in text
    assert "cn_2021_total_loans_share v1 › name.zh-hans: use full-width punctuation" in text
    assert "cn_2021_out_of_region v1 › products: unknown values: mortgage" in text
    assert not LimitRule.objects.exists()


def test_the_seed_loads_the_limits(taxonomy):
    call_command("seed_demo", "--no-demo", "--quiet")
    assert LimitRule.objects.filter(bank__isnull=True).count() == 4


# --- a bank's own limits --------------------------------------------------------------------------------------------
def _own(owner, **overrides):
    return {
        "bank": owner.pk,
        "key": "own-capital",
        "version": 1,
        "kind": "partner_capital_share",
        "threshold_percent": "15",
        "warning_percent": "70",
        "products": ["joint_lending"],
        "bank_types": [],
        "name_zh_hans": "单一合作方联合贷款余额不超过一级资本净额的15%",
        "name_en": "One partner at most 15% of tier-1 capital",
        "source_zh_hans": "本行风险偏好陈述（2025年）",
        "source_en": "Our risk appetite statement (2025)",
        "valid_from": "2025-01-01",
        **overrides,
    }


def _member(bank, role):
    user = UserFactory()
    MembershipFactory(user=user, bank=bank, role=role)
    return user


def test_a_manager_records_an_own_limit_and_others_may_not():
    bank, other = lending_bank(), lending_bank()
    manager = _member(bank, "manager")
    rule = limit_rule_create(user=manager, data=_own(bank))
    assert (rule.bank_id, rule.threshold_percent, rule.warning_percent) == (bank.pk, Decimal(15), Decimal(70))
    with pytest.raises(Forbidden):
        limit_rule_create(user=_member(bank, "analyst"), data=_own(bank, key="other"))
    with pytest.raises(Invalid) as foreign:
        limit_rule_create(user=manager, data=_own(other))
    assert "bank" in foreign.value.fields
    with pytest.raises(Forbidden):
        limit_rule_create(user=manager, data=_own(bank, bank=None))  # a regulatory limit: superusers only
    superuser = UserFactory(is_superuser=True)
    regulatory = limit_rule_create(user=superuser, data=_own(bank, bank=None, key="reg-test"))
    assert regulatory.bank_id is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "fastest_growth"),
        ("threshold_percent", "100.5"),
        ("threshold_percent", "-1"),
        ("threshold_percent", "12.34567"),
        ("warning_percent", "0"),
        ("warning_percent", "101"),
        ("products", ["mortgage"]),
        ("bank_types", ["piggy_bank"]),
        ("valid_until", "2024-12-31"),
        ("name_zh_hans", "单一合作方,不超过15%"),
        ("version", 0),
    ],
)
def test_an_own_limit_is_checked_field_by_field(field, value):
    bank = lending_bank()
    with pytest.raises(Invalid) as refused:
        limit_rule_create(user=_member(bank, "manager"), data=_own(bank, **{field: value}))
    assert field in refused.value.fields, refused.value.fields


def test_an_own_limit_changes_but_keeps_its_bank_key_and_version():
    bank = lending_bank()
    manager = _member(bank, "manager")
    rule = limit_rule_create(user=manager, data=_own(bank))
    with pytest.raises(Invalid) as refused:
        limit_rule_create(user=manager, data=_own(bank))
    assert "version" in refused.value.fields
    changed = limit_rule_update(
        user=manager, rule=rule, data={"threshold_percent": "12.5", "warning_percent": None}
    )
    assert (changed.threshold_percent, changed.warning_percent) == (Decimal("12.5"), None)
    with pytest.raises(Invalid) as refused:
        limit_rule_update(user=manager, rule=rule, data={"key": "renamed"})
    assert "key" in refused.value.fields
    with pytest.raises(Forbidden):
        limit_rule_update(user=_member(bank, "viewer"), rule=rule, data={"threshold_percent": "1"})


def test_the_regulatory_limits_are_changed_by_superusers_only():
    load_regulatory_limits()
    rule = LimitRule.objects.get(key="cn_2021_total_loans_share")
    manager = _member(lending_bank(), "manager")
    with pytest.raises(Forbidden):
        limit_rule_update(user=manager, rule=rule, data={"threshold_percent": "60"})


# --- utilisation ------------------------------------------------------------------------------------------------------
@pytest.fixture
def month(taxonomy):
    """A city commercial bank of Zhejiang with its quarter's figures and a month of joint lending with three
    partners, two of one related-party group."""
    load_regulatory_limits()
    bank = lending_bank("limit-bank")
    bank_figures(bank)  # capital 1,000, loans 10,000 (万元) at 2025-03-31
    ant = partner("ant", group="蚂蚁集团")
    mybank = partner("mybank", group="蚂蚁集团")
    jd = partner("jd")
    expose(bank, ant, balance="250", funded="100")  # own part 150
    expose(bank, mybank, balance="200", funded="80")  # own part 120: the group's 270 is 27 % of capital
    expose(bank, jd, balance="300", funded="90", outside="5")  # own 210 (21 %); 5 lent outside Zhejiang
    expose(bank, jd, balance="80", funded=None, low=None, product="facilitation", outside="0")
    expose(bank, jd, month=datetime.date(2025, 5, 31), balance="999999", funded="0")  # an older month
    return bank, {"ant": ant, "mybank": mybank, "jd": jd}


def _rows(result):
    return {(r.rule.kind, r.subject): r for r in result.rows}


def test_the_latest_month_up_to_the_day_is_checked(month):
    bank, _partners = month
    result = limit_utilisation([bank.pk], as_of=AS_OF)[bank.pk]
    assert result.month_end == MONTH
    rows = _rows(result)
    group = rows[("partner_capital_share", "蚂蚁集团")]
    assert (group.status, group.value_percent, group.partners) == (
        "breach",
        Decimal("27.0000"),
        ("ant", "mybank"),
    )
    assert rows[("partner_capital_share", "jd")].status == "warning"  # 21 % of 25 %: 84 % used
    assert rows[("total_loans_share", "")].value_percent == Decimal("4.8000")  # (150+120+210) / 10,000
    assert rows[("out_of_region", "jd")].status == "breach"
    assert rows[("partner_funded_share", "ant")].status == "within"  # 40 % lowest share
    assert result.figures["tier1_net_capital"] == {
        "value": "1000.00",
        "period_end": "2025-03-31",
        "problem": None,
    }
    earlier = limit_utilisation([bank.pk], as_of=datetime.date(2025, 6, 29))[bank.pk]
    assert earlier.month_end == datetime.date(2025, 5, 31)
    assert _rows(earlier)[("partner_capital_share", "jd")].status == "breach"


def test_a_month_asked_for_and_the_filters(month):
    bank, _partners = month
    may = limit_utilisation([bank.pk], as_of=AS_OF, period=datetime.date(2025, 5, 1))[bank.pk]
    assert may.month_end == datetime.date(2025, 5, 31)
    only_ant = limit_utilisation([bank.pk], as_of=AS_OF, partner="ant")[bank.pk]
    assert {(r.rule.kind, r.subject) for r in only_ant.rows} == {
        ("partner_funded_share", "ant"),
        ("partner_capital_share", "蚂蚁集团"),
        ("out_of_region", "ant"),
    }
    group = limit_utilisation([bank.pk], as_of=AS_OF, group="蚂蚁集团")[bank.pk]
    assert {r.subject for r in group.rows} == {"ant", "mybank", "蚂蚁集团"}
    nothing = limit_utilisation([bank.pk], as_of=datetime.date(2024, 1, 1))[bank.pk]
    assert (nothing.month_end, nothing.rows) == (None, [])


def test_a_stale_capital_figure_makes_the_capital_limits_unknown(month, settings):
    bank, _partners = month
    settings.LIMIT_FIGURES_MAX_AGE_DAYS = 60
    rows = _rows(limit_utilisation([bank.pk], as_of=AS_OF)[bank.pk])
    assert rows[("partner_capital_share", "jd")].status == "unknown"
    assert rows[("partner_capital_share", "jd")].missing == ("tier1_net_capital",)


def test_utilisation_takes_four_queries_whatever_the_number_of_partners(month, django_assert_num_queries):
    bank, _partners = month
    with django_assert_num_queries(4):
        few = limit_utilisation([bank.pk], as_of=AS_OF)[bank.pk]
    for i in range(40):
        expose(bank, partner(f"many{i}"), balance="1", funded="0.5")
    other = lending_bank("second-bank", bank_type="joint_stock")
    bank_figures(other)
    expose(other, partner("many0"), balance="1", funded="0.5")
    with django_assert_num_queries(4):
        many = limit_utilisation([bank.pk, other.pk], as_of=AS_OF)
    assert len(many[bank.pk].rows) > len(few.rows) + 80 and many[other.pk].rows
    empty = lending_bank("no-exposure")
    with django_assert_num_queries(1):
        assert limit_utilisation([empty.pk], as_of=AS_OF)[empty.pk].rows == []


# --- what the limits mean for initiatives ------------------------------------------------------------------------------
def test_a_limit_concerns_the_initiatives_with_its_partners(month, django_assert_num_queries):
    bank, partners = month
    with_ant = InitiativeFactory(bank=bank)
    InitiativePartnerFactory(initiative=with_ant, partner=partners["ant"])
    with_jd = InitiativeFactory(bank=bank)
    InitiativePartnerFactory(initiative=with_jd, partner=partners["jd"])
    unrelated = InitiativeFactory(bank=bank)
    InitiativePartnerFactory(initiative=unrelated, partner=partner("tencent"))
    alone = InitiativeFactory(bank=bank)
    with django_assert_num_queries(5):
        found = joint_lending_breaches([with_ant.pk, with_jd.pk, unrelated.pk, alone.pk], as_of=AS_OF)
    assert set(found) == {with_ant.pk, with_jd.pk}
    ant = [(r["rule"], r["subject"], r["status"]) for r in found[with_ant.pk]]
    assert ant == [("cn_2021_partner_capital_share", "蚂蚁集团", "breach")]
    jd = [(r["rule"], r["status"]) for r in found[with_jd.pk]]
    assert jd == [("cn_2021_out_of_region", "breach"), ("cn_2021_partner_capital_share", "warning")]
    reason = found[with_ant.pk][0]
    assert reason["period_end"] == "2025-06-30" and reason["value_percent"] == "27"
    assert reason["figures"]["own_balance"] == "270.00"


def test_the_bank_wide_limit_concerns_every_initiative_with_a_joint_lending_partner(month):
    bank, partners = month
    bank_figures(bank, period_end=MONTH, capital="1000", loans="900")  # all joint lending now 53 % of loans
    with_jd = InitiativeFactory(bank=bank)
    InitiativePartnerFactory(initiative=with_jd, partner=partners["jd"])
    unrelated = InitiativeFactory(bank=bank)
    InitiativePartnerFactory(initiative=unrelated, partner=partner("tencent"))
    found = joint_lending_breaches([with_jd.pk, unrelated.pk], as_of=AS_OF)
    assert "cn_2021_total_loans_share" in [r["rule"] for r in found[with_jd.pk]]
    assert unrelated.pk not in found


def test_no_exposure_no_reasons_in_two_queries(taxonomy, django_assert_num_queries):
    load_regulatory_limits()
    bank = lending_bank()
    initiative = InitiativeFactory(bank=bank)
    InitiativePartnerFactory(initiative=initiative)
    with django_assert_num_queries(2):
        assert joint_lending_breaches([initiative.pk], as_of=AS_OF) == {}
    assert joint_lending_breaches([], as_of=AS_OF) == {}


def test_an_unknown_bank_type_makes_out_of_region_unknown_for_its_partners(taxonomy):
    load_regulatory_limits()
    bank = lending_bank(bank_type="", home_region="")
    bank_figures(bank)
    who = partner("ant")
    expose(bank, who)
    initiative = InitiativeFactory(bank=bank)
    InitiativePartnerFactory(initiative=initiative, partner=who)
    reasons = joint_lending_breaches([initiative.pk], as_of=AS_OF)[initiative.pk]
    assert [(r["rule"], r["status"], r["missing"]) for r in reasons] == [
        ("cn_2021_out_of_region", "unknown", ["bank_type", "home_region"])
    ]


# --- the admin ----------------------------------------------------------------------------------------------------
def _admin(user):
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_a_manager_adds_an_own_limit_in_the_admin_through_the_service(two_banks):
    from django.urls import reverse

    load_regulatory_limits()
    banks, users = two_banks
    form = {
        "bank": banks["A"].pk,
        "key": "admin-capital",
        "version": "1",
        "kind": "partner_capital_share",
        "threshold_percent": "15",
        "warning_percent": "",
        "products": ["joint_lending"],
        "name_zh_hans": "单一合作方不超过一级资本净额的15%",
        "name_en": "One partner at most 15%",
        "source_zh_hans": "本行风险偏好",
        "source_en": "Risk appetite",
        "valid_from": "2025-01-01",
        "valid_until": "",
    }
    add = reverse("admin:partnerships_limitrule_add")
    assert _admin(users[("A", "analyst")]).post(add, form).status_code == 403
    bad = _admin(users[("A", "manager")]).post(add, {**form, "threshold_percent": "150"})
    assert bad.status_code == 200 and "threshold_percent" in bad.context["adminform"].form.errors
    done = _admin(users[("A", "manager")]).post(add, form)
    assert done.status_code == 302, done.context["adminform"].form.errors if done.context else done
    rule = LimitRule.objects.get(key="admin-capital")
    assert (rule.bank_id, rule.products, rule.bank_types, rule.warning_percent) == (
        banks["A"].pk,
        ["joint_lending"],
        [],
        None,
    )
    other_bank = _admin(users[("A", "manager")]).post(add, {**form, "bank": banks["B"].pk, "key": "x"})
    assert other_bank.status_code == 200 and "bank" in other_bank.context["adminform"].form.errors


def test_regulatory_limits_are_read_only_in_the_admin_but_for_superusers(two_banks):
    from django.urls import reverse

    load_regulatory_limits()
    _banks, users = two_banks
    rule = LimitRule.objects.get(key="cn_2021_partner_capital_share")
    change = reverse("admin:partnerships_limitrule_change", args=[rule.pk])
    manager = _admin(users[("A", "manager")])
    page = manager.get(change)
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert manager.post(change, {"threshold_percent": "60"}).status_code == 403
    assert _admin(UserFactory(is_superuser=True)).get(change).context["has_change_permission"]
    assert LimitRule.objects.get(pk=rule.pk).threshold_percent == Decimal(25)
