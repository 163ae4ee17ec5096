"""A job of one chunk runs in one transaction (scoring.services.jobs.score_job_run_single): the job and its chunk
row end as the planned path leaves them, a job too large for it is planned into chunks, and the statements it
costs do not grow past its pin."""

import pytest

from scoring.choices import JobStatus
from scoring.models import Score, ScoreJob, ScoreJobChunk
from scoring.services.jobs import (
    score_chunk_run,
    score_job_create,
    score_job_plan,
    score_job_run,
    score_job_run_single,
)
from tests.factories import BankFactory
from tests.scoring.conftest import job_and_chunks, make_rated_initiative

pytestmark = pytest.mark.django_db


def _job(job):
    fields, chunks = job_and_chunks(job)
    return fields, chunks, job.started_at is not None, job.finished_at is not None


def test_a_one_chunk_job_ends_as_the_planned_path_leaves_it(rubrics):
    a = make_rated_initiative()
    b = make_rated_initiative(bank=a.bank, compliance=1)
    stranger = make_rated_initiative(bank=BankFactory())  # asked for, not in the job's bank: not in scope
    ids = [a.pk, b.pk, stranger.pk]

    single = score_job_create(bank_id=a.bank_id, initiative_ids=ids)
    score_job_run(single.pk)
    planned = score_job_create(bank_id=a.bank_id, initiative_ids=ids)
    for chunk_id in score_job_plan(planned.pk):
        score_chunk_run(chunk_id)

    got, want = _job(single), _job(planned)
    # The first job wrote the Scores, the second found them (same inputs): only scores_created differs.
    assert (got[0].pop("scores_created"), want[0].pop("scores_created")) == (2, 0)
    assert [c.pop("scores_created") for c in got[1]] == [2] and [
        c.pop("scores_created") for c in want[1]
    ] == [0]
    assert got == want
    fields, chunks, started, finished = got
    assert fields["status"] == JobStatus.SUCCEEDED
    assert (fields["total"], fields["done"], fields["failed"]) == (3, 2, 1)
    assert fields["error"] == "1 initiative(s) not found in scope" and started and finished
    assert chunks[0]["initiative_ids"] == sorted([a.pk, b.pk]) and chunks[0]["status"] == JobStatus.SUCCEEDED
    assert Score.objects.filter(initiative__in=[a, b]).count() == 2


def test_a_job_done_or_already_planned_is_left_to_the_planned_path(rubrics):
    a = make_rated_initiative()
    job = score_job_create(bank_id=a.bank_id, initiative_ids=[a.pk])
    score_job_plan(job.pk)  # planned (running, one chunk row): not for the one-transaction path
    assert score_job_run_single(job.pk) is False
    score_job_run(job.pk)
    assert ScoreJobChunk.objects.filter(job=job).count() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.done == 1
    assert score_job_run_single(job.pk) is True  # done: nothing more (a redelivered task)
    assert Score.objects.filter(initiative=a).count() == 1


def test_a_job_of_several_banks_is_planned_into_chunks(rubrics):
    a, b = make_rated_initiative(), make_rated_initiative(bank=BankFactory())
    job = score_job_create(bank_id=None, initiative_ids=[a.pk, b.pk])
    assert score_job_run_single(job.pk) is False
    assert ScoreJob.objects.get(pk=job.pk).status == JobStatus.QUEUED
    assert not ScoreJobChunk.objects.filter(job=job).exists()
