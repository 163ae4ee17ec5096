"""What-if scoring: the engine's result for given ratings, computed at once and stored nowhere.

The rubric version is the one given, or the published default of a pillar (given, or the initiative's). Computed
criteria take their value from the initiative's data when an initiative is given — through the same named
sources as stored scores — unless the caller rates them explicitly to try another value. The answer also says,
criterion by criterion, what single change would move the tier (``services.sensitivity``).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from partnerships.models import Initiative
from partnerships.services.limits import joint_lending_breaches
from partnerships.tenancy import user_has_bank_role

from .. import engine
from ..caps import CAPS, JOINT_LENDING_CRITERION
from ..errors import Conflict, Invalid
from ..lifecycle import EXIT_CRITERION, capped_tier
from ..models import RubricVersion
from ..sources import PARTNER_SOURCES, SOURCES, InitiativeFacts, links_and_figures
from .compute import (
    apply_cap,
    apply_exit_readiness,
    apply_joint_lending,
    published_version_ids_by_pillar,
    version_bundle,
)
from .lifecycle import exit_readiness_caps, tier_caps
from .sensitivity import tier_changes


def _resolve_version(*, rubric_version, pillar, initiative) -> RubricVersion:
    if rubric_version is not None:
        return rubric_version
    pillar = pillar or (initiative.pillar_id if initiative is not None else None)
    if not pillar:
        raise Invalid(
            fields={
                "rubric_version": [_("Give a rubric_version, a pillar or an initiative to score against.")]
            }
        )
    version_id = published_version_ids_by_pillar().get(pillar)
    if version_id is None:
        raise Conflict(_("No rubric is published for the pillar %(pillar)s yet.") % {"pillar": pillar})
    return RubricVersion.objects.select_related("rubric").get(pk=version_id)


def _clean_ratings(
    ratings: list[dict], specs: dict[str, engine.CriterionSpec]
) -> dict[str, engine.RatingInput]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, engine.RatingInput] = {}
    for i, item in enumerate(ratings):
        where = f"ratings[{i}]"
        key = item.get("criterion")
        spec = specs.get(key)
        if spec is None:
            errors.setdefault(where, []).append(
                _("Unknown criterion “%(key)s” for this rubric version.") % {"key": key}
            )
            continue
        if key in cleaned:
            errors.setdefault(where, []).append(_("“%(key)s” is rated more than once.") % {"key": key})
            continue
        raw = item.get("value")
        value = None
        if raw is not None:
            if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
                errors.setdefault(where, []).append(_("The rating must be a number."))
                continue
            value = float(raw)
            if not math.isfinite(value) or not spec.scale_min <= value <= spec.scale_max:
                errors.setdefault(where, []).append(
                    _("“%(key)s” is rated from %(lo)s to %(hi)s.")
                    % {"key": key, "lo": spec.scale_min, "hi": spec.scale_max}
                )
                continue
        cleaned[key] = engine.RatingInput(key, value, str(item.get("rationale") or "")[:5000])
    if errors:
        raise Invalid(fields=errors)
    return cleaned


def _computed_inputs(
    bundle, initiative: Initiative, skip: set[str], partners_read=None
) -> dict[str, engine.RatingInput]:
    facts = [
        InitiativeFacts(
            initiative.pk,
            initiative.personal_data_categories or [],
            initiative.lawful_basis,
            initiative.security_assessment_done,
            initiative.cross_border_transfer,
            initiative.transfer_mechanism,
        )
    ]
    inputs: dict[str, engine.RatingInput] = {}
    results: dict[str, dict] = {}
    for key, source in bundle.computed.items():
        if key in skip:
            continue
        if source not in results:
            reads = {"links_and_figures_read": partners_read} if source in PARTNER_SOURCES else {}
            results[source] = SOURCES[source](facts, **reads)
        inputs[key] = results[source][initiative.pk].as_rating(key)
    return inputs


def score_preview(
    *,
    user,
    ratings: list[dict[str, Any]],
    rubric_version: RubricVersion | None = None,
    pillar: str | None = None,
    initiative: Initiative | None = None,
) -> dict[str, Any]:
    """Score ``ratings`` ([{criterion: key, value, rationale}]) against a rubric version; nothing is written.

    Raises Invalid naming the field for an unknown criterion, a rating off its scale, an initiative the user
    cannot see or of another pillar; Conflict (409) when the pillar has no published rubric.
    """
    if initiative is not None and not user_has_bank_role(user, initiative.bank_id, min_role="viewer"):
        raise Invalid(fields={"initiative": [_("Choose an initiative of one of your banks.")]})
    version = _resolve_version(rubric_version=rubric_version, pillar=pillar, initiative=initiative)
    if initiative is not None and version.rubric.pillar_id != initiative.pillar_id:
        raise Invalid(
            fields={"initiative": [_("The initiative's pillar is not the pillar of this rubric version.")]}
        )
    try:
        bundle = version_bundle(version)
    except ValueError as exc:  # a draft that is not complete yet (no criteria, a gate without threshold, …)
        raise Conflict(_("This rubric version cannot score yet: %(reason)s") % {"reason": exc}) from exc
    specs = {spec.key: spec for spec in bundle.specs}
    inputs = _clean_ratings(ratings, specs)
    values = {k: r.value for k, r in inputs.items() if r.value is not None}
    if initiative is not None:
        # As when it is scored: ratings capped by the initiative's facts, then the computed criteria.
        today = timezone.localdate()
        # The initiative's partners and their figures read once, for the partner sources and the joint-lending
        # limits, as a chunk reads them (scoring.services.compute).
        partners_read = (
            links_and_figures([initiative.pk])
            if PARTNER_SOURCES & {s for k, s in bundle.computed.items() if k not in inputs}
            else None
        )
        joint_lending = (
            joint_lending_breaches(
                [initiative.pk],
                as_of=today,
                links=None
                if partners_read is None
                else [(link[0], link[5], link[1]) for link in partners_read[0]],
            )
            if JOINT_LENDING_CRITERION in bundle.names
            else {}
        )
        for key, name in bundle.capped.items():
            caps = CAPS[name]([initiative.pk], as_of=today, joint_lending=joint_lending)
            apply_cap(inputs, values, key, *caps.get(initiative.pk, (0, [])))
        if JOINT_LENDING_CRITERION in bundle.names:  # under every rubric version, as stored scores are
            apply_joint_lending(inputs, values, JOINT_LENDING_CRITERION, joint_lending.get(initiative.pk, ()))
        if EXIT_CRITERION in bundle.names and EXIT_CRITERION not in bundle.computed:  # the contract register
            exit_cap = exit_readiness_caps([initiative.pk], as_of=today)[initiative.pk]
            apply_exit_readiness(inputs, values, EXIT_CRITERION, *exit_cap)
        inputs.update(_computed_inputs(bundle, initiative, skip=set(inputs), partners_read=partners_read))
        values = {k: r.value for k, r in inputs.items() if r.value is not None}
    result = bundle.compiled.score(values, inputs)
    body = result.to_dict()
    tier_cap = None
    if initiative is not None:  # a severe monitoring event not yet re-assessed caps the tier, as when scored
        capped = tier_caps([initiative.pk]).get(initiative.pk)
        if capped is not None:
            cap, reasons = capped
            tier_cap = {
                "cap": cap,
                "tier": body["tier"],
                "capped": capped_tier(body["tier"], cap),
                "reasons": reasons,
            }
            body["tier"] = tier_cap["capped"]
    english = (get_language() or "").startswith("en")
    for row in body["breakdown"]:  # names in both languages, as stored scores show them (scoring.selectors)
        zh, en = bundle.names.get(row["key"], (row["name"], row["name"]))
        row.update(name=en if english else zh, name_zh_hans=zh, name_en=en)
    return {
        "rubric_version": {
            "id": version.pk,
            "rubric": version.rubric.code,
            "number": version.number,
            "status": version.status,
            "pillar": version.rubric.pillar_id,
        },
        "initiative": initiative.pk if initiative is not None else None,
        "stored": False,
        **body,
        "tier_changes": tier_changes(bundle, values),
        "tier_cap": tier_cap,
    }
