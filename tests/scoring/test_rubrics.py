"""Rubrics as versioned data: loading validates everything first; published versions and scores never change."""

import shutil

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from scoring.errors import ImmutableError
from scoring.models import Criterion, Rubric, RubricVersion, Score, ScoreJob
from scoring.services.compute import score_initiatives
from scoring.services.rubrics import (
    RUBRIC_DIR,
    rubric_version_clone,
    rubric_version_problems,
    rubric_version_publish,
    rubrics_load,
)
from tests.scoring.conftest import make_rated_initiative

pytestmark = pytest.mark.django_db


def test_default_rubrics_load_once_and_idempotently(taxonomy):
    first = rubrics_load()
    assert sorted(first.created) == [
        "data_sharing-default v1",
        "data_sharing-default v2",
        "scenario-default v1",
        "scenario-default v2",
        "smart_banking-default v1",
        "smart_banking-default v2",
    ]
    counts = {"scenario": 15, "data_sharing": 16, "smart_banking": 16}
    assert {
        (v.rubric.pillar_id, v.number): v.criteria.count()
        for v in RubricVersion.objects.select_related("rubric")
    } == {(pillar, n): count for pillar, count in counts.items() for n in (1, 2)}
    # Version 2 ships as a draft (``publish: false``): version 1 stays the published one and alone re-scores.
    assert dict(RubricVersion.objects.values_list("number", "status").distinct()) == {
        1: "published",
        2: "draft",
    }
    assert ScoreJob.objects.filter(kind="publish").count() == 3
    assert {job.rubric_version.number for job in first.jobs} == {1}
    assert sorted(first.published) == [label for label in sorted(first.created) if label.endswith("v1")]
    second = rubrics_load()
    assert second.created == [] and len(second.unchanged) == 6
    assert ScoreJob.objects.count() == 3 and Criterion.objects.count() == 94
    v1, v2 = (
        Criterion.objects.get(
            version__rubric__pillar_id="data_sharing", version__number=n, key="data_protection"
        )
        for n in (1, 2)
    )
    assert v1.is_gate and float(v1.gate_threshold) == 3 and v1.computed_from == "data_protection"
    assert v2.is_gate and float(v2.gate_threshold) == 3 and v2.computed_from == "data_protection_v2"
    assert v1.name_zh_hans == v2.name_zh_hans == "个人信息保护" and len(v2.levels) == 5
    capped = Criterion.objects.get(
        version__rubric__pillar_id="scenario", version__number=2, key="compliance_readiness"
    )
    assert capped.capped_by == "compliance_caps" and capped.source == "rated"


def test_a_version_1_load_alone_is_what_tests_of_the_machinery_pin(taxonomy):
    report = rubrics_load(versions={1})
    assert sorted(report.created) == [
        "data_sharing-default v1",
        "scenario-default v1",
        "smart_banking-default v1",
    ]
    assert not Criterion.objects.exclude(capped_by="").exists()


def _broken_copy(tmp_path, mutate):
    target = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, target)
    path = target / "scenario.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


def test_bad_file_names_file_criterion_and_field_and_loads_nothing(taxonomy, tmp_path):
    def mutate(data):
        data["criteria"][0]["weight"] = -3
        data["criteria"][1]["levels"] = data["criteria"][1]["levels"][:3]

    directory = _broken_copy(tmp_path, mutate)
    with pytest.raises(CommandError) as info:
        call_command("load_rubrics", "--dir", str(directory))
    message = str(info.value)
    assert "scenario.yaml › ecosystem_breadth › weight" in message
    assert "scenario.yaml › backend_enablement › levels" in message
    assert not Rubric.objects.exists() and not RubricVersion.objects.exists()


def test_loading_before_the_taxonomy_names_the_files_and_writes_nothing(db):
    with pytest.raises(CommandError) as info:
        call_command("load_rubrics")
    message = str(info.value)
    assert "scenario.yaml › - › pillar" in message and "load the taxonomy first" in message
    assert not Rubric.objects.exists()


def test_changed_file_for_a_published_version_is_refused(taxonomy, tmp_path):
    rubrics_load(versions={1})

    def mutate(data):
        data["criteria"][0]["weight"] = 9

    with pytest.raises(ValueError, match="new version number"):
        rubrics_load(directory=_broken_copy(tmp_path, mutate), versions={1})


def test_published_version_and_criteria_never_change(taxonomy):
    rubrics_load(versions={1})
    version = RubricVersion.objects.get(rubric__pillar_id="scenario")
    version.tier_a = 80
    with pytest.raises(ImmutableError):
        version.save()
    criterion = version.criteria.first()
    criterion.weight = 99
    with pytest.raises(ImmutableError):
        criterion.save()
    with pytest.raises(ImmutableError):
        criterion.delete()
    with pytest.raises(ImmutableError):
        RubricVersion.objects.get(pk=version.pk).delete()


def test_clone_then_publish_retires_the_old_version(taxonomy):
    rubrics_load(versions={1})
    v1 = RubricVersion.objects.get(rubric__pillar_id="scenario")
    draft = rubric_version_clone(v1)
    assert draft.number == 2 and draft.status == "draft" and draft.criteria.count() == 15
    weight = draft.criteria.get(key="acquisition_cost")
    weight.weight = 12
    weight.save()  # a draft can change
    job = rubric_version_publish(draft)
    v1.refresh_from_db()
    draft.refresh_from_db()
    assert (v1.status, draft.status) == ("retired", "published")
    assert job.kind == "publish" and job.rubric_version == draft


def test_publish_explains_what_blocks_it(taxonomy):
    rubrics_load(versions={1})
    draft = rubric_version_clone(RubricVersion.objects.get(rubric__pillar_id="scenario"))
    criterion = draft.criteria.get(key="acquisition_cost")
    criterion.levels = criterion.levels[:2]
    criterion.save()
    problems = rubric_version_problems(draft)
    assert any("acquisition_cost" in p for p in problems)


def test_scores_are_immutable(rubrics):
    initiative = make_rated_initiative()
    score_initiatives(bank_id=initiative.bank_id, initiative_ids=[initiative.pk])
    score = Score.objects.get()
    score.total = 1
    with pytest.raises(ImmutableError):
        score.save()


def _half_width_copy(tmp_path, mutate=None):
    """The rubric files as version 1 shipped them: half-width punctuation in their Chinese texts."""
    half = str.maketrans({"，": ",", "：": ":", "；": ";", "（": "(", "）": ")"})

    def fold(node):
        if isinstance(node, dict):
            return {k: fold(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fold(v) for v in node]
        return node.translate(half) if isinstance(node, str) else node

    target = tmp_path / "v1-punctuation"
    target.mkdir()
    for path in RUBRIC_DIR.glob("*.yaml"):
        data = fold(yaml.safe_load(path.read_text(encoding="utf-8")))
        if mutate:
            mutate(path.stem, data)
        (target / path.name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


def test_a_punctuation_correction_amends_a_published_version_in_place(taxonomy, tmp_path):
    """Loaded with half-width punctuation and published, then loaded from today's files: the same versions,
    their Chinese texts corrected, no new version, no re-scoring job; a second load changes nothing."""
    first = rubrics_load(directory=_half_width_copy(tmp_path), versions={1})
    assert len(first.created) == 3
    gate = Criterion.objects.get(version__rubric__pillar_id="data_sharing", key="data_protection")
    assert "," in gate.description_zh_hans and "，" not in gate.description_zh_hans
    jobs = ScoreJob.objects.count()

    second = rubrics_load(versions={1})
    assert sorted(second.amended) == [
        "data_sharing-default v1",
        "scenario-default v1",
        "smart_banking-default v1",
    ]
    assert second.created == [] and second.jobs == []
    assert ScoreJob.objects.count() == jobs and RubricVersion.objects.count() == 3
    gate.refresh_from_db()
    assert "，" in gate.description_zh_hans and "断直连）" in gate.description_zh_hans
    assert gate.levels[0]["zh-hans"] == "共享个人信息，但未记录合法性基础"
    assert "(断直连)" in gate.description_en  # English keeps its own punctuation
    rubric = Rubric.objects.get(pillar_id="data_sharing")
    assert "“强化客户资源共享，拓展消费金融”" in rubric.description_zh_hans
    assert RubricVersion.objects.get(rubric=rubric).status == "published"
    assert rubrics_load(versions={1}).unchanged and not rubrics_load(versions={1}).amended


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d["criteria"][0]["levels"][0].update({"zh-hans": "改过的文字"}), id="a word"),
        pytest.param(lambda d: d["criteria"][0].update({"weight": 9}), id="a weight"),
        pytest.param(lambda d: d["method"]["tier_thresholds"].update({"A": 80}), id="a threshold"),
    ],
)
def test_anything_beyond_punctuation_still_needs_a_new_version(taxonomy, tmp_path, change):
    rubrics_load(versions={1})

    def mutate(stem, data):
        if stem == "data_sharing":
            change(data)

    with pytest.raises(ValueError, match="new version number"):
        rubrics_load(directory=_half_width_copy(tmp_path, mutate), versions={1})
    gate = Criterion.objects.get(version__rubric__pillar_id="data_sharing", key="data_protection")
    assert "，" in gate.description_zh_hans  # nothing written


def test_publishing_version_2_retires_version_1_and_rescores_once(taxonomy):
    rubrics_load()
    v2 = RubricVersion.objects.get(rubric__pillar_id="data_sharing", number=2)
    job = rubric_version_publish(v2)
    assert job.rubric_version == v2 and job.kind == "publish"
    statuses = dict(RubricVersion.objects.filter(rubric=v2.rubric).values_list("number", "status"))
    assert statuses == {1: "retired", 2: "published"}
    again = rubrics_load()  # the file still says publish: false, but a published version is never demoted
    assert again.created == [] and RubricVersion.objects.get(pk=v2.pk).status == "published"


def test_the_loader_publishes_only_the_last_new_version_of_a_rubric(taxonomy, tmp_path):
    target = tmp_path / "rubrics"
    shutil.copytree(RUBRIC_DIR, target)
    for path in target.glob("*_v2.yaml"):
        path.write_text(
            path.read_text(encoding="utf-8").replace("publish: false", "publish: true"), encoding="utf-8"
        )
    report = rubrics_load(directory=target)
    assert {job.rubric_version.number for job in report.jobs} == {2} and len(report.jobs) == 3
    assert dict(RubricVersion.objects.values_list("number", "status").distinct()) == {
        1: "retired",
        2: "published",
    }
