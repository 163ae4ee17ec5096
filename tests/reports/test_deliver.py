"""E-mail delivery: a summary with the XLSX attached, to the bank's subscribed users only, once per report."""

import datetime
import io

import pytest
from django.core import mail
from openpyxl import load_workbook

from partnerships.models import Membership
from scoring.reports.deliver import report_deliver
from scoring.reports.services import report_generate
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WEEK = datetime.date(2024, 11, 11)


@pytest.fixture
def subscribers(portfolio):
    banks, users, _i = portfolio
    Membership.objects.filter(
        user__in=[users[("A", "viewer")], users[("A", "manager")]], bank=banks["A"]
    ).update(receives_reports=True)
    Membership.objects.filter(user=users[("B", "manager")]).update(receives_reports=True)  # bank B only
    no_address = UserFactory(username="no_address_a", email="")
    MembershipFactory(user=no_address, bank=banks["A"], role="viewer", receives_reports=True)
    inactive = UserFactory(username="gone_a", is_active=False)
    MembershipFactory(user=inactive, bank=banks["A"], role="viewer", receives_reports=True)
    return portfolio


def test_ready_report_is_mailed_to_subscribers_with_the_xlsx(subscribers):
    banks, _users, _i = subscribers
    mail.outbox.clear()
    report = report_generate(bank_id=banks["A"].pk, period_start=WEEK)

    assert sorted(m.to[0] for m in mail.outbox) == ["manager_a@example.test", "viewer_a@example.test"]
    assert all(len(m.to) == 1 and not m.cc and not m.bcc for m in mail.outbox)  # nobody sees the others
    message = mail.outbox[0]
    assert "2024-11-11" in message.subject and "2024-11-17" in message.subject
    hhi_line = next(line for line in message.body.splitlines() if "HHI" in line)
    # 3437.5 as an integer with the thousands separator (config/formats: grouped by three in Chinese too, as in
    # the attached workbook), after a full-width colon.
    assert "HHI：3,438（" in hhi_line, hhi_line
    (name, content, mimetype), *rest = message.attachments
    assert not rest and name == "weekly_portfolio-bank-a-2024-11-11.xlsx" and mimetype == XLSX
    # The workbook in the mail's language.
    assert "合作方集中度" in load_workbook(io.BytesIO(content)).sheetnames
    report.refresh_from_db()
    assert report.emailed_at is not None


def test_delivery_happens_once_and_again_only_after_a_rebuild(subscribers):
    banks, _users, _i = subscribers
    mail.outbox.clear()
    report = report_generate(bank_id=banks["A"].pk, period_start=WEEK)
    assert len(mail.outbox) == 2
    assert report_deliver(report.pk) == 0  # a redelivered task sends nothing more
    report_generate(bank_id=banks["A"].pk, period_start=WEEK)  # already ready: returned as is
    assert len(mail.outbox) == 2
    report_generate(bank_id=banks["A"].pk, period_start=WEEK, force=True)  # new content, sent again
    assert len(mail.outbox) == 4


def test_all_banks_report_goes_to_subscribed_superusers_only(subscribers):
    banks, _users, _i = subscribers
    boss = UserFactory(username="boss", is_superuser=True)
    MembershipFactory(user=boss, bank=banks["B"], role="manager", receives_reports=True)
    UserFactory(username="root_no_subscription", is_superuser=True)
    mail.outbox.clear()
    report_generate(bank_id=None, period_start=WEEK)
    assert [m.to for m in mail.outbox] == [["boss@example.test"]]
