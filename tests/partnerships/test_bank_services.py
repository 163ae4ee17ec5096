"""A bank's own row through its one door (partnerships.services.banks): superusers create, rename and delete banks;
managers change only the lending profile of their own bank; every refusal writes nothing."""

from __future__ import annotations

import pytest
from django.utils import translation

from partnerships.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from partnerships.models import Bank, Initiative
from partnerships.services.banks import bank_create, bank_delete, bank_update, bank_validate
from tests.factories import InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_superuser=True)


def test_a_superuser_creates_a_bank_with_its_profile_and_is_its_author(two_banks, root):
    bank = bank_create(
        user=root,
        data={
            "code": "bank-c",
            "name_zh_hans": "丙银行",
            "name_en": "Bank C",
            "bank_type": "city_commercial",
            "home_region": "33",
        },
    )
    bank.refresh_from_db()
    assert (bank.code, bank.bank_type, bank.home_region, bank.limit_warning_percent) == (
        "bank-c",
        "city_commercial",
        "33",
        Bank._meta.get_field("limit_warning_percent").get_default(),
    )
    assert bank.history.latest().history_user == root


@pytest.mark.parametrize("role", ["viewer", "analyst", "manager"])
def test_only_superusers_create_banks(two_banks, role):
    _banks, users = two_banks
    with pytest.raises(Forbidden):
        bank_create(user=users[("A", role)], data={"code": "x", "name_zh_hans": "某行", "name_en": "X"})
    assert not Bank.objects.filter(code="x").exists()


def test_every_problem_of_a_new_bank_is_named_by_field_and_nothing_is_written(two_banks, root):
    with pytest.raises(Invalid) as refused:
        bank_create(user=root, data={"code": "bank-c", "name_zh_hans": "丙", "name_en": "C", "colour": "red"})
    assert "colour" in refused.value.message
    with pytest.raises(Invalid) as refused:
        bank_create(
            user=root, data={"code": "bank-a", "name_zh_hans": "", "name_en": "A", "bank_type": "village"}
        )
    fields = refused.value.fields
    assert {"code", "name_zh_hans", "home_region"} <= set(fields), fields
    assert Bank.objects.count() == 2


def test_a_manager_changes_the_profile_of_their_bank_and_not_its_identity(two_banks):
    banks, users = two_banks
    manager = users[("A", "manager")]
    bank = bank_update(
        user=manager, bank=banks["A"], data={"bank_type": "joint_stock", "limit_warning_percent": 70}
    )
    assert (bank.bank_type, bank.limit_warning_percent) == ("joint_stock", 70)
    with pytest.raises(Forbidden):
        bank_update(user=manager, bank=banks["A"], data={"code": "hijack"})
    with pytest.raises(Forbidden):
        bank_update(user=manager, bank=banks["A"], data={"name_en": "Mine", "bank_type": "village"})
    # Sending the identity unchanged (a form does) is not a change.
    bank_update(user=manager, bank=banks["A"], data={"code": "bank-a", "home_region": "31"})
    current = Bank.objects.get(pk=banks["A"].pk)
    assert (current.code, current.name_en, current.bank_type, current.home_region) == (
        "bank-a",
        "Bank A",
        "joint_stock",
        "31",
    )


@pytest.mark.parametrize(
    ("who", "error"), [(("A", "analyst"), ServiceError), (("B", "manager"), ServiceError)]
)
def test_analysts_and_other_banks_managers_change_nothing(two_banks, who, error):
    banks, users = two_banks
    with pytest.raises(error):
        bank_update(user=users[who], bank=banks["A"], data={"bank_type": "joint_stock"})
    assert Bank.objects.get(pk=banks["A"].pk).bank_type == ""


def test_a_superuser_renames_and_a_taken_code_is_a_field_error(two_banks, root):
    banks, _users = two_banks
    with pytest.raises(Invalid) as refused:
        bank_update(user=root, bank=banks["A"], data={"code": "bank-b"})
    assert "code" in refused.value.fields
    bank_update(user=root, bank=banks["A"], data={"code": "bank-a2", "name_en": "Bank A (renamed)"})
    assert Bank.objects.get(pk=banks["A"].pk).code == "bank-a2"


def test_validate_checks_what_update_checks_and_writes_nothing(two_banks):
    banks, users = two_banks
    with pytest.raises(Forbidden):
        bank_validate(user=users[("A", "manager")], bank=banks["A"], data={"code": "x"})
    with pytest.raises(Invalid):
        bank_validate(user=users[("A", "manager")], bank=banks["A"], data={"limit_warning_percent": 0})
    with pytest.raises(NotFound):
        bank_validate(user=users[("A", "manager")], bank=10**9, data={})
    assert Bank.objects.get(pk=banks["A"].pk).limit_warning_percent != 0


def test_only_superusers_delete_a_bank_and_never_one_with_initiatives(two_banks, root):
    banks, users = two_banks
    initiative = InitiativeFactory(bank=banks["A"])
    with pytest.raises(Forbidden):
        bank_delete(user=users[("A", "manager")], bank=banks["A"])
    with pytest.raises(Conflict) as refused, translation.override("en"):
        bank_delete(user=root, bank=banks["A"])
    assert "initiatives (1)" in refused.value.message
    assert Bank.objects.filter(pk=banks["A"].pk).exists()
    initiative.delete()
    bank_delete(user=root, bank=banks["A"].pk)
    assert not Bank.objects.filter(pk=banks["A"].pk).exists()
    assert not Initiative.objects.filter(bank_id=banks["A"].pk).exists()
    with pytest.raises(NotFound):
        bank_delete(user=root, bank=banks["A"].pk)
