"""Hard rules are database constraints: they hold even when a form or service is bypassed."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from partnerships.errors import Invalid
from partnerships.models import (
    Evidence,
    Initiative,
    InitiativePartner,
    KPIObservation,
    Membership,
    ScenarioType,
)
from partnerships.services.initiatives import initiative_update
from tests.factories import (
    BankFactory,
    InitiativeFactory,
    KPIFactory,
    TechPartnerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _violates(fn) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        if connection.vendor == "postgresql":  # foreign keys are deferred: check them at once
            connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
        fn()


def test_initiative_code_unique_per_bank(taxonomy):
    a = InitiativeFactory(code="pay-01")
    _violates(lambda: InitiativeFactory(bank=a.bank, code="pay-01"))
    InitiativeFactory(code="pay-01", bank=BankFactory())  # another bank may reuse the code


def test_initiative_dates_ordered(taxonomy):
    _violates(
        lambda: InitiativeFactory(start_date=datetime.date(2024, 5, 1), end_date=datetime.date(2024, 4, 30))
    )
    InitiativeFactory(start_date=datetime.date(2024, 5, 1), end_date=datetime.date(2024, 5, 1))


def test_initiative_status_must_be_valid(taxonomy):
    _violates(lambda: InitiativeFactory(status="finished"))


def test_initiative_pillar_must_exist(taxonomy):
    _violates(lambda: InitiativeFactory(pillar_id="crypto"))


def test_transfer_mechanism_needs_cross_border(taxonomy):
    _violates(lambda: InitiativeFactory(cross_border_transfer=False, transfer_mechanism="standard_contract"))
    InitiativeFactory(cross_border_transfer=True, transfer_mechanism="standard_contract")


def test_membership_unique_and_role_valid(taxonomy):
    user, bank = UserFactory(), BankFactory()
    Membership.objects.create(user=user, bank=bank, role="analyst")
    _violates(lambda: Membership.objects.create(user=user, bank=bank, role="viewer"))
    _violates(lambda: Membership.objects.create(user=UserFactory(), bank=bank, role="owner"))


def test_single_lead_partner(taxonomy):
    initiative = InitiativeFactory()
    InitiativePartner.objects.create(initiative=initiative, partner=TechPartnerFactory(), role="lead")
    _violates(
        lambda: InitiativePartner.objects.create(
            initiative=initiative, partner=TechPartnerFactory(), role="lead"
        )
    )
    InitiativePartner.objects.create(initiative=initiative, partner=TechPartnerFactory(), role="technology")


def test_kpi_target_differs_from_baseline_and_one_observation_a_day(taxonomy):
    _violates(lambda: KPIFactory(baseline=10, target=10))
    kpi = KPIFactory()
    KPIObservation.objects.create(kpi=kpi, observed_on=datetime.date(2024, 9, 30), value=1)
    _violates(lambda: KPIObservation.objects.create(kpi=kpi, observed_on=datetime.date(2024, 9, 30), value=2))


def test_evidence_is_file_xor_link(taxonomy):
    initiative = InitiativeFactory()
    _violates(lambda: Evidence.objects.create(initiative=initiative, kind="link", url=""))
    _violates(
        lambda: Evidence.objects.create(initiative=initiative, kind="file", url="https://example.com/a")
    )
    Evidence.objects.create(initiative=initiative, kind="link", url="https://example.com/a")


def test_scenario_type_must_belong_to_pillar_in_the_service(taxonomy):
    initiative = InitiativeFactory(pillar_id="scenario")
    foreign = ScenarioType.objects.exclude(pillar_id="scenario").first()
    own = ScenarioType.objects.filter(pillar_id="scenario").first()
    with pytest.raises(Invalid) as info:
        initiative_update(user=None, initiative=initiative, data={"scenario_types": [foreign.key]})
    assert "scenario_types" in info.value.fields
    assert not initiative.scenario_types.exists()
    initiative_update(user=None, initiative=initiative, data={"scenario_types": [own.key]})
    assert list(initiative.scenario_types.all()) == [own]


def test_model_clean_names_fields(taxonomy):
    initiative = Initiative(
        bank=BankFactory(),
        code="x",
        title="t",
        pillar_id="data_sharing",
        start_date=datetime.date(2024, 2, 1),
        end_date=datetime.date(2024, 1, 1),
        personal_data_categories=["identity", "dna"],
    )
    with pytest.raises(ValidationError) as info:
        initiative.full_clean()
    assert {"end_date", "personal_data_categories"} <= set(info.value.message_dict)
