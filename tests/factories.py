"""factory-boy factories for the domain; taxonomy rows come from the seed fixture, loaded per test."""

import factory
from django.contrib.auth import get_user_model

from partnerships.models import (
    KPI,
    Bank,
    Initiative,
    InitiativePartner,
    KPIObservation,
    Membership,
    PartnerMetric,
    TechPartner,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    is_staff = True
    password = factory.django.Password("pw-for-tests-only")


class BankFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bank
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"bank{n}")
    name_zh_hans = factory.Sequence(lambda n: f"示例银行{n}")
    name_en = factory.Sequence(lambda n: f"Example Bank {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    bank = factory.SubFactory(BankFactory)
    role = "analyst"


class TechPartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TechPartner
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"partner{n}")
    name_zh_hans = factory.Sequence(lambda n: f"科技公司{n}")
    name_en = factory.Sequence(lambda n: f"Tech Co {n}")


class PartnerMetricFactory(factory.django.DjangoModelFactory):
    """A partner's figure; a percentage of the whole company unless told (``segment``, ``part_of``, ``unit``)."""

    class Meta:
        model = PartnerMetric

    partner = factory.SubFactory(TechPartnerFactory)
    segment = ""
    part_of = ""
    unit = "%"
    source = "test"


class InitiativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Initiative

    bank = factory.SubFactory(BankFactory)
    code = factory.Sequence(lambda n: f"init-{n}")
    title = factory.Sequence(lambda n: f"合作项目 {n}")
    pillar_id = "scenario"
    status = "pilot"


class InitiativePartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InitiativePartner

    initiative = factory.SubFactory(InitiativeFactory)
    partner = factory.SubFactory(TechPartnerFactory)
    role = "lead"


class KPIFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KPI

    initiative = factory.SubFactory(InitiativeFactory)
    name = factory.Sequence(lambda n: f"KPI {n}")
    baseline = 100
    target = 200


class KPIObservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KPIObservation

    kpi = factory.SubFactory(KPIFactory)
    observed_on = factory.Sequence(
        lambda n: __import__("datetime").date(2024, 1, 1) + __import__("datetime").timedelta(days=n)
    )
    value = 150
