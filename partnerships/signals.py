"""Signals partnerships sends; scoring listens (partnerships never imports scoring)."""

from django.dispatch import Signal

# Sent by seed_demo inside its transaction once reference (and demo) data are in place, with `demo: bool`.
# scoring listens to load its rubrics and the demo assessments: partnerships never imports scoring.
# Receivers return a list of lines for the command to print.
demo_data_seeded = Signal()

# Sent by the daily limit check (partnerships.services.limit_breaches) inside its transaction when joint-lending
# limit breaches open or resolve, with `bank_id: int` and `initiative_ids: list[int]` (the initiatives concerned).
# scoring listens to ask for their scores again, so their compliance gate follows the limits.
limit_breaches_changed = Signal()

# Sent by the bank archive (partnerships.services.archive) to collect what other apps carry in it; receivers
# return an ``ArchivePart`` (their models, reference kinds, models left out with the reason). scoring answers.
bank_archive_parts = Signal()

# Sent by the lifecycle services (partnerships.services.lifecycle) inside their transaction when a monitoring event or
# a contract register entry changes, with `bank_id: int` and `initiative_ids: list[int]`. scoring listens to ask for
# their scores again, so the tier cap and the exit-readiness cap follow (docs/lifecycle.md).
lifecycle_changed = Signal()
