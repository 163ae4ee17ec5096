"""``__any_of`` selects what ``__in`` selects, as one array parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerships.models import Initiative, InitiativePartner
from tests.factories import InitiativeFactory, InitiativePartnerFactory

pytestmark = pytest.mark.django_db


def test_any_of_matches_in_on_fields_and_foreign_keys(taxonomy):
    initiatives = InitiativeFactory.create_batch(6)
    for initiative in initiatives[:4]:
        InitiativePartnerFactory(initiative=initiative)
    wanted = [initiatives[0].pk, initiatives[2].pk, initiatives[5].pk, 10**9]
    for model, lookup in ((Initiative, "id"), (InitiativePartner, "initiative_id")):
        expected = sorted(model.objects.filter(**{f"{lookup}__in": wanted}).values_list("pk", flat=True))
        with CaptureQueriesContext(connection) as ctx:
            got = sorted(model.objects.filter(**{f"{lookup}__any_of": wanted}).values_list("pk", flat=True))
        assert got == expected and got
        assert "= ANY(" in ctx.captured_queries[0]["sql"]  # one parameter, not one per id
    assert list(Initiative.objects.filter(id__any_of=[])) == []
