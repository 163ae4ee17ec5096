"""Rubrics, assessments, the scoring engine, Celery tasks and portfolio reports."""
