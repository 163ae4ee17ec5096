"""Regressions found by fuzzing the API (schemathesis): each was a 500 or a response that broke the schema."""

import pytest

from tests.api.conftest import API

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("offset", ["-19:47", "+16:00", "-16:00", "+08:00"])
def test_updated_since_with_any_iso_offset_is_not_a_server_error(world, client_as, offset):
    response = client_as(world.user("analyst")).get(
        f"{API}initiatives/", {"updated_since": f"1756-04-21T03:57:46{offset}"}
    )
    assert response.status_code == 200
    assert response.json()["count"] >= 1  # everything changed after 1756


def test_unapproved_assessment_reports_a_null_approver(draft, world, client_as):
    body = client_as(world.user("analyst")).get(f"{API}assessments/{draft.pk}/").json()
    assert body["approved_by"] is None and body["status"] == "draft"
