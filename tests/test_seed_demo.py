"""seed_demo: the seed's figures ship exactly, the demo data is illustrative and broad, and a rerun changes nothing."""

import stat
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import RequestFactory
from django.utils import translation

from partnerships.models import (
    Bank,
    Initiative,
    InitiativePartner,
    Membership,
    PartnerMetric,
    Pillar,
    ScenarioType,
    TechPartner,
)
from partnerships.services.seed import DEMO_FILE, SeedDataError, seed_demo_data, seed_reference_data

pytestmark = pytest.mark.django_db

RANKING_2024 = [
    "tencent",
    "alibaba",
    "pinduoduo",
    "meituan",
    "xiaomi",
    "netease",
    "jd",
    "ctrip",
    "baidu",
    "kuaishou",
]
RANKING_2020 = [
    "alibaba",
    "tencent",
    "meituan",
    "jd",
    "baidu",
    "pinduoduo",
    "netease",
    "xiaomi",
    "tal",
    "qihoo360",
]
DEMO_USERS = ["demo_viewer", "demo_analyst", "demo_manager", "demo_analyst_b", "demo_manager_b"]


@pytest.fixture
def var_dir(settings, tmp_path):
    """A private VAR_DIR and no password in the environment: seed_demo generates one and keeps it there."""
    settings.VAR_DIR = tmp_path
    settings.SCORECARD_DEMO_PASSWORD = ""
    return tmp_path


def run_seed_demo(*args: str, language: str = "en") -> str:
    """Run the command in one language (commands speak the default, Chinese, unless told otherwise)."""
    out = StringIO()
    with translation.override(language):
        call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def snapshot() -> dict[str, list[dict]]:
    """Every row of every partnerships table (models, m2m tables, historical tables) and of the users."""
    tables = {}
    for model in apps.get_app_config("partnerships").get_models(include_auto_created=True):
        tables[model._meta.label] = list(model.objects.order_by("pk").values())
    tables["auth.User"] = list(get_user_model().objects.order_by("pk").values())
    return tables


def metric(partner: str, key: str, period: str, segment: str = "") -> PartnerMetric:
    return PartnerMetric.objects.get(partner__key=partner, metric=key, segment=segment, period=period)


# --- Taxonomy ----------------------------------------------------------------------------------------
def test_taxonomy_fixture_loads(taxonomy):
    pillars = list(Pillar.objects.order_by("position"))
    assert [(p.key, p.position) for p in pillars] == [
        ("scenario", 1),
        ("data_sharing", 2),
        ("smart_banking", 3),
    ]
    assert pillars[0].name_zh_hans == "强化场景合作，完善互联网经营生态圈"
    assert pillars[1].name_zh_hans == "强化客户资源共享，拓展消费金融"
    assert pillars[2].name_zh_hans == "强化协同创新，打造新一代智能银行"
    assert all(p.name_en and p.description_zh_hans and p.description_en for p in pillars)

    def names(pillar: str, group: str) -> list[str]:
        qs = ScenarioType.objects.filter(pillar_id=pillar, group=group).order_by("position")
        return list(qs.values_list("name_zh_hans", flat=True))

    assert names("scenario", "front_end") == ["电商", "支付", "征信", "P2P", "O2O", "供应链金融"]
    assert names("scenario", "back_end") == [
        "大数据洞察", "互联网渠道", "社会化营销", "数字化创新", "程序化风控", "智能化流程", "开放性平台", "高敏捷的组织管理",
    ]  # fmt: skip
    assert names("smart_banking", "general") == [
        "全渠道无缝整合",
        "客户关怀与智能洞察",
        "大数据优化决策",
        "社区化服务",
    ]
    assert ScenarioType.objects.filter(pillar_id="data_sharing").count() == 4
    assert set(ScenarioType.objects.filter(pillar_id="data_sharing").values_list("key", flat=True)) == {
        "data_sharing_platform", "balance_wealth_management", "social_finance", "digital_consumer_finance",
    }  # fmt: skip
    assert ScenarioType.objects.get(key="supply_chain_finance").pillar_id == "scenario"
    assert not ScenarioType.objects.filter(name_en="").exists()


def test_seed_agrees_with_the_taxonomy_fixture(var_dir):
    """seed_demo creates the taxonomy with the fixture's pks, so `loaddata taxonomy` afterwards adds nothing."""
    run_seed_demo("--no-demo")
    before = snapshot()
    call_command("loaddata", "taxonomy", verbosity=0)
    assert snapshot() == before
    # The explicit pks moved the id sequences on (PostgreSQL): a new row still gets a free id.
    ScenarioType.objects.create(key="extra", pillar_id="scenario", name_zh_hans="其他", name_en="Other")


# --- Reference figures -------------------------------------------------------------------------------
def test_seed_figures_are_shipped_exactly():
    seed_reference_data()
    expected = [
        # (partner, metric, period, segment, value, unit)
        ("tencent", "market_cap_change_pct", "2024", "", "43", "%"),
        ("pinduoduo", "market_cap_change_pct", "2024", "", "-33", "%"),
        ("xiaomi", "market_cap_change_pct", "2024", "", "121", "%"),
        ("netease", "market_cap_change_pct", "2024", "", "-4", "%"),
        ("baidu", "market_cap_change_pct", "2024", "", "-29", "%"),
        ("kuaishou", "market_cap_change_pct", "2024", "", "-22", "%"),
        ("ctrip", "market_cap_change_pct", "2024", "", "90", "%"),
        ("meituan", "market_cap_change_pct", "2024", "", "84", "%"),
        ("jd", "market_cap_change_pct", "2024", "", "20", "%"),
        ("alibaba", "market_cap_change_pct", "2024", "", "9", "%"),
        ("alibaba", "market_cap", "2020-01", "", "6100", "亿美元"),
        ("tencent", "market_cap", "2020-01", "", "4870", "亿美元"),
        ("tencent", "revenue", "2024Q3", "增值服务", "826.95", "亿元"),
        ("tencent", "revenue_growth_pct", "2024Q3", "增值服务", "9", "%"),
        ("tencent", "revenue", "2024Q3", "金融科技及企业服务", "530.89", "亿元"),
        ("tencent", "gross_profit", "2024Q3", "", "888.28", "亿元"),
        ("tencent", "gross_margin_pct", "2024Q3", "", "53", "%"),
        ("tencent", "gross_margin_pct", "2023Q3", "", "49", "%"),
        ("tencent", "revenue", "2024Q3", "国际市场游戏", "145", "亿元"),
        ("alibaba", "revenue", "2024Q3", "", "2365.03", "亿元"),
        ("alibaba", "net_profit_growth_pct", "2024Q3", "", "63", "%"),
        ("alibaba", "adjusted_ebita", "2024Q3", "", "405.61", "亿元"),
        ("alibaba", "adjusted_ebita_growth_pct", "2024Q3", "", "-5", "%"),
        ("alibaba", "revenue", "2024Q3", "阿里云", "296.1", "亿元"),
        ("alibaba", "ebita_margin_pct", "2024Q3", "阿里云", "9.0", "%"),
        ("alibaba", "capex_growth_pct", "2024Q3", "", "239.4", "%"),
        ("alibaba", "users", "2024Q3", "88VIP", "4600", "万"),
        ("alibaba", "employees", "2024-09-30", "", "197991", "人"),
        ("alibaba", "market_cap", "2024-11-15", "", "2119.7", "亿美元"),
        ("xiaomi", "revenue", "2024Q3", "", "925.1", "亿元"),
        ("xiaomi", "revenue_growth_pct", "2024Q3", "", "30.5", "%"),
        ("xiaomi", "revenue", "2024-01~09", "手机", "475", "亿元"),
        ("xiaomi", "gross_margin_change_pp", "2024-01~09", "手机", "-4.9", "个百分点"),
        ("xiaomi", "users", "2024-09", "", "68600", "万"),
        ("xiaomi", "shipments", "2024Q3", "智能手机", "4310", "万台"),
        ("xiaomi", "deliveries", "2024", "小米汽车", "13.5", "万辆"),
    ]
    for partner, key, period, segment, value, unit in expected:
        row = metric(partner, key, period, segment)
        assert row.value == Decimal(value), (partner, key, period, segment)
        assert row.unit == unit, (partner, key, period, segment)
        assert row.source.startswith("种子报告 第一节"), (partner, key, period, segment)
    assert metric("alibaba", "market_cap", "2020-01").period_end.isoformat() == "2020-01-01"
    assert metric("tencent", "market_cap_change_pct", "2024").period_end.isoformat() == "2024-12-31"
    # Every figure has a source note; nothing the report does not state (e.g. Tencent's total revenue).
    assert not PartnerMetric.objects.filter(source="").exists()
    assert not PartnerMetric.objects.filter(partner__key="tencent", metric="revenue", segment="").exists()
    assert not PartnerMetric.objects.filter(
        partner__key="tencent", metric="revenue_growth_pct", segment=""
    ).exists()


def test_market_cap_rankings_2024_and_2020():
    seed_reference_data()
    ranks_2024 = dict(
        PartnerMetric.objects.filter(metric="market_cap_rank", period="2024-12-31").values_list(
            "partner__key", "value"
        )
    )
    assert ranks_2024 == {key: Decimal(rank) for rank, key in enumerate(RANKING_2024, start=1)}
    assert {m.unit for m in PartnerMetric.objects.filter(metric="market_cap_rank")} == {"名"}
    ranks_2020 = dict(
        PartnerMetric.objects.filter(metric="market_cap_rank", period="2020-01").values_list(
            "partner__key", "value"
        )
    )
    assert ranks_2020 == {key: Decimal(rank) for rank, key in enumerate(RANKING_2020, start=1)}
    assert TechPartner.objects.get(key="tal").name_zh_hans == "好未来"
    assert TechPartner.objects.get(key="qihoo360").name_zh_hans == "三六零"


# --- Demo data ---------------------------------------------------------------------------------------
def test_demo_data_is_illustrative_and_broad(var_dir):
    run_seed_demo()
    initiatives = Initiative.objects.all()
    assert initiatives.count() >= 14
    assert not initiatives.filter(is_illustrative=False).exists()
    assert Bank.objects.count() == 2 and not Bank.objects.filter(is_illustrative=False).exists()
    assert set(initiatives.values_list("pillar_id", flat=True)) == {
        "scenario",
        "data_sharing",
        "smart_banking",
    }
    assert ScenarioType.objects.filter(initiatives__isnull=False).distinct().count() >= 8
    assert set(initiatives.values_list("status", flat=True)) >= {
        "idea",
        "proposed",
        "pilot",
        "live",
        "suspended",
    }
    for initiative in initiatives.prefetch_related("scenario_types"):
        assert {t.pillar_id for t in initiative.scenario_types.all()} <= {initiative.pillar_id}
        assert 1 <= initiative.kpis.count() <= 3
        assert all(1 <= kpi.observations.count() <= 4 for kpi in initiative.kpis.all())
    leads = InitiativePartner.objects.filter(role="lead").values("initiative").annotate(n=Count("id"))
    assert not leads.filter(n__gt=1).exists()

    data_sharing = initiatives.filter(pillar_id="data_sharing")
    assert data_sharing.filter(lawful_basis="separate_consent", security_assessment_done=True).exists()
    assert data_sharing.exclude(personal_data_categories=[]).filter(security_assessment_done=False).exists()
    assert data_sharing.filter(cross_border_transfer=True, transfer_mechanism="").exists()

    users = get_user_model().objects.in_bulk([*DEMO_USERS, "demo_admin"], field_name="username")
    assert all(users[name].is_staff and not users[name].is_superuser for name in DEMO_USERS)
    assert users["demo_admin"].is_superuser and users["demo_admin"].is_staff
    roles = {(m.user.username, m.bank.code): (m.role, m.receives_reports) for m in Membership.objects.all()}
    assert roles == {
        ("demo_viewer", "demo-city-bank"): ("viewer", False),
        ("demo_analyst", "demo-city-bank"): ("analyst", False),
        ("demo_manager", "demo-city-bank"): ("manager", True),
        ("demo_analyst_b", "demo-rural-bank"): ("analyst", False),
        ("demo_manager_b", "demo-rural-bank"): ("manager", True),
    }

    # An integrator's webhook endpoint, registered through the service and switched off: the demo sends nothing.
    from partnerships.models import WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.bank.code == "demo-city-bank" and endpoint.active is False
    assert endpoint.url.startswith("https://") and endpoint.secret.startswith("whsec_")
    assert "score.created" in endpoint.events and not WebhookDelivery.objects.exists()


def test_seed_demo_twice_changes_nothing(var_dir):
    first = run_seed_demo()
    assert "demo credentials:" in first
    before = snapshot()
    assert before["partnerships.HistoricalInitiative"] and before["partnerships.HistoricalPartnerMetric"]
    second = run_seed_demo()
    after = snapshot()
    assert {label: len(rows) for label, rows in after.items()} == {
        label: len(rows) for label, rows in before.items()
    }
    assert after == before  # same values too: no save, no new history record, no new updated_at
    assert "0 created, 0 updated" in second


def test_password_is_generated_once_and_kept_private(var_dir):
    run_seed_demo()
    credentials = var_dir / "demo-credentials.txt"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    password = next(
        line.split(":", 1)[1].strip()
        for line in credentials.read_text().splitlines()
        if line.startswith("password:")
    )
    assert (
        authenticate(
            request=RequestFactory().post("/admin/login/"), username="demo_analyst", password=password
        )
        is not None
    )
    assert authenticate(
        request=RequestFactory().post("/admin/login/"), username="demo_admin", password=password
    ).is_superuser
    hashes = dict(get_user_model().objects.values_list("username", "password"))

    credentials.unlink()  # a lost file: the existing users keep their password, no new file is written
    run_seed_demo()
    assert dict(get_user_model().objects.values_list("username", "password")) == hashes
    assert not credentials.exists()


def test_password_from_settings_is_used_and_not_written(var_dir, settings):
    settings.SCORECARD_DEMO_PASSWORD = "a-demo-password-from-env"
    out = run_seed_demo()
    assert (
        authenticate(
            request=RequestFactory().post("/admin/login/"),
            username="demo_manager_b",
            password="a-demo-password-from-env",
        )
        is not None
    )
    assert not (var_dir / "demo-credentials.txt").exists()
    assert "a-demo-password-from-env" not in out


def test_no_demo_loads_reference_data_only(var_dir):
    run_seed_demo("--no-demo", "--quiet")
    assert Pillar.objects.count() == 3 and TechPartner.objects.filter(kind="listed_platform").count() == 12
    assert not Bank.objects.exists() and not get_user_model().objects.exists()


# --- Bad files ---------------------------------------------------------------------------------------
@pytest.fixture
def broken_demo_file(tmp_path) -> Path:
    text = DEMO_FILE.read_text(encoding="utf-8")
    assert "    pillar: data_sharing\n" in text
    path = tmp_path / "broken-demo.yaml"
    path.write_text(
        text.replace("    pillar: data_sharing\n", "    pillar: data_sharring\n", 1), encoding="utf-8"
    )
    return path


def test_broken_demo_file_raises_and_writes_nothing(broken_demo_file):
    seed_reference_data()
    before = snapshot()
    with pytest.raises(SeedDataError) as excinfo:
        seed_demo_data(path=broken_demo_file)
    message = str(excinfo.value)
    assert "broken-demo.yaml" in message and "data_sharring" in message
    assert [(issue.field, issue.entry) for issue in excinfo.value.issues] == [
        ("pillar", "initiatives[2] (demo-city-bank/cf-2024-03)")
    ]
    assert snapshot() == before


def test_command_with_broken_demo_file_fails_before_writing(var_dir, broken_demo_file):
    with pytest.raises(CommandError, match=r"broken-demo\.yaml: initiatives\[2\].*: pillar: unknown pillar"):
        run_seed_demo("--demo-file", str(broken_demo_file))
    with pytest.raises(CommandError, match=r"broken-demo\.yaml: initiatives\[2\].*: pillar: 未知合作支柱"):
        run_seed_demo("--demo-file", str(broken_demo_file), language="zh-hans")
    assert not Pillar.objects.exists() and not PartnerMetric.objects.exists() and not Bank.objects.exists()
    assert not (var_dir / "demo-credentials.txt").exists()


def test_broken_partner_figure_names_file_entry_and_field(tmp_path):
    text = (DEMO_FILE.parent / "partners.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "partners.yaml"
    broken.write_text(
        text.replace("value: 826.95, unit: 亿元", "value: 826.95, unit: 亿人民币", 1), encoding="utf-8"
    )
    with pytest.raises(SeedDataError) as excinfo:
        seed_reference_data(partners_path=broken)
    (issue,) = excinfo.value.issues
    assert issue.file.endswith("partners.yaml") and issue.field == "unit"
    assert issue.entry.startswith("partners[0] (tencent) metrics[") and "增值服务" in issue.entry
    assert not PartnerMetric.objects.exists()


def test_a_rule_of_the_services_refuses_a_demo_file_naming_entry_and_field(tmp_path):
    """The seed writes through the initiative services: an owner who is no member of the initiative's bank is
    refused there (the file itself parses), named by file, entry and field, and nothing of the seed stays."""
    text = DEMO_FILE.read_text(encoding="utf-8")
    assert "    owner: demo_analyst\n" in text
    path = tmp_path / "foreign-owner.yaml"
    path.write_text(
        text.replace("    owner: demo_analyst\n", "    owner: demo_analyst_b\n", 1), encoding="utf-8"
    )
    seed_reference_data()
    before = snapshot()
    with pytest.raises(SeedDataError) as excinfo:
        seed_demo_data(path=path)
    issues = excinfo.value.issues
    assert [(issue.file.endswith("foreign-owner.yaml"), issue.field) for issue in issues] == [(True, "owner")]
    assert issues[0].entry.startswith("initiatives[0]")
    assert snapshot() == before


def test_the_admin_address_printed_is_the_port_make_run_serves(var_dir, monkeypatch):
    monkeypatch.setenv("WEB_PORT", "8123")
    assert "http://127.0.0.1:8123/admin/" in run_seed_demo()
