"""The fault suite reuses the scoring fixtures: a private Redis and real worker subprocesses."""

from tests.scoring.conftest import private_broker, workers  # noqa: F401
