"""Scoring a chunk of initiatives: bulk reads, the pure engine, bulk writes — fixed queries per chunk.

``score_initiatives`` is the one place where stored data becomes engine input and engine output becomes
Score rows. It is idempotent: a Score is unique per (initiative, rubric version, inputs hash), so running it
again on unchanged inputs writes no second Score.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import transaction
from django.utils import timezone

from partnerships.models import Initiative

from .. import engine
from ..choices import AssessmentStatus, CriterionSource, VersionStatus
from ..models import Assessment, Criterion, CurrentScore, Rating, RubricVersion, Score
from ..sources import SOURCES, InitiativeFacts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VersionBundle:
    """A rubric version in the engine's terms, compiled once."""

    version_id: int
    pillar: str
    specs: tuple[engine.CriterionSpec, ...]
    method: engine.Method
    compiled: engine.CompiledRubric
    computed: dict[str, str]  # criterion key -> source name
    keys: frozenset[str]


def _build_bundle(version: RubricVersion) -> VersionBundle:
    criteria = list(Criterion.objects.filter(version=version).order_by("position", "key"))
    specs = tuple(
        engine.CriterionSpec(
            key=c.key,
            name=c.name_zh_hans,
            weight=float(c.weight),
            scale_min=c.scale_min,
            scale_max=c.scale_max,
            is_gate=c.is_gate,
            gate_threshold=None if c.gate_threshold is None else float(c.gate_threshold),
            source=c.source,
        )
        for c in criteria
    )
    method = engine.Method(
        tier_thresholds=(
            ("A", float(version.tier_a)),
            ("B", float(version.tier_b)),
            ("C", float(version.tier_c)),
        ),
        confidence_threshold=float(version.confidence_threshold),
    )
    return VersionBundle(
        version_id=version.pk,
        pillar=version.rubric.pillar_id,
        specs=specs,
        method=method,
        compiled=engine.compile_rubric(specs, method),
        computed={c.key: c.computed_from for c in criteria if c.source == CriterionSource.COMPUTED},
        keys=frozenset(c.key for c in criteria),
    )


@lru_cache(maxsize=64)
def _locked_bundle(version_id: int) -> VersionBundle:
    # A published or retired version never changes, so its compiled form is cached for the process.
    return _build_bundle(RubricVersion.objects.select_related("rubric").get(pk=version_id))


def version_bundle(version: RubricVersion) -> VersionBundle:
    if version.status == VersionStatus.DRAFT:
        return _build_bundle(version)
    return _locked_bundle(version.pk)


def published_version_ids_by_pillar() -> dict[str, int]:
    return dict(
        RubricVersion.objects.filter(status=VersionStatus.PUBLISHED, rubric__is_default=True).values_list(
            "rubric__pillar_id", "id"
        )
    )


@dataclass
class ChunkOutcome:
    scored: int = 0
    failed: int = 0
    created: int = 0
    errors: dict[int, str] = field(default_factory=dict)
    score_ids: list[int] = field(default_factory=list)


def _pick_assessments(initiative_version: dict[int, int]) -> dict[int, tuple[int, str]]:
    """The assessment each initiative is scored on: its latest approved one, else its latest of any status."""
    rows = Assessment.objects.filter(
        initiative_id__in=list(initiative_version), rubric_version_id__in=set(initiative_version.values())
    ).values_list("id", "initiative_id", "rubric_version_id", "status", "updated_at")
    best: dict[int, tuple] = {}
    for aid, iid, vid, status, updated in rows:
        if initiative_version.get(iid) != vid:
            continue
        rank = (status == AssessmentStatus.APPROVED, updated, aid)
        if iid not in best or rank > best[iid][0]:
            best[iid] = (rank, aid, status)
    return {iid: (aid, status) for iid, (_rank, aid, status) in best.items()}


def score_initiatives(
    *, bank_id: int | None, initiative_ids: list[int], rubric_version_id: int | None = None, job_id=None
) -> ChunkOutcome:
    """Score the given initiatives (of one bank, when ``bank_id`` is given) and store new Scores."""
    outcome = ChunkOutcome()
    qs = Initiative.objects.filter(id__in=initiative_ids)
    if bank_id is not None:
        qs = qs.filter(bank_id=bank_id)
    rows = list(
        qs.values_list(
            "id",
            "pillar_id",
            "personal_data_categories",
            "lawful_basis",
            "security_assessment_done",
            "cross_border_transfer",
            "transfer_mechanism",
        )
    )
    found = {r[0] for r in rows}
    for missing in set(initiative_ids) - found:
        outcome.failed += 1
        outcome.errors[missing] = "initiative not found in this bank"

    if rubric_version_id is not None:
        version = RubricVersion.objects.select_related("rubric").get(pk=rubric_version_id)
        bundles = {version.rubric.pillar_id: version_bundle(version)}
    else:
        by_pillar = published_version_ids_by_pillar()
        bundles = {
            pillar: _locked_bundle(vid)
            for pillar, vid in by_pillar.items()
            if any(r[1] == pillar for r in rows)
        }

    facts: list[InitiativeFacts] = []
    initiative_version: dict[int, int] = {}
    for iid, pillar, cats, basis, assessed, cross, mechanism in rows:
        bundle = bundles.get(pillar)
        if bundle is None:
            outcome.failed += 1
            outcome.errors[iid] = f"no published rubric version for pillar {pillar}"
            continue
        initiative_version[iid] = bundle.version_id
        facts.append(InitiativeFacts(iid, cats or [], basis, assessed, cross, mechanism))
    if not facts:
        return outcome

    chosen = _pick_assessments(initiative_version)
    ratings: dict[int, dict[str, tuple]] = {}
    for aid, key, value, rationale in Rating.objects.filter(
        assessment_id__in=[aid for aid, _s in chosen.values()]
    ).values_list("assessment_id", "criterion__key", "value", "rationale"):
        ratings.setdefault(aid, {})[key] = (value, rationale)

    needed_sources = {name for b in bundles.values() for name in b.computed.values()}
    computed = {name: SOURCES[name](facts) for name in sorted(needed_sources)}

    pending: list[Score] = []
    by_pillar_bundle = {b.version_id: b for b in bundles.values()}
    for fact in facts:
        bundle = by_pillar_bundle[initiative_version[fact.id]]
        assessment = chosen.get(fact.id)
        given = ratings.get(assessment[0], {}) if assessment else {}
        inputs: dict[str, engine.RatingInput] = {}
        for spec in bundle.specs:
            if spec.key in bundle.computed:
                result = computed[bundle.computed[spec.key]][fact.id]
                inputs[spec.key] = result.as_rating(spec.key)
            elif spec.key in given:
                value, rationale = given[spec.key]
                inputs[spec.key] = engine.RatingInput(
                    spec.key, None if value is None else float(value), rationale
                )
        try:
            result = bundle.compiled.score(
                {k: r.value for k, r in inputs.items() if r.value is not None}, inputs
            )
            digest = engine.inputs_hash(
                bundle.specs,
                inputs,
                bundle.method,
                extra=f"version={bundle.version_id};assessment={assessment[0] if assessment else ''}",
            )
        except ValueError as exc:
            outcome.failed += 1
            outcome.errors[fact.id] = str(exc)
            continue
        payload = result.to_dict()
        pending.append(
            Score(
                initiative_id=fact.id,
                rubric_version_id=bundle.version_id,
                assessment_id=assessment[0] if assessment else None,
                total=result.total,
                tier=result.tier,
                gate_passed=result.gate_passed,
                failed_gates=payload["failed_gates"],
                confidence=result.confidence,
                provisional=result.provisional,
                breakdown={
                    "rows": payload["breakdown"],
                    "assessment_status": assessment[1] if assessment else None,
                    "engine_version": payload["engine_version"],
                },
                inputs_hash=digest,
                job_id=job_id,
            )
        )
    _store(pending, outcome)
    return outcome


def _store(pending: list[Score], outcome: ChunkOutcome) -> None:
    if not pending:
        return
    now = timezone.now()
    for score in pending:
        score.computed_at = now
    with transaction.atomic():
        before = Score.objects.filter(
            initiative_id__in=[s.initiative_id for s in pending],
            inputs_hash__in=[s.inputs_hash for s in pending],
        ).count()
        Score.objects.bulk_create(pending, ignore_conflicts=True, batch_size=1000)
        stored = {
            (iid, vid, digest): (sid, computed_at)
            for sid, iid, vid, digest, computed_at in Score.objects.filter(
                initiative_id__in=[s.initiative_id for s in pending],
                inputs_hash__in=[s.inputs_hash for s in pending],
            ).values_list("id", "initiative_id", "rubric_version_id", "inputs_hash", "computed_at")
        }
        outcome.created += len(stored) - before
        current = []
        for s in pending:
            sid, computed_at = stored[(s.initiative_id, s.rubric_version_id, s.inputs_hash)]
            outcome.score_ids.append(sid)
            current.append(
                CurrentScore(
                    initiative_id=s.initiative_id,
                    score_id=sid,
                    rubric_version_id=s.rubric_version_id,
                    total=s.total,
                    tier=s.tier,
                    gate_passed=s.gate_passed,
                    provisional=s.provisional,
                    confidence=s.confidence,
                    computed_at=computed_at,
                )
            )
        CurrentScore.objects.bulk_create(
            current,
            update_conflicts=True,
            unique_fields=["initiative"],
            update_fields=[
                "score",
                "rubric_version",
                "total",
                "tier",
                "gate_passed",
                "provisional",
                "confidence",
                "computed_at",
            ],
            batch_size=1000,
        )
        outcome.scored += len(pending)
