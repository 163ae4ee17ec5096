"""Fixtures of the lifecycle tests: scoring's (published rubrics, a rated initiative) reused."""

from tests.api.conftest import client_as  # noqa: F401  (a fixture)
from tests.reports.conftest import partners  # noqa: F401  (a fixture)
from tests.scoring.conftest import rubrics  # noqa: F401  (a fixture)
