"""Scoring in the admin: assessment entry with level anchors, four-eyes approval, score panel, score now."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from scoring.models import Assessment, Rating, RubricVersion, ScoreJob
from scoring.services.compute import score_initiatives
from tests.factories import InitiativeFactory
from tests.scoring.conftest import make_rated_initiative

pytestmark = pytest.mark.django_db


def _messages(response) -> str:
    return " ".join(f"{m.level_tag.upper()}: {m}" for m in get_messages(response.wsgi_request))


def _rating_form(assessment, values: dict) -> dict:
    """The assessment page's post: the note, and one level and rationale per rated criterion."""
    data = {"note": assessment.note}
    for criterion in assessment.rubric_version.criteria.filter(source="rated"):
        data[f"rating__{criterion.key}"] = str(values.get(criterion.key, ""))
        data[f"rationale__{criterion.key}"] = "试点实测" if criterion.key in values else ""
    return data


def test_analyst_rates_submits_and_a_different_manager_approves(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = InitiativeFactory(bank=banks["A"], pillar_id="smart_banking")
    analyst = client_for(users[("A", "analyst")])
    response = analyst.post(
        reverse("admin:scoring_assessment_add"),
        {"initiative": initiative.pk, "rubric_version": "", "note": "首次评估"},
    )
    assert response.status_code == 302
    assessment = Assessment.objects.get(initiative=initiative)
    assert assessment.author == users[("A", "analyst")]
    assert assessment.rubric_version.rubric.pillar_id == "smart_banking"
    rated = list(assessment.rubric_version.criteria.filter(source="rated").values_list("key", flat=True))
    assert len(rated) == 14  # one rating field per rated criterion (16 less 2 computed); none stored yet
    assert assessment.ratings.count() == 0

    page = analyst.get(
        reverse("admin:scoring_assessment_change", args=[assessment.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    html = page.content.decode()
    assert "获客成本" in html and "全渠道整合" in html
    anchor = assessment.rubric_version.criteria.get(key="acquisition_cost").levels[3]["zh-hans"]
    assert anchor in html  # each level's anchored description beside the rating

    url = reverse("admin:scoring_assessment_change", args=[assessment.pk])
    response = analyst.post(url, _rating_form(assessment, {"acquisition_cost": 3, "risk_screening_cost": 2}))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert "ERROR" not in _messages(response), _messages(response)
    assert Rating.objects.get(assessment=assessment, criterion__key="acquisition_cost").value == 3
    assert assessment.ratings.count() == 2
    page = analyst.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已评 2 项，共 14 项" in page  # the completeness meter
    assert "尚未评分的门槛指标" in page and "合规就绪" in page[page.index("尚未评分的门槛指标") :]

    # Submitting with the compliance gate unrated is refused, and the message names it.
    changelist = reverse("admin:scoring_assessment_changelist")
    response = analyst.post(
        changelist, {"action": "submit", "_selected_action": [assessment.pk]}, follow=True
    )
    assessment.refresh_from_db()
    assert assessment.status == "draft"
    said = _messages(response)
    assert "ERROR" in said and ("合规就绪" in said or "compliance" in said.lower()), said

    analyst.post(url, _rating_form(assessment, dict.fromkeys(rated, 3)))
    assert assessment.ratings.count() == 14

    analyst.post(changelist, {"action": "submit", "_selected_action": [assessment.pk]})
    assessment.refresh_from_db()
    assert assessment.status == "submitted"

    # The author cannot approve their own assessment even with the manager role; here an analyst tries.
    response = analyst.post(
        changelist, {"action": "approve", "_selected_action": [assessment.pk]}, follow=True
    )
    assessment.refresh_from_db()
    assert assessment.status == "submitted"

    manager = client_for(users[("A", "manager")])
    response = manager.post(
        changelist, {"action": "approve", "_selected_action": [assessment.pk]}, follow=True
    )
    assessment.refresh_from_db()
    assert assessment.status == "approved" and assessment.approved_by == users[("A", "manager")]
    assert ScoreJob.objects.filter(initiative_ids=[initiative.pk]).exists()
    assert "score job" in _messages(response).lower() or "评分任务" in _messages(response)


def test_manager_cannot_approve_own_assessment(two_banks, rubrics, client_for):
    banks, users = two_banks
    manager = users[("A", "manager")]
    initiative = InitiativeFactory(bank=banks["A"])
    version = RubricVersion.objects.get(rubric__pillar_id="scenario")
    assessment = Assessment.objects.create(
        initiative=initiative, rubric_version=version, author=manager, status="submitted"
    )
    client = client_for(manager)
    response = client.post(
        reverse("admin:scoring_assessment_changelist"),
        {"action": "approve", "_selected_action": [assessment.pk]},
        follow=True,
    )
    assessment.refresh_from_db()
    assert assessment.status == "submitted"
    assert (
        "four eyes" in _messages(response) or "四眼" in _messages(response) or "作者" in _messages(response)
    )


def test_initiative_page_shows_score_breakdown_and_history(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = make_rated_initiative(bank=banks["A"])
    score_initiatives(bank_id=banks["A"].pk, initiative_ids=[initiative.pk])
    client = client_for(users[("A", "viewer")])
    html = client.get(reverse("admin:partnerships_initiative_change", args=[initiative.pk])).content.decode()
    assert "73.5" in html and "score-panel" in html
    assert "合作方实力" in html and "腾讯" in html  # computed row names the data it used
    listing = client.get(reverse("admin:partnerships_initiative_changelist")).content.decode()
    assert "73.5" in listing


def test_score_now_enqueues_a_job_and_says_how_to_follow_it(two_banks, rubrics, client_for):
    banks, users = two_banks
    mine = InitiativeFactory(bank=banks["A"])
    theirs = InitiativeFactory(bank=banks["B"])
    client = client_for(users[("A", "analyst")])
    response = client.post(
        reverse("admin:partnerships_initiative_changelist"),
        {"action": "score_now", "_selected_action": [mine.pk, theirs.pk]},
        follow=True,
    )
    job = ScoreJob.objects.get(kind="request")
    assert job.initiative_ids == [mine.pk] and job.bank_id == banks["A"].pk
    assert str(job.pk)[:8] in _messages(response)


def test_published_version_is_read_only_in_the_admin(admin_client, rubrics):
    version = RubricVersion.objects.get(rubric__pillar_id="scenario")
    html = admin_client.get(reverse("admin:scoring_rubricversion_change", args=[version.pk])).content.decode()
    assert 'name="criteria-0-weight"' not in html
    assert 'name="tier_a"' not in html


def test_other_banks_assessments_and_scores_are_not_found(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = make_rated_initiative(bank=banks["B"])
    score_initiatives(bank_id=banks["B"].pk, initiative_ids=[initiative.pk])
    assessment = Assessment.objects.get(initiative=initiative)
    client = client_for(users[("A", "manager")])
    assert client.get(reverse("admin:scoring_assessment_change", args=[assessment.pk])).status_code == 302
    assert client.get(reverse("admin:scoring_assessment_history", args=[assessment.pk])).status_code == 404
    listing = client.get(reverse("admin:scoring_score_changelist")).content.decode()
    assert initiative.title not in listing


def test_a_score_page_reads_as_a_table_with_the_hash_tucked_away(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = make_rated_initiative(bank=banks["A"])
    score_initiatives(bank_id=banks["A"].pk, initiative_ids=[initiative.pk])
    score = initiative.scores.get()
    html = (
        client_for(users[("A", "viewer")])
        .get(reverse("admin:scoring_score_change", args=[score.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    assert 'class="score-panel"' in html and "合作方实力" in html and "73.5" in html
    technical = html[html.index("collapse") :]
    assert score.inputs_hash in technical  # only in the collapsed technical section
    assert html.index(score.inputs_hash) > html.index("collapse")


def test_the_score_panel_names_criteria_in_chinese_without_their_keys(two_banks, rubrics, client_for):
    banks, users = two_banks
    initiative = make_rated_initiative(bank=banks["A"], compliance=1)  # below the compliance gate
    score_initiatives(bank_id=banks["A"].pk, initiative_ids=[initiative.pk])
    html = (
        client_for(users[("A", "viewer")])
        .get(
            reverse("admin:partnerships_initiative_change", args=[initiative.pk]),
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
        .content.decode()
    )
    panel = html[html.index('class="score-panel"') :]
    assert '<span title="partner_strength">合作方实力</span>' in panel
    assert (
        '<span title="compliance_readiness">合规就绪</span>：' in panel
    )  # the failed gate, full-width colon
    assert "<small>partner_strength</small>" not in panel
