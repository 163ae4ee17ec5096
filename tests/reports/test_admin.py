"""The reports admin: a bank's users read their bank's reports; another bank's are not found by any route."""

import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from scoring.models import Report
from scoring.reports.services import report_generate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WEEK = datetime.date(2024, 11, 11)


@pytest.fixture
def reports(portfolio):
    banks, users, _i = portfolio
    a = report_generate(bank_id=banks["A"].pk, period_start=WEEK, deliver=False)
    b = report_generate(bank_id=banks["B"].pk, period_start=WEEK, deliver=False)
    everyone = report_generate(bank_id=None, period_start=WEEK, deliver=False)
    return banks, users, {"A": a, "B": b, "all": everyone}


def _routes(report) -> dict[str, str]:
    return {
        "change": reverse("admin:scoring_report_change", args=[report.pk]),
        "csv": reverse("admin:scoring_report_download", args=[report.pk, "csv"]),
        "xlsx": reverse("admin:scoring_report_download", args=[report.pk, "xlsx"]),
        "print": reverse("admin:scoring_report_print", args=[report.pk]),
    }


def test_viewer_lists_and_reads_only_their_banks_report(reports, client_for):
    _banks, users, r = reports
    client = client_for(users[("A", "viewer")])
    listing = client.get(reverse("admin:scoring_report_changelist"))
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [r["A"]]
    bank_filter = next(f for f in listing.context["cl"].filter_specs if f.field_path == "bank")
    assert [label for _pk, label in bank_filter.lookup_choices] == ["甲银行"]

    page = client.get(_routes(r["A"])["change"])
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        'class="sc-report"' in html and "<svg" in html and "3,438" in html
    )  # HHI 3437.5 as an integer with separators
    assert _routes(r["A"])["xlsx"] in html and _routes(r["A"])["csv"] in html

    xlsx = client.get(_routes(r["A"])["xlsx"])
    assert xlsx.status_code == 200 and "bank-a" in xlsx["Content-Disposition"]
    assert "合作方集中度" in load_workbook(io.BytesIO(xlsx.content)).sheetnames  # in the reader's language
    csv = client.get(_routes(r["A"])["csv"])
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    printable = client.get(_routes(r["A"])["print"])
    assert printable.status_code == 200 and b"@media print" in printable.content


@pytest.mark.parametrize("role", ["viewer", "analyst", "manager"])
@pytest.mark.parametrize("route", ["change", "csv", "xlsx", "print"])
def test_other_banks_and_all_banks_reports_are_not_found(reports, client_for, role, route):
    _banks, users, r = reports
    client = client_for(users[("A", role)])
    assert client.get(_routes(r["B"])[route]).status_code == 404
    assert client.get(_routes(r["all"])[route]).status_code == 404


def test_other_banks_report_cannot_be_rebuilt(reports, client_for, django_capture_on_commit_callbacks):
    _banks, users, r = reports
    client = client_for(users[("A", "manager")])
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("admin:scoring_report_regenerate", args=[r["B"].pk]))
    assert response.status_code == 404 and not callbacks
    # …nor through the changelist action with a foreign id slipped in.
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(
            reverse("admin:scoring_report_changelist"),
            {"action": "generate_again", "_selected_action": [r["B"].pk]},
        )
    assert not callbacks


def test_superuser_sees_every_report(reports, client_for):
    _banks, _users, r = reports
    root = UserFactory(username="root", is_superuser=True)
    listing = client_for(root).get(reverse("admin:scoring_report_changelist"))
    assert set(listing.context["cl"].result_list) == {r["A"], r["B"], r["all"]}
    assert client_for(root).get(_routes(r["all"])["change"]).status_code == 200


def test_generate_again_needs_the_analyst_role_and_enqueues_on_commit(
    reports, client_for, django_capture_on_commit_callbacks
):
    _banks, users, r = reports
    url = reverse("admin:scoring_report_regenerate", args=[r["A"].pk])
    with django_capture_on_commit_callbacks() as callbacks:
        assert client_for(users[("A", "viewer")]).post(url).status_code == 403
    assert not callbacks
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(users[("A", "analyst")]).post(url)
    assert response.status_code == 302 and len(callbacks) == 1
    assert client_for(users[("A", "analyst")]).get(url).status_code == 405  # POST only


def test_generate_now_form_offers_only_the_users_banks(
    reports, client_for, django_capture_on_commit_callbacks
):
    banks, users, _r = reports
    client = client_for(users[("A", "analyst")])
    url = reverse("admin:scoring_report_generate")
    form = client.get(url)
    assert form.status_code == 200
    assert [value for value, _label in form.context["form"].fields["bank"].choices] == [str(banks["A"].pk)]

    with django_capture_on_commit_callbacks() as callbacks:
        refused = client.post(url, {"bank": str(banks["B"].pk), "period": "2024-11-20"})
    assert refused.status_code == 200 and refused.context["form"].errors["bank"] and not callbacks

    with django_capture_on_commit_callbacks() as callbacks:
        accepted = client.post(url, {"bank": str(banks["A"].pk), "period": "2024-11-20"})
    assert accepted.status_code == 302 and len(callbacks) == 1
    pending = Report.objects.get(bank=banks["A"], period_start=datetime.date(2024, 11, 18))
    assert pending.status == "pending" and accepted["Location"].endswith(f"/{pending.pk}/change/")

    assert client_for(users[("A", "viewer")]).get(url).status_code == 403


def test_superuser_can_ask_for_the_all_banks_report(reports, client_for, django_capture_on_commit_callbacks):
    _banks, _users, _r = reports
    root = UserFactory(username="root", is_superuser=True)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(root).post(
            reverse("admin:scoring_report_generate"), {"bank": "all", "period": "2024-11-27", "force": "on"}
        )
    assert response.status_code == 302 and len(callbacks) == 1
    assert Report.objects.get(bank__isnull=True, period_start=datetime.date(2024, 11, 25)).status == "pending"


def test_a_report_being_built_reloads_its_page_until_ready(reports, client_for):
    _banks, users, r = reports
    client = client_for(users[("A", "viewer")])
    url = _routes(r["A"])["change"]
    assert b'http-equiv="refresh"' not in client.get(url).content  # ready: nothing to wait for
    Report.objects.filter(pk=r["A"].pk).update(status="pending")
    waiting = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'http-equiv="refresh"' in waiting, waiting[:600]
    assert "自动刷新" in waiting
    Report.objects.filter(pk=r["A"].pk).update(status="failed")
    assert b'http-equiv="refresh"' not in client.get(url).content


def test_one_english_word_two_chinese_meanings(reports, client_for):
    """“Change” is 修改 on the admin's links but 变动 for a score's movement; “Total” is 合计 for a sum of counts but
    总分 for a score (message contexts keep them apart)."""
    _banks, users, r = reports
    client = client_for(users[("A", "viewer")])
    index = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "修改" in index and "变动" not in index
    page = client.get(_routes(r["A"])["change"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "合计" in page and "总分" in page and "变动" in page
