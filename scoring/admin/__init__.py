"""Admin for scoring: rubric authoring, assessment entry with four-eyes approval, scores on the initiative page."""

import importlib.util

from . import assessments, initiatives, jobs, rubrics  # noqa: F401

if importlib.util.find_spec("scoring.admin_reports"):  # the reports admin, once that module exists
    importlib.import_module("scoring.admin_reports")
