"""Models of the scoring app, one idea a module."""

from .assessment import Assessment, LastApproval, Rating, SevereSinceApproval
from .checklist import ChecklistAnswer, ChecklistItem, ChecklistVersion
from .job import ScoreJob, ScoreJobChunk
from .report import Report as Report
from .rubric import Criterion, Rubric, RubricVersion
from .score import CurrentScore, Score

__all__ = [
    "Assessment",
    "ChecklistAnswer",
    "ChecklistItem",
    "ChecklistVersion",
    "Criterion",
    "CurrentScore",
    "LastApproval",
    "Rating",
    "Rubric",
    "RubricVersion",
    "Score",
    "ScoreJob",
    "ScoreJobChunk",
    "SevereSinceApproval",
]
