"""Scoring a chunk of initiatives: bulk reads, the pure engine, bulk writes — fixed queries per chunk.

``score_initiatives`` is the one place where stored data becomes engine input and engine output becomes
Score rows. It is idempotent: a Score is unique per (initiative, rubric version, inputs hash), so running it
again on unchanged inputs writes no second Score.
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connection, transaction
from django.db.models import FloatField, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone

from partnerships.choices import SEVERE
from partnerships.models import Initiative, MonitoringEvent, PartnershipContract
from partnerships.services.limits import joint_lending_breaches

from .. import engine
from ..caps import CAPS, JOINT_LENDING_BLOCKING, JOINT_LENDING_CRITERION, joint_lending_reason
from ..choices import AssessmentStatus, CriterionSource, VersionStatus
from ..lifecycle import (
    EXIT_CRITERION,
    MAX_LEVEL,
    TIER_CAP,
    capped_tier,
    exit_readiness_cap,
    reassessment_events,
)
from ..models import Assessment, Criterion, CurrentScore, Rating, Rubric, RubricVersion, Score
from ..sources import PARTNER_SOURCES, SOURCES, InitiativeFacts, links_and_figures
from .lifecycle import CONTRACT_FIELDS, exit_readiness_caps, tier_caps

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
    rated_keys: tuple[str, ...]
    names: dict[str, tuple[str, str]]  # criterion key -> (Chinese, English) name
    criterion_ids: dict[int, str]  # criterion id -> key
    capped: dict[str, str] = field(default_factory=dict)  # rated criterion key -> cap name (scoring.caps)


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
        rated_keys=tuple(c.key for c in criteria if c.source != CriterionSource.COMPUTED),
        names={c.key: (c.name_zh_hans, c.name_en) for c in criteria},
        criterion_ids={c.pk: c.key for c in criteria},
        capped={c.key: c.capped_by for c in criteria if c.capped_by},
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


def published_versions_expression() -> RawSQL | None:
    """PostgreSQL: ``published_version_ids_by_pillar``'s pairs as JSON text (``published_versions_from``), an
    uncorrelated subquery to fold into another read (evaluated once for it); None elsewhere (read it apart).

    The same rows in the same order (RubricVersion's: rubric code, then number descending), so the dict built
    from them keeps the same pair when a pillar had two."""
    if connection.vendor != "postgresql":
        return None
    qn = connection.ops.quote_name
    return RawSQL(
        "(SELECT json_agg(json_build_array(r.pillar_id, v.id) ORDER BY r.code, v.number DESC)::text "
        f"FROM {qn(RubricVersion._meta.db_table)} v JOIN {qn(Rubric._meta.db_table)} r ON r.id = v.rubric_id "
        "WHERE r.is_default AND v.status = %s)",
        [VersionStatus.PUBLISHED],
        output_field=TextField(),
    )


def published_versions_from(text: str | None) -> dict[str, int]:
    """The dict ``published_version_ids_by_pillar`` returns, from ``published_versions_expression``'s value."""
    return {pillar: vid for pillar, vid in json.loads(text)} if text else {}


# What score_initiatives reads of each initiative, in this order (``initiative_rows`` too).
INITIATIVE_COLUMNS = (
    "id",
    "pillar_id",
    "personal_data_categories",
    "lawful_basis",
    "security_assessment_done",
    "cross_border_transfer",
    "transfer_mechanism",
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
        initiative_id__any_of=list(initiative_version), rubric_version_id__in=set(initiative_version.values())
    ).values_list("id", "initiative_id", "rubric_version_id", "status", "updated_at")
    best: dict[int, tuple] = {}
    for aid, iid, vid, status, updated in rows:
        if initiative_version.get(iid) != vid:
            continue
        rank = (status == AssessmentStatus.APPROVED, updated, aid)
        if iid not in best or rank > best[iid][0]:
            best[iid] = (rank, aid, status)
    return {iid: (aid, status) for iid, (_rank, aid, status) in best.items()}


_CHOSEN_RATINGS = """
WITH wanted (initiative_id, rubric_version_id) AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[])),
chosen AS (
    SELECT DISTINCT ON (a.initiative_id) a.initiative_id, a.id, a.status
    FROM scoring_assessment a
    JOIN wanted w ON w.initiative_id = a.initiative_id AND w.rubric_version_id = a.rubric_version_id
    WHERE a.initiative_id = ANY(%s)  -- why: the index on initiative_id, not a scan of every assessment a chunk
    ORDER BY a.initiative_id, a.status = %s DESC, a.updated_at DESC, a.id DESC
)
SELECT c.initiative_id, c.id, c.status, r.criterion_id, r.value::float8, r.rationale
FROM chosen c LEFT JOIN scoring_rating r ON r.assessment_id = c.id
"""


def _assessments_and_ratings(
    initiative_version: dict[int, int], keys_by_id: dict[int, str]
) -> tuple[dict[int, tuple[int, str]], dict[int, dict[str, tuple]]]:
    """The assessment each initiative is scored on (``_pick_assessments``) and its ratings by criterion key
    (``_rating_rows``): ``({initiative: (assessment, status)}, {assessment: {key: (value, rationale)}})``.

    On PostgreSQL one statement: the pick is ``DISTINCT ON`` in the order ``_pick_assessments`` ranks by
    (approved first, then the latest update, then the highest id), its ratings joined — one round trip a chunk
    less, and no timestamps to parse in Python."""
    chosen: dict[int, tuple[int, str]] = {}
    ratings: dict[int, dict[str, tuple]] = {}
    if connection.vendor != "postgresql":
        chosen = _pick_assessments(initiative_version)
        for aid, cid, value, rationale in _rating_rows([aid for aid, _s in chosen.values()]):
            key = keys_by_id.get(cid)
            if key is not None:
                ratings.setdefault(aid, {})[key] = (value, rationale)
        return chosen, ratings
    ids = list(initiative_version)
    with connection.cursor() as cursor:
        cursor.execute(
            _CHOSEN_RATINGS,
            [ids, list(initiative_version.values()), ids, AssessmentStatus.APPROVED],
        )
        rows = cursor.fetchall()
    for iid, aid, status, cid, value, rationale in rows:
        chosen[iid] = (aid, status)
        key = keys_by_id.get(cid)
        if key is not None:
            ratings.setdefault(aid, {})[key] = (value, rationale)
    return chosen, ratings


def _rating_rows(assessment_ids: list[int]):
    """(assessment id, criterion id, value as float, rationale) of the assessments' ratings.

    On PostgreSQL a plain cursor: the ORM's per-value converters cost about a tenth of a chunk's time here
    (13–30 ratings an initiative); the values are cast to float by the database either way."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT assessment_id, criterion_id, value::float8, rationale FROM scoring_rating "
                "WHERE assessment_id = ANY(%s)",
                [assessment_ids],
            )
            return cursor.fetchall()
    return (
        Rating.objects.filter(assessment_id__in=assessment_ids)
        .annotate(v=Cast("value", FloatField()))
        .values_list("assessment_id", "criterion_id", "v", "rationale")
    )


def score_initiatives(
    *,
    bank_id: int | None,
    initiative_ids: list[int],
    rubric_version_id: int | None = None,
    job_id=None,
    as_of: datetime.date | None = None,
    initiative_rows: list[tuple] | None = None,
    rubric_version: RubricVersion | None = None,
    published_versions: dict[str, int] | None = None,
    kpis_read: dict[int, list[tuple]] | None = None,
    bank_limits_read: dict[int, dict] | None = None,
) -> ChunkOutcome:
    """Score the given initiatives (of one bank, when ``bank_id`` is given) and store new Scores.

    ``as_of`` is the scoring date version 2's sources judge on (today when not given; a job passes the day it was
    requested); those sources store it in their data, so it is part of each Score's inputs (scoring.sources).

    ``initiative_rows``: the initiatives' ``INITIATIVE_COLUMNS``, when the caller has read them already in this
    transaction with the same scope (``id`` among ``initiative_ids``, of ``bank_id``) — the one-chunk job reads
    them with its scope (scoring.services.jobs.score_job_run_single), one statement less. Otherwise read here.
    So are ``rubric_version`` (the version of ``rubric_version_id``, its rubric read along) and
    ``published_versions`` (``published_version_ids_by_pillar()``, used when no version is given), when the caller
    read them in this transaction (the job's locked read). So are ``kpis_read`` (the initiatives' KPIs on ``as_of``,
    ``scoring.sources.kpis_from_json``: the one-chunk job reads them with its scope) and ``bank_limits_read`` (the
    bank's row the limits read, ``partnerships.services.limits.limit_utilisation``'s ``banks_read``, on ``as_of``).
    """
    outcome = ChunkOutcome()
    as_of = as_of or timezone.localdate()
    if initiative_rows is not None:
        rows = list(initiative_rows)
    else:
        qs = Initiative.objects.filter(id__any_of=initiative_ids)  # scoring.lookups
        if bank_id is not None:
            qs = qs.for_bank(bank_id)
        rows = list(qs.values_list(*INITIATIVE_COLUMNS))
    found = {r[0] for r in rows}
    for missing in set(initiative_ids) - found:
        outcome.failed += 1
        outcome.errors[missing] = "initiative not found in this bank"

    if rubric_version_id is not None:
        version = (
            rubric_version
            if rubric_version is not None and rubric_version.pk == rubric_version_id
            else RubricVersion.objects.select_related("rubric").get(pk=rubric_version_id)
        )
        bundles = {version.rubric.pillar_id: version_bundle(version)}
    else:
        # (A subquery in the read above was tried: one statement less, but 500 sub-plans cost ~6 ms a chunk.)
        by_pillar = (
            published_versions if published_versions is not None else published_version_ids_by_pillar()
        )
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
        facts.append(InitiativeFacts(iid, cats or [], basis, assessed, cross, mechanism, as_of))
    if not facts:
        return outcome

    # Criterion ids map to keys in Python (no join), and values arrive as floats (no Decimal per row).
    keys_by_id = {cid: key for b in bundles.values() for cid, key in b.criterion_ids.items()}
    chosen, ratings = _assessments_and_ratings(initiative_version, keys_by_id)

    needed_sources = {name for b in bundles.values() for name in b.computed.values()}
    # The initiatives' partners (and their figures) are read once for the chunk: for the partner sources (both
    # versions' when a chunk has both) and for the joint-lending limits below.
    partners_read = links_and_figures([f.id for f in facts]) if needed_sources & PARTNER_SOURCES else None
    source_reads = {name: {"links_and_figures_read": partners_read} for name in PARTNER_SOURCES}
    if kpis_read is not None:
        source_reads["kpi_attainment"] = {"kpis_read": kpis_read}
        source_reads["kpi_attainment_v2"] = {"kpis_read": kpis_read, "kpis_read_as_of": as_of}
    computed = {name: SOURCES[name](facts, **source_reads.get(name, {})) for name in sorted(needed_sources)}
    needed_caps = {name for b in bundles.values() for name in b.capped.values()}
    ids = [f.id for f in facts]
    # Joint-lending limits cap compliance readiness under every rubric version (a legal limit does not depend on
    # the rubric): read once for the chunk, passed to the caps that read them too.
    joint_lending = (
        joint_lending_breaches(
            ids,
            as_of=as_of,
            banks_read=bank_limits_read,
            links=None
            if partners_read is None
            else [(link[0], link[5], link[1]) for link in partners_read[0]],
        )
        if any(JOINT_LENDING_CRITERION in b.names for b in bundles.values())
        else {}
    )
    caps = {name: CAPS[name](ids, as_of=as_of, joint_lending=joint_lending) for name in sorted(needed_caps)}
    # The lifecycle caps (scoring.lifecycle), under every rubric version: the contract register caps exit
    # readiness, a severe monitoring event not yet re-assessed caps the tier.
    exit_caps, tiers_capped = lifecycle_caps(
        ids, as_of=as_of, exit_readiness=any(EXIT_CRITERION in b.names for b in bundles.values())
    )

    pending: list[tuple] = []
    by_version = {b.version_id: b for b in bundles.values()}
    for fact in facts:
        bundle = by_version[initiative_version[fact.id]]
        assessment = chosen.get(fact.id)
        given = ratings.get(assessment[0], {}) if assessment else {}
        notes: dict[str, engine.RatingInput] = {}
        values: dict[str, float] = {}
        for key in bundle.rated_keys:
            entry = given.get(key)
            if entry is not None:
                value = entry[0]
                notes[key] = engine.RatingInput(key, value, entry[1])
                if value is not None:
                    values[key] = value
        for key, name in bundle.capped.items():
            apply_cap(notes, values, key, *caps[name].get(fact.id, (0, [])))
        if JOINT_LENDING_CRITERION in bundle.names:
            apply_joint_lending(notes, values, JOINT_LENDING_CRITERION, joint_lending.get(fact.id, ()))
        if EXIT_CRITERION in bundle.names and EXIT_CRITERION not in bundle.computed:
            apply_exit_readiness(notes, values, EXIT_CRITERION, *exit_caps.get(fact.id, (MAX_LEVEL, [])))
        for key, source in bundle.computed.items():
            result = computed[source][fact.id]
            notes[key] = engine.RatingInput(key, result.value, result.rationale, result.data)
            if result.value is not None:
                values[key] = result.value
        try:
            total, tier, gate_passed, confidence = bundle.compiled.score_total(values)
            canonical = bundle.compiled.canonical_inputs(notes)
        except ValueError as exc:
            outcome.failed += 1
            outcome.errors[fact.id] = str(exc)
            continue
        extra = f"version={bundle.version_id};assessment={assessment[0] if assessment else ''}"
        tier_cap = tier_cap_json = ""
        if fact.id in tiers_capped:
            # Part of the inputs (and hash) only when it applies: an initiative without a severe event keeps the
            # very score it had.
            cap, reasons = tiers_capped[fact.id]
            capped = capped_tier(tier, cap)
            tier_cap_json = json.dumps(
                {"cap": cap, "tier": tier, "capped": capped, "reasons": reasons},
                ensure_ascii=False,
                sort_keys=True,
                separators=(",", ":"),
            )
            tier = capped
            extra += f";tier_cap={tier_cap_json}"
            tier_cap = f',"tier_cap":{tier_cap_json}'
        # A row in _SCORE_COLUMNS order (computed_at is set when stored): no model instance per initiative.
        pending.append(
            (
                fact.id,
                bundle.version_id,
                assessment[0] if assessment else None,
                total,
                tier,
                gate_passed,
                [] if gate_passed else bundle.compiled.failed_gates(values, _missing(notes)),
                confidence,
                confidence < bundle.compiled.confidence_threshold,
                # The inputs, not the rows: the breakdown is rebuilt from them by the pure engine on read
                # (selectors.score_breakdown) — same inputs, same rows, bit for bit — at a tenth of the cost.
                f'{{"format":2,"engine_version":"{engine.ENGINE_VERSION}",'
                f'"assessment_status":{json.dumps(assessment[1] if assessment else None)},'
                f'"inputs":{canonical}{tier_cap}}}',
                bundle.compiled.hash_canonical(canonical, extra),
                None,
                job_id,
            )
        )
    _store(pending, outcome)
    return outcome


_LIFECYCLE = """
SELECT i.id, c.initiative_id IS NOT NULL, {contract},
       e.id, e.initiative_id, e.kind, e.severity, e.occurred_on, e.status, e.created_at,
       CASE WHEN e.id IS NOT NULL THEN (
           SELECT max(a.approved_at) FROM {assessment} a
           WHERE a.initiative_id = i.id AND a.status = %s AND a.approved_at IS NOT NULL
       ) END
FROM unnest(%s::bigint[]) AS i (id)
LEFT JOIN {contracts} c ON c.initiative_id = i.id
LEFT JOIN {events} e ON e.initiative_id = i.id AND e.severity = ANY(%s)
"""
_EVENT_KEYS = ("id", "initiative_id", "kind", "severity", "occurred_on", "status", "created_at")


def lifecycle_caps(
    initiative_ids: list[int], *, as_of: datetime.date, exit_readiness: bool = True
) -> tuple[dict[int, tuple[int, list]], dict[int, tuple[str, list[dict]]]]:
    """``(exit_readiness_caps(…), tier_caps(…))`` of the initiatives (scoring.services.lifecycle); the exit caps
    ``{}`` unless ``exit_readiness``.

    On PostgreSQL one statement instead of two (three when a severe event exists): a row per initiative and
    severe event, its contract register entry (one per initiative) joined, and — only on a row with an event —
    the initiative's last approval, the three reads the loaders make (the same rows, unscoped by bank as theirs
    are: the ids are the chunk's), then the same pure maths (scoring.lifecycle)."""
    if connection.vendor != "postgresql":
        exit_caps = exit_readiness_caps(initiative_ids, as_of=as_of) if exit_readiness else {}
        return exit_caps, tier_caps(initiative_ids)
    ids = list(dict.fromkeys(int(i) for i in initiative_ids))
    if not ids:
        return {}, {}
    qn = connection.ops.quote_name
    contract_columns = [PartnershipContract._meta.get_field(f).column for f in CONTRACT_FIELDS]
    sql = _LIFECYCLE.format(
        contract=", ".join(f"c.{qn(c)}" for c in contract_columns),
        assessment=qn(Assessment._meta.db_table),
        contracts=qn(PartnershipContract._meta.db_table),
        events=qn(MonitoringEvent._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [AssessmentStatus.APPROVED, ids, sorted(SEVERE)])
        rows = cursor.fetchall()
    n = len(CONTRACT_FIELDS)
    contracts: dict[int, dict] = {}
    events: dict[int, list[dict]] = {}
    approved: dict[int, datetime.datetime | None] = {}
    for row in rows:
        iid, has_contract = row[0], row[1]
        if has_contract:
            contracts[iid] = dict(zip(CONTRACT_FIELDS, row[2 : 2 + n], strict=True))
        event = row[2 + n : 2 + n + len(_EVENT_KEYS)]
        if event[0] is not None:
            events.setdefault(iid, []).append(dict(zip(_EVENT_KEYS, event, strict=True)))
            approved[iid] = row[-1]
    exit_caps = {i: exit_readiness_cap(contracts.get(i), as_of=as_of) for i in ids} if exit_readiness else {}
    tiers: dict[int, tuple[str, list[dict]]] = {}
    for iid, found in events.items():
        reasons = reassessment_events(found, last_approved_at=approved[iid])
        if reasons:
            tiers[iid] = (TIER_CAP, reasons)
    return exit_caps, tiers


def apply_cap(
    notes: dict[str, engine.RatingInput], values: dict[str, float], key: str, cap: int, reasons: list[dict]
) -> None:
    """A rated criterion capped by facts (rubric version 2, ``Criterion.capped_by``): a rating above the cap
    counts as the cap. The cap and its reasons go into the rating's data (so into the score's inputs and its
    breakdown), with the rater's own rating under ``rated`` when the cap lowered it. An unrated criterion stays
    unrated."""
    note = notes.get(key)
    if note is None:
        return
    data = {"cap": cap, "cap_reasons": reasons}
    value = note.value
    if value is not None and value > cap:
        data["rated"] = value
        value = float(cap)
        values[key] = value
    notes[key] = engine.RatingInput(key, value, note.rationale, data)


def apply_joint_lending(
    notes: dict[str, engine.RatingInput], values: dict[str, float], key: str, rows
) -> None:
    """Joint-lending limits on a criterion (``compliance_readiness``), under every rubric version.

    ``rows`` are the initiative's ``joint_lending_breaches``. A breached or unknown limit caps the rating at 0 —
    ``cap`` 0 and the limit among ``cap_reasons`` in the rating's data (added to a version 2 cap's reasons, listed
    once), the rater's own rating under ``rated`` — and is recorded even when the criterion is unrated (the gate
    fails either way, and the score names the limit). A limit approaching its threshold caps nothing: it is listed
    under ``joint_lending_warnings``. No rows, no change: an initiative no limit concerns keeps the very inputs it
    had before limits existed (so its version 1 score and inputs hash stay as they were).
    """
    rows = list(rows)
    if not rows:
        return
    blocking = [r for r in rows if r.get("status") in JOINT_LENDING_BLOCKING]
    warnings = [dict(r) for r in rows if r.get("status") not in JOINT_LENDING_BLOCKING]
    note = notes.get(key)
    value = note.value if note is not None else None
    data = dict(note.data) if note is not None and note.data else {}
    if blocking:
        reasons = list(data.get("cap_reasons") or [])
        for row in blocking:
            reason = joint_lending_reason(row)
            if reason not in reasons:
                reasons.append(reason)
        data["cap"] = 0
        data["cap_reasons"] = reasons
        if value is not None and value > 0:
            data.setdefault("rated", value)
            value = 0.0
            values[key] = value
    if warnings:
        data["joint_lending_warnings"] = warnings
    notes[key] = engine.RatingInput(key, value, note.rationale if note is not None else "", data)


def apply_exit_readiness(
    notes: dict[str, engine.RatingInput], values: dict[str, float], key: str, cap: int, reasons: list[dict]
) -> None:
    """The contract register on exit readiness, under every rubric version (``scoring.lifecycle``).

    A cap below 4 goes into the rating's data (``cap``, ``cap_reasons``; the rater's own rating under ``rated``
    when it was higher) and is recorded even when the criterion is unrated, so the breakdown names what is
    missing. A cap of 4 (a complete register) changes nothing: the very inputs the initiative had before."""
    if cap >= MAX_LEVEL:
        return
    note = notes.get(key)
    value = note.value if note is not None else None
    data = dict(note.data) if note is not None and note.data else {}
    data["cap"] = cap
    data["cap_reasons"] = list(reasons)
    if value is not None and value > cap:
        data.setdefault("rated", value)
        value = float(cap)
        values[key] = value
    notes[key] = engine.RatingInput(key, value, note.rationale if note is not None else "", data)


def _missing(notes: dict[str, engine.RatingInput]) -> dict[str, list]:
    """Per criterion, the inputs its computed rating lacked (version 2 formulas name them in ``data``)."""
    return {k: n.data["missing"] for k, n in notes.items() if n.data and n.data.get("missing")}


_SCORE_COLUMNS = (
    "initiative_id",
    "rubric_version_id",
    "assessment_id",
    "total",
    "tier",
    "gate_passed",
    "failed_gates",
    "confidence",
    "provisional",
    "breakdown",
    "inputs_hash",
    "computed_at",
    "job_id",
)
_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS scoring_score_stage (
    initiative_id bigint, rubric_version_id bigint, assessment_id bigint, total numeric(4, 1), tier varchar(1),
    gate_passed boolean, failed_gates jsonb, confidence numeric(4, 3), provisional boolean, breakdown jsonb,
    inputs_hash varchar(64), computed_at timestamptz, job_id uuid
) ON COMMIT DELETE ROWS
"""
_INSERT_SCORES = f"""
INSERT INTO scoring_score ({", ".join(_SCORE_COLUMNS)})
SELECT {", ".join(_SCORE_COLUMNS)} FROM scoring_score_stage
ON CONFLICT (initiative_id, rubric_version_id, inputs_hash) DO NOTHING
"""
# The CurrentScore upsert's conflict clause, shared by the staging-table path and the few-rows path.
_CURRENT_ON_CONFLICT = """ON CONFLICT (initiative_id) DO UPDATE SET
    score_id = EXCLUDED.score_id, rubric_version_id = EXCLUDED.rubric_version_id, total = EXCLUDED.total,
    tier = EXCLUDED.tier, gate_passed = EXCLUDED.gate_passed, provisional = EXCLUDED.provisional,
    confidence = EXCLUDED.confidence, computed_at = EXCLUDED.computed_at
RETURNING score_id
"""
_UPSERT_CURRENT = (
    """
INSERT INTO scoring_currentscore
    (initiative_id, score_id, rubric_version_id, total, tier, gate_passed, provisional, confidence, computed_at)
SELECT st.initiative_id, s.id, st.rubric_version_id, s.total, s.tier, s.gate_passed, s.provisional,
       s.confidence, s.computed_at
FROM scoring_score_stage st
JOIN scoring_score s ON s.initiative_id = st.initiative_id AND s.rubric_version_id = st.rubric_version_id
                    AND s.inputs_hash = st.inputs_hash
"""
    + _CURRENT_ON_CONFLICT
)


_COMPUTED_AT = _SCORE_COLUMNS.index("computed_at")


def _store(pending: list[tuple], outcome: ChunkOutcome) -> None:
    if not pending:
        return
    now = timezone.now()
    rows = [(*row[:_COMPUTED_AT], now, *row[_COMPUTED_AT + 1 :]) for row in pending]
    # why savepoint=False: inside a chunk's transaction (the usual caller) a savepoint costs two statements a
    # chunk and buys nothing — any error here propagates and rolls the whole chunk back; called on its own, this
    # is the transaction.
    with transaction.atomic(savepoint=False):
        if connection.vendor != "postgresql":
            _store_bulk(rows, outcome)
        elif len(rows) <= SMALL_STORE:
            _store_values(rows, outcome)
        else:
            _store_copy(rows, outcome)
        outcome.scored += len(rows)


# Up to this many rows, one INSERT statement (``_STORE_VALUES``) instead of the staging table (six): a one-initiative
# job (an approval, an API request) is the common small case and is counted in queries, not rows. One row only,
# so that every chunk of two or more takes the same statements (the query count does not move with the chunk).
SMALL_STORE = 1

# why the casts: the same text the COPY path sends (numbers as their repr, JSON as text) parsed by the same
# input functions, so a score stored by either path is the same bytes.
_SCORE_VALUE_ROW = (
    "(%s::bigint, %s::bigint, %s::bigint, %s::numeric, %s, %s, %s::jsonb, %s::numeric, %s, %s::jsonb, %s, %s,"
    " %s::uuid)"
)
# The CurrentScore upsert from stored Scores by key: ``_store_values``'s fallback (see there).
_UPSERT_CURRENT_VALUES = (
    """
INSERT INTO scoring_currentscore
    (initiative_id, score_id, rubric_version_id, total, tier, gate_passed, provisional, confidence, computed_at)
SELECT s.initiative_id, s.id, s.rubric_version_id, s.total, s.tier, s.gate_passed, s.provisional,
       s.confidence, s.computed_at
FROM scoring_score s
JOIN (VALUES {values}) AS st (initiative_id, rubric_version_id, inputs_hash)
  ON s.initiative_id = st.initiative_id AND s.rubric_version_id = st.rubric_version_id
 AND s.inputs_hash = st.inputs_hash
"""
    + _CURRENT_ON_CONFLICT
)
# The few-rows store in one statement: the Scores' INSERT … ON CONFLICT DO NOTHING as a data-modifying CTE, the
# CurrentScore upsert from what it returned (the Scores it wrote) and from the Scores stored before (those it did
# not write). Every part of one statement sees the same snapshot, taken before the INSERT: ``earlier`` finds
# exactly the rows that conflicted with a Score already there, never one ``written`` just wrote, so each row
# comes once. Each returned row says whether its Score was written here (``outcome.created``).
_STORE_VALUES = f"""
WITH written AS (
    INSERT INTO scoring_score ({", ".join(_SCORE_COLUMNS)})
    VALUES {{values}}
    ON CONFLICT (initiative_id, rubric_version_id, inputs_hash) DO NOTHING
    RETURNING id, initiative_id, rubric_version_id, total, tier, gate_passed, provisional, confidence, computed_at
), earlier AS (
    SELECT s.id, s.initiative_id, s.rubric_version_id, s.total, s.tier, s.gate_passed, s.provisional,
           s.confidence, s.computed_at
    FROM scoring_score s
    JOIN (VALUES {{keys}}) AS st (initiative_id, rubric_version_id, inputs_hash)
      ON s.initiative_id = st.initiative_id AND s.rubric_version_id = st.rubric_version_id
     AND s.inputs_hash = st.inputs_hash
)
INSERT INTO scoring_currentscore
    (initiative_id, score_id, rubric_version_id, total, tier, gate_passed, provisional, confidence, computed_at)
SELECT initiative_id, id, rubric_version_id, total, tier, gate_passed, provisional, confidence, computed_at
FROM written
UNION ALL
SELECT initiative_id, id, rubric_version_id, total, tier, gate_passed, provisional, confidence, computed_at
FROM earlier
""" + _CURRENT_ON_CONFLICT.replace(
    "RETURNING score_id", "RETURNING score_id, score_id IN (SELECT id FROM written)"
)
_KEY_ROW = "(%s::bigint, %s::bigint, %s)"


def _store_values(rows: list[tuple], outcome: ChunkOutcome) -> None:
    """PostgreSQL, a few rows: the Scores' INSERT … ON CONFLICT DO NOTHING and the CurrentScore upsert from the
    stored Scores (as ``_store_copy`` does from its staging table) in one statement (``_STORE_VALUES``) — the
    same rows, fewer statements.

    why no ``SET LOCAL synchronous_commit TO OFF`` here (``_store_copy`` has it): for a row or two it was a
    statement of its own on every one-initiative job (the common case) to save one small WAL flush at commit
    (measured on the bench server: a one-row commit ~1–2 ms slower durable than asynchronous, in a task body of
    ~20 ms); the one-initiative job is counted in statements (issue 17), and a durable commit is the safer
    default."""
    dumps = json.dumps
    params: list = []
    for row in rows:
        failed = row[6]
        job_id = row[12]
        params.extend(
            (
                row[0],
                row[1],
                row[2],
                repr(float(row[3])),  # the text the COPY path writes for a float
                row[4],
                row[5],
                dumps(failed, ensure_ascii=False) if failed else "[]",
                repr(float(row[7])),
                row[8],
                row[9],
                row[10],
                row[11],
                None if job_id is None else str(job_id),
            )
        )
    keys: list = []
    for row in rows:
        keys.extend((row[0], row[1], row[10]))
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_VALUES.format(
                values=", ".join([_SCORE_VALUE_ROW] * len(rows)), keys=", ".join([_KEY_ROW] * len(rows))
            ),
            params + keys,
        )
        returned = cursor.fetchall()
        outcome.created += sum(1 for _sid, written in returned if written)
        if len(returned) < len(rows):
            # A Score that conflicted with one committed by another transaction after this statement's snapshot
            # (two jobs scoring the same inputs at once) is in neither ``written`` nor ``earlier``: its
            # CurrentScore is upserted as before, by a statement that sees it. Only in that race.
            cursor.execute(_UPSERT_CURRENT_VALUES.format(values=", ".join([_KEY_ROW] * len(rows))), keys)
            returned = [(sid, False) for (sid,) in cursor.fetchall()]
        outcome.score_ids.extend(sid for sid, _written in returned)


def _store_copy(rows: list[tuple], outcome: ChunkOutcome) -> None:
    """PostgreSQL: COPY into a staging table, then one INSERT … ON CONFLICT DO NOTHING for the Scores and one
    upsert of CurrentScore — four statements a chunk, COPY speed (bulk_create of JSON rows was ~20× slower)."""
    dumps = json.dumps
    with connection.cursor() as cursor:
        # This transaction's commit does not wait for the WAL flush (about a tenth of a chunk's time here).
        # A server crash can lose only the last fraction of a second of such commits, each one whole: a chunk's
        # scores and its "succeeded" mark commit together (scoring.services.jobs.score_chunk_run), so a lost
        # chunk is one still to do, which the sweeper re-runs (idempotent). Nothing is ever half-written.
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(_STAGE_DDL)
        # The table lives as long as the connection and is emptied at each commit; rows are left only by an earlier
        # chunk in this same transaction. why DELETE, not TRUNCATE: TRUNCATE gives the table a new file every time
        # (several ms a chunk, measured), a DELETE of an empty table costs nothing.
        cursor.execute("DELETE FROM scoring_score_stage")
        with cursor.copy(f"COPY scoring_score_stage ({', '.join(_SCORE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                failed = row[6]
                job_id = row[12]
                copy.write_row(
                    (
                        *row[:6],
                        dumps(failed, ensure_ascii=False) if failed else "[]",
                        *row[7:12],
                        None if job_id is None else str(job_id),
                    )
                )
        cursor.execute(_INSERT_SCORES)
        outcome.created += cursor.rowcount
        cursor.execute(_UPSERT_CURRENT)
        outcome.score_ids.extend(row[0] for row in cursor.fetchall())


def _store_bulk(rows: list[tuple], outcome: ChunkOutcome) -> None:
    """Other databases (the embedded SQLite default): bulk_create, then read the ids back."""
    pending = []
    for row in rows:
        values = dict(zip(_SCORE_COLUMNS, row, strict=True))
        values["breakdown"] = json.loads(values["breakdown"])
        pending.append(Score(**values))
    keys = {(s.initiative_id, s.rubric_version_id, s.inputs_hash) for s in pending}
    lookup = Score.objects.filter(
        initiative_id__in=[s.initiative_id for s in pending], inputs_hash__in=[s.inputs_hash for s in pending]
    )
    before = sum(
        1 for k in lookup.values_list("initiative_id", "rubric_version_id", "inputs_hash") if k in keys
    )
    Score.objects.bulk_create(pending, ignore_conflicts=True, batch_size=500)
    stored = {
        (iid, vid, digest): (sid, computed_at)
        for sid, iid, vid, digest, computed_at in lookup.values_list(
            "id", "initiative_id", "rubric_version_id", "inputs_hash", "computed_at"
        )
    }
    outcome.created += sum(1 for k in keys if k in stored) - before
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
        batch_size=500,
    )
