"""Signals partnerships sends; scoring listens (partnerships never imports scoring)."""

from django.dispatch import Signal

# Sent by seed_demo inside its transaction once reference (and demo) data are in place, with `demo: bool`.
# scoring listens to load its rubrics and the demo assessments: partnerships never imports scoring.
# Receivers return a list of lines for the command to print.
demo_data_seeded = Signal()
