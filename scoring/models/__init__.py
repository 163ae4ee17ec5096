"""Models of the scoring app, one idea a module."""

from .assessment import Assessment, Rating
from .job import ScoreJob, ScoreJobChunk
from .report import Report as Report
from .rubric import Criterion, Rubric, RubricVersion
from .score import CurrentScore, Score

__all__ = [
    "Assessment",
    "Criterion",
    "CurrentScore",
    "Rating",
    "Rubric",
    "RubricVersion",
    "Score",
    "ScoreJob",
    "ScoreJobChunk",
]
