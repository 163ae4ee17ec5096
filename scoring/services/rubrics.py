"""Rubric content as versioned data: validate every file first, then load in one transaction; publish; clone.

Files (``fixtures/rubrics/*.yaml``): one ``kind: core`` file with the shared criteria and one ``kind: rubric``
file per pillar that includes it. A file whose content (checksum) is already loaded is skipped; a published
version whose file changed must get a new version number — it is refused, never overwritten. A file that says
``publish: false`` is loaded as a draft (replaced while it stays a draft), to be published deliberately — rubric
version 2 ships that way: publishing it re-scores every initiative under rules whose checklist must be answered
first. One exception to the refusal: a
punctuation correction. When the file and the stored version differ only in the width of ``, : ; ( )`` (and the
spaces beside them) in their texts — everything a score depends on, every word and every number being the same —
the stored texts take the file's punctuation in place, and the load reports the version as ``amended``. That is how
the Chinese texts of version 1 took full-width punctuation without a new version and a re-scoring of every
initiative for a change no score can see.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Container
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerships.choices import PillarKey
from partnerships.errors import FieldErrors, Forbidden, Invalid

from ..choices import CriterionSource, JobKind, VersionStatus
from ..errors import Conflict, ImmutableError
from ..models import Criterion, Rubric, RubricVersion
from ..sources import SOURCES

RUBRIC_DIR = Path(settings.BASE_DIR) / "fixtures" / "rubrics"
LANGS = ("zh-hans", "en")


class RubricFileError(ValueError):
    """Bad rubric content; ``problems`` lists "file › criterion › field: message" lines."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Locked versions whose punctuation was corrected in place.
    amended: list[str] = field(default_factory=list)
    published: list[str] = field(
        default_factory=list
    )  # of ``created``, those published (the rest are drafts)
    jobs: list = field(default_factory=list)


_HALF = str.maketrans({"，": ",", "：": ":", "；": ";", "（": "(", "）": ")"})
_AROUND = re.compile(r"\s*([,:;()])\s*")


def _fold(text: str) -> str:
    """A text with its punctuation's width (and the spaces beside it) folded away: what must match for an
    in-place correction."""
    return _AROUND.sub(r"\1", (text or "").translate(_HALF))


def _texts(name: tuple[str, str], description: tuple[str, str], levels: list) -> list[str]:
    out = [*name, *description]
    for level in levels:
        out += [str(level.get("value")), level.get("zh-hans", ""), level.get("en", "")]
    return out


def _punctuation_only(version: RubricVersion, body: dict) -> bool:
    """True when ``body`` (a parsed file) differs from the stored ``version`` in punctuation width alone."""
    if [version.tier_a, version.tier_b, version.tier_c] != [Decimal(str(body["tiers"][t])) for t in "ABC"]:
        return False
    if version.confidence_threshold != Decimal(str(body["confidence"])):
        return False
    stored = list(version.criteria.order_by("position"))
    if [c.key for c in stored] != [c["key"] for c in body["criteria"]]:
        return False
    for c, f in zip(stored, body["criteria"], strict=True):
        gate = None if f["gate"] is None else Decimal(str(f["gate"]))
        scoring = (c.weight, c.scale_min, c.scale_max, c.gate_threshold if c.is_gate else None, c.source)
        if scoring != (Decimal(str(f["weight"])), *f["scale"], gate, f["source"]) or (
            (c.computed_from, c.capped_by) != (f["computed_from"], f.get("capped_by", ""))
        ):
            return False
        mine = _texts((c.name_zh_hans, c.name_en), (c.description_zh_hans, c.description_en), c.levels)
        theirs = _texts(
            (f["name"]["zh-hans"], f["name"]["en"]),
            (f["description"]["zh-hans"], f["description"]["en"]),
            f["levels"],
        )
        if [_fold(t) for t in mine] != [_fold(t) for t in theirs]:
            return False
    return True


def _amend_punctuation(version: RubricVersion, body: dict) -> None:
    """Write the file's texts over a locked version's (``_punctuation_only`` has held). A queryset update: the
    model refuses any save of a locked version's criteria, and this is the one change allowed past it."""
    for c, f in zip(version.criteria.order_by("position"), body["criteria"], strict=True):
        Criterion.objects.filter(pk=c.pk).update(
            name_zh_hans=f["name"]["zh-hans"],
            name_en=f["name"]["en"],
            description_zh_hans=f["description"]["zh-hans"],
            description_en=f["description"]["en"],
            levels=f["levels"],
        )
    version.source_checksum = body["checksum"]
    version.save(update_fields=["source_checksum"])


def _amend_rubric_texts(rubric: Rubric, body: dict) -> None:
    """The rubric's own name and description take the file's punctuation when nothing else differs."""
    description = body["description"] or {}
    new = {
        "name_zh_hans": body["name"]["zh-hans"],
        "name_en": body["name"]["en"],
        "description_zh_hans": description.get("zh-hans", ""),
        "description_en": description.get("en", ""),
    }
    changed = {
        k: v for k, v in new.items() if getattr(rubric, k) != v and _fold(getattr(rubric, k)) == _fold(v)
    }
    if changed:
        Rubric.objects.filter(pk=rubric.pk).update(**changed)


def _where(path: Path, key: str | None, fld: str) -> str:
    return f"{path.name} › {key or '-'} › {fld}"


def _bilingual(value, path, key, fld, problems) -> dict:
    if not isinstance(value, dict) or any(not str(value.get(lang) or "").strip() for lang in LANGS):
        problems.append(f"{_where(path, key, fld)}: needs non-empty zh-hans and en texts")
        return {lang: "" for lang in LANGS}
    return {lang: str(value[lang]).strip() for lang in LANGS}


def _criterion(raw, path: Path, problems: list[str]) -> dict | None:
    if not isinstance(raw, dict):
        problems.append(f"{_where(path, None, 'criteria')}: each criterion must be a mapping")
        return None
    key = raw.get("key")
    if not isinstance(key, str) or not key.replace("_", "").isalnum():
        problems.append(f"{_where(path, str(key), 'key')}: a snake_case key is required")
        return None
    out: dict = {"key": key}
    out["name"] = _bilingual(raw.get("name"), path, key, "name", problems)
    out["description"] = _bilingual(raw.get("description"), path, key, "description", problems)
    weight = raw.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
        problems.append(f"{_where(path, key, 'weight')}: must be a number > 0 (got {weight!r})")
    out["weight"] = weight
    scale = raw.get("scale") or {}
    lo, hi = scale.get("min"), scale.get("max")
    if not isinstance(lo, int) or not isinstance(hi, int) or hi <= lo:
        problems.append(f"{_where(path, key, 'scale')}: needs integer min < max (got {scale!r})")
        lo, hi = 0, 4
    out["scale"] = (lo, hi)
    levels = raw.get("levels")
    values = (
        [lvl.get("value") for lvl in levels]
        if isinstance(levels, list) and all(isinstance(x, dict) for x in levels)
        else None
    )
    if values is None or sorted(values) != list(range(lo, hi + 1)):
        problems.append(f"{_where(path, key, 'levels')}: one entry per level {lo}..{hi} is required")
    else:
        for lvl in levels:
            if any(not str(lvl.get(lang) or "").strip() for lang in LANGS):
                problems.append(
                    f"{_where(path, key, 'levels')}: level {lvl['value']} needs zh-hans and en texts"
                )
    out["levels"] = [
        {"value": lvl.get("value"), **{lang: lvl.get(lang, "") for lang in LANGS}}
        for lvl in levels or []
        if isinstance(lvl, dict)
    ]
    gate = raw.get("gate")
    threshold = None
    if gate is not None:
        threshold = gate.get("threshold") if isinstance(gate, dict) else None
        if not isinstance(threshold, int | float) or not lo <= threshold <= hi:
            problems.append(f"{_where(path, key, 'gate.threshold')}: must be within the scale {lo}..{hi}")
    out["gate"] = threshold
    source = raw.get("source")
    if source not in CriterionSource.values:
        problems.append(f"{_where(path, key, 'source')}: must be rated or computed (got {source!r})")
    computed_from = raw.get("computed_from") or ""
    if source == CriterionSource.COMPUTED and computed_from not in SOURCES:
        problems.append(
            f"{_where(path, key, 'computed_from')}: must be one of {', '.join(SOURCES)} (got {computed_from!r})"
        )
    if source == CriterionSource.RATED and computed_from:
        problems.append(f"{_where(path, key, 'computed_from')}: only computed criteria name a source")
    out["source"], out["computed_from"] = source, computed_from
    capped_by = raw.get("capped_by") or ""
    if capped_by:
        # Only present in the parsed body when set, so the checksums of files without it do not change.
        from ..caps import CAPS

        if capped_by not in CAPS:
            problems.append(
                f"{_where(path, key, 'capped_by')}: must be one of {', '.join(CAPS)} (got {capped_by!r})"
            )
        if source != CriterionSource.RATED:
            problems.append(f"{_where(path, key, 'capped_by')}: only a rated criterion is capped by facts")
        out["capped_by"] = capped_by
    return out


def _read(path: Path, problems: list[str]) -> dict | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{path.name} › - › file: cannot be read as UTF-8 YAML ({exc})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path.name} › - › file: the top level must be a mapping")
        return None
    return data


def parse_rubric_files(directory: Path = RUBRIC_DIR) -> list[dict]:
    """Read and validate every file; raise RubricFileError listing all problems, or return the rubrics."""
    problems: list[str] = []
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        raise RubricFileError([f"{directory} › - › files: no rubric files found"])
    cores: dict[str, list[dict]] = {}
    rubrics: list[tuple[Path, dict]] = []
    for path in files:
        data = _read(path, problems)
        if data is None:
            continue
        kind = data.get("kind")
        if kind not in ("core", "rubric"):
            problems.append(f"{_where(path, None, 'kind')}: must be core or rubric (got {kind!r})")
            continue
        if kind == "core":
            crits = [c for c in (_criterion(r, path, problems) for r in data.get("criteria") or []) if c]
            cores[path.stem] = crits
        else:
            rubrics.append((path, data))
    parsed: list[dict] = []
    for path, data in rubrics:
        for fld in ("urn", "code", "pillar", "version", "name"):
            if not data.get(fld):
                problems.append(f"{_where(path, None, fld)}: required")
        if data.get("pillar") not in PillarKey.values:
            problems.append(f"{_where(path, None, 'pillar')}: must be one of {', '.join(PillarKey.values)}")
        if not isinstance(data.get("version"), int) or data.get("version", 0) < 1:
            problems.append(f"{_where(path, None, 'version')}: must be a positive integer")
        criteria: list[dict] = []
        for inc in data.get("include") or []:
            if inc not in cores:
                problems.append(f"{_where(path, None, 'include')}: no core file named {inc!r}")
            else:
                criteria.extend(cores[inc])
        criteria.extend(c for c in (_criterion(r, path, problems) for r in data.get("criteria") or []) if c)
        seen: set[str] = set()
        for c in criteria:
            if c["key"] in seen:
                problems.append(f"{_where(path, c['key'], 'key')}: appears twice in the rubric")
            seen.add(c["key"])
        if not criteria:
            problems.append(f"{_where(path, None, 'criteria')}: a rubric needs criteria")
        method = data.get("method") or {}
        tiers = method.get("tier_thresholds") or {"A": 75, "B": 60, "C": 45}
        confidence = method.get("confidence_threshold", 0.7)
        if not all(isinstance(tiers.get(t), int | float) for t in "ABC") or not (
            100 >= tiers["A"] >= tiers["B"] >= tiers["C"] >= 0
        ):
            problems.append(f"{_where(path, None, 'method.tier_thresholds')}: need 100 ≥ A ≥ B ≥ C ≥ 0")
        if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
            problems.append(f"{_where(path, None, 'method.confidence_threshold')}: must be within 0..1")
        body = {
            "urn": data.get("urn"),
            "code": data.get("code"),
            "pillar": data.get("pillar"),
            "version": data.get("version"),
            "name": _bilingual(data.get("name"), path, None, "name", problems),
            "description": data.get("description") or {"zh-hans": "", "en": ""},
            "tiers": tiers,
            "confidence": confidence,
            "criteria": criteria,
        }
        if (
            "publish" in data
        ):  # only when the file says so: the checksums of files without it stay as they were
            if not isinstance(data["publish"], bool):
                problems.append(f"{_where(path, None, 'publish')}: must be true or false")
            body["publish"] = data["publish"] is not False
        body["checksum"] = hashlib.sha256(
            json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()
        ).hexdigest()
        body["file"] = path.name
        parsed.append(body)
    if problems:
        raise RubricFileError(problems)
    return parsed


def rubrics_load(
    *, directory: Path = RUBRIC_DIR, user=None, publish: bool = True, versions: Container[int] | None = None
) -> LoadReport:
    """Validate all files, then load them in one transaction; new versions are published (and re-scored).

    ``versions`` loads only those version numbers (every file is still validated): tests of the scoring machinery
    that were written against version 1's content pin it with ``versions={1}``.
    """
    parsed = parse_rubric_files(directory)
    if versions is not None:
        parsed = [body for body in parsed if body["version"] in versions]
    from partnerships.models import Pillar

    # The pillars come from the taxonomy (seed_demo / loaddata fixtures/taxonomy.json); without them every
    # rubric row would fail its foreign key at commit — say so, naming the files, before writing anything.
    known = set(Pillar.objects.values_list("key", flat=True))
    missing = [body for body in parsed if body["pillar"] not in known]
    if missing:
        raise RubricFileError(
            [
                f"{body['file']} › - › pillar: pillar {body['pillar']!r} is not in the database; load the "
                "taxonomy first (python manage.py seed_demo --no-demo, or loaddata fixtures/taxonomy.json)"
                for body in missing
            ]
        )
    report = LoadReport()
    # Versions in order; of the new versions of one rubric published in this load, only the last re-scores (the
    # earlier ones are published and retired at once: their scores would be replaced straight away).
    parsed.sort(key=lambda b: (b["urn"], b["version"]))
    last = {b["urn"]: b["version"] for b in parsed if b.get("publish", True)}
    with transaction.atomic():
        for body in parsed:
            rubric, _created = Rubric.objects.get_or_create(
                urn=body["urn"],
                defaults={
                    "code": body["code"],
                    "pillar_id": body["pillar"],
                    "name_zh_hans": body["name"]["zh-hans"],
                    "name_en": body["name"]["en"],
                    "description_zh_hans": (body["description"] or {}).get("zh-hans", ""),
                    "description_en": (body["description"] or {}).get("en", ""),
                    "is_default": not Rubric.objects.filter(
                        pillar_id=body["pillar"], is_default=True
                    ).exists(),
                },
            )
            label = f"{body['code']} v{body['version']}"
            if not _created:
                _amend_rubric_texts(rubric, body)
            existing = RubricVersion.objects.filter(rubric=rubric, number=body["version"]).first()
            if existing is not None:
                if existing.source_checksum == body["checksum"]:
                    report.unchanged.append(label)
                    continue
                if existing.is_locked and _punctuation_only(existing, body):
                    _amend_punctuation(existing, body)
                    report.amended.append(label)
                    continue
                if existing.is_locked:
                    raise RubricFileError(
                        [
                            f"{body['file']} › - › version: {label} is {existing.status} and the file differs; "
                            "give the changed content a new version number"
                        ]
                    )
                existing.criteria.all().delete()
                version = existing
            else:
                version = RubricVersion(rubric=rubric, number=body["version"])
            version.tier_a, version.tier_b, version.tier_c = (Decimal(str(body["tiers"][t])) for t in "ABC")
            version.confidence_threshold = Decimal(str(body["confidence"]))
            version.source_checksum = body["checksum"]
            version.save()
            Criterion.objects.bulk_create(
                [
                    Criterion(
                        version=version,
                        key=c["key"],
                        name_zh_hans=c["name"]["zh-hans"],
                        name_en=c["name"]["en"],
                        description_zh_hans=c["description"]["zh-hans"],
                        description_en=c["description"]["en"],
                        weight=Decimal(str(c["weight"])),
                        scale_min=c["scale"][0],
                        scale_max=c["scale"][1],
                        levels=c["levels"],
                        is_gate=c["gate"] is not None,
                        gate_threshold=None if c["gate"] is None else Decimal(str(c["gate"])),
                        source=c["source"],
                        computed_from=c["computed_from"],
                        capped_by=c.get("capped_by", ""),
                        position=i,
                    )
                    for i, c in enumerate(body["criteria"])
                ]
            )
            report.created.append(label)
            if publish and body.get("publish", True):
                job = rubric_version_publish(
                    version, user=user, rescore=body["version"] == last.get(body["urn"])
                )
                report.published.append(label)
                if job is not None:
                    report.jobs.append(job)
    return report


def rubric_version_problems(version: RubricVersion) -> list[str]:
    """What stops a draft from being published, in words an author can act on."""
    problems = []
    if version.status != VersionStatus.DRAFT:
        problems.append(
            _("Only a draft can be published; this version is %(status)s.")
            % {"status": version.get_status_display()}
        )
    criteria = list(version.criteria.all())
    if not criteria:
        problems.append(_("The version has no criteria."))
    for c in criteria:
        levels = sorted(lvl.get("value") for lvl in c.levels or [] if isinstance(lvl, dict))
        if levels != list(range(c.scale_min, c.scale_max + 1)):
            problems.append(
                _("Criterion %(key)s needs a description for every level %(lo)s–%(hi)s.")
                % {"key": c.key, "lo": c.scale_min, "hi": c.scale_max}
            )
        if c.source == CriterionSource.COMPUTED and c.computed_from not in SOURCES:
            problems.append(
                _("Criterion %(key)s is computed but names no known data source.") % {"key": c.key}
            )
        if c.is_gate and c.gate_threshold is None:
            problems.append(_("Criterion %(key)s is a gate without a threshold.") % {"key": c.key})
    return problems


def require_rubric_author(user) -> None:
    """Rubrics are reference content shared by every bank: superusers (or the system) author them."""
    if user is not None and not (user.is_active and user.is_superuser):
        raise Forbidden(_("Only superusers change rubrics."))


def _locked_version(version) -> RubricVersion:
    pk = getattr(version, "pk", version)
    return RubricVersion.objects.select_for_update(of=("self",)).select_related("rubric").get(pk=pk)


def _refuse_locked(version: RubricVersion) -> None:
    if version.is_locked:
        raise ImmutableError(
            _("Version %(number)s of %(rubric)s is %(status)s and cannot change; clone it to a new draft.")
            % {"number": version.number, "rubric": version.rubric, "status": version.get_status_display()}
        )


def _clean(errors: FieldErrors, obj, *, exclude: list[str]) -> None:
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.merge(Invalid.from_validation_error(exc))


RUBRIC_FIELDS = ("name_zh_hans", "name_en", "description_zh_hans", "description_en", "is_default")
VERSION_FIELDS = ("tier_a", "tier_b", "tier_c", "confidence_threshold", "notes")
CRITERION_FIELDS = (
    "key",
    "name_zh_hans",
    "name_en",
    "description_zh_hans",
    "description_en",
    "weight",
    "scale_min",
    "scale_max",
    "levels",
    "is_gate",
    "gate_threshold",
    "source",
    "computed_from",
    "capped_by",
    "position",
)


def _apply(obj, data: dict, allowed: tuple[str, ...], errors: FieldErrors) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        errors.add(
            "non_field_errors",
            _("These fields cannot be changed here: %(names)s.") % {"names": ", ".join(unknown)},
        )
    for name in allowed:
        if name in data:
            setattr(obj, name, data[name])


def rubric_update(*, user, rubric: Rubric | int, data: dict) -> Rubric:
    """Names, descriptions and which rubric is its pillar's default (superusers)."""
    require_rubric_author(user)
    with transaction.atomic():
        current = Rubric.objects.select_for_update().get(pk=getattr(rubric, "pk", rubric))
        errors = FieldErrors()
        _apply(current, data, RUBRIC_FIELDS, errors)
        _clean(errors, current, exclude=["pillar"])
        errors.raise_if_any()
        if current.is_default:  # one default rubric a pillar
            Rubric.objects.filter(pillar_id=current.pillar_id, is_default=True).exclude(pk=current.pk).update(
                is_default=False
            )
        current.save()
        return current


def rubric_version_validate(*, user, version: RubricVersion, data: dict) -> None:
    require_rubric_author(user)
    current = RubricVersion.objects.select_related("rubric").get(pk=version.pk)
    _refuse_locked(current)
    _version_plan(current, data)


def _version_plan(version: RubricVersion, data: dict) -> RubricVersion:
    errors = FieldErrors()
    _apply(version, data, VERSION_FIELDS, errors)
    _clean(errors, version, exclude=["rubric", "published_by"])
    if not errors and not (100 >= version.tier_a >= version.tier_b >= version.tier_c >= 0):
        errors.add("tier_a", _("The tier thresholds need 100 ≥ A ≥ B ≥ C ≥ 0."))
    if not errors and not 0 <= version.confidence_threshold <= 1:
        errors.add("confidence_threshold", _("The confidence threshold is between 0 and 1."))
    errors.raise_if_any()
    return version


def rubric_version_update(*, user, version: RubricVersion | int, data: dict) -> RubricVersion:
    """A draft's method parameters and notes (superusers); a published or retired version never changes."""
    require_rubric_author(user)
    with transaction.atomic():
        current = _locked_version(version)
        _refuse_locked(current)
        current = _version_plan(current, data)
        current.save()
        return current


def _criterion_plan(criterion: Criterion, data: dict) -> Criterion:
    errors = FieldErrors()
    _apply(criterion, data, CRITERION_FIELDS, errors)
    if criterion.computed_from is None:
        criterion.computed_from = ""
    _clean(errors, criterion, exclude=["version"])
    if "weight" not in errors and criterion.weight is not None and criterion.weight <= 0:
        errors.add("weight", _("A weight is greater than 0."))
    if "scale_max" not in errors and criterion.scale_max is not None and criterion.scale_min is not None:
        if criterion.scale_max <= criterion.scale_min:
            errors.add("scale_max", _("The scale's maximum is above its minimum."))
        elif (
            criterion.is_gate
            and criterion.gate_threshold is not None
            and not (criterion.scale_min <= criterion.gate_threshold <= criterion.scale_max)
        ):
            errors.add("gate_threshold", _("A gate's threshold lies within the scale."))
    clash = Criterion.objects.filter(version_id=criterion.version_id, key=criterion.key).exclude(
        pk=criterion.pk
    )
    if criterion.key and clash.exists():
        errors.add("key", _("This version already has a criterion with this key."))
    errors.raise_if_any()
    return criterion


def criterion_validate(
    *, user, version: RubricVersion, data: dict, criterion: Criterion | None = None
) -> None:
    require_rubric_author(user)
    current_version = RubricVersion.objects.select_related("rubric").get(pk=version.pk)
    _refuse_locked(current_version)
    target = Criterion.objects.get(pk=criterion.pk) if criterion is not None and criterion.pk else Criterion()
    target.version = current_version
    _criterion_plan(target, data)


def criterion_create(*, user, version: RubricVersion | int, data: dict) -> Criterion:
    require_rubric_author(user)
    with transaction.atomic():
        current_version = _locked_version(version)
        _refuse_locked(current_version)
        criterion = _criterion_plan(Criterion(version=current_version), data)
        criterion.save()
        return criterion


def criterion_update(*, user, criterion: Criterion | int, data: dict) -> Criterion:
    """A criterion of a draft (superusers); the key stays."""
    require_rubric_author(user)
    with transaction.atomic():
        current = Criterion.objects.select_for_update().get(pk=getattr(criterion, "pk", criterion))
        current_version = _locked_version(current.version_id)
        _refuse_locked(current_version)
        if "key" in data and data["key"] != current.key:
            raise Invalid(
                fields={"key": [_("A criterion's key does not change; add a new criterion instead.")]}
            )
        current = _criterion_plan(current, data)
        current.save()
        return current


def criterion_delete(*, user, criterion: Criterion | int) -> None:
    require_rubric_author(user)
    with transaction.atomic():
        current = Criterion.objects.select_for_update().get(pk=getattr(criterion, "pk", criterion))
        _refuse_locked(_locked_version(current.version_id))
        current.delete()


def rubric_version_delete(*, user, version: RubricVersion | int) -> None:
    require_rubric_author(user)
    with transaction.atomic():
        current = _locked_version(version)
        _refuse_locked(current)
        if current.assessments.exists() or current.scores.exists():
            raise Conflict(_("Assessments or scores use this version, so it cannot be deleted."))
        current.delete()


def rubric_version_publish(version: RubricVersion, *, user=None, rescore: bool = True):
    """Publish a draft (retiring the version it replaces) and re-score the initiatives it covers (superusers);
    ``rescore=False`` publishes without asking for scores (a version superseded within the same load)."""
    from .jobs import score_job_create

    require_rubric_author(user)
    with transaction.atomic():
        version = _locked_version(version)
        problems = rubric_version_problems(version)
        if problems:
            raise Conflict(" ".join(str(p) for p in problems), extra={"problems": [str(p) for p in problems]})
        now = timezone.now()
        for previous in RubricVersion.objects.select_for_update().filter(
            rubric=version.rubric, status=VersionStatus.PUBLISHED
        ):
            previous.status = VersionStatus.RETIRED
            previous.save()
        version.status = VersionStatus.PUBLISHED
        version.published_at = now
        version.published_by = user
        version.save()
        if not version.rubric.is_default or not rescore:
            return None
        return score_job_create(
            requested_by=user,
            bank_id=None,
            rubric_version=version,
            pillar=version.rubric.pillar_id,
            kind=JobKind.PUBLISH,
        )


def rubric_version_clone(version: RubricVersion, *, user=None) -> RubricVersion:
    """Copy a version and its criteria into the next draft number, for editing (superusers)."""
    require_rubric_author(user)
    with transaction.atomic():
        Rubric.objects.select_for_update().get(pk=version.rubric_id)  # one clone at a time takes a number
        number = (
            RubricVersion.objects.filter(rubric=version.rubric)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
            or 0
        ) + 1
        draft = RubricVersion.objects.create(
            rubric=version.rubric,
            number=number,
            tier_a=version.tier_a,
            tier_b=version.tier_b,
            tier_c=version.tier_c,
            confidence_threshold=version.confidence_threshold,
            notes=_("Cloned from version %(number)s.") % {"number": version.number},
        )
        Criterion.objects.bulk_create(
            [
                Criterion(
                    version=draft,
                    **{
                        f.name: getattr(c, f.name)
                        for f in Criterion._meta.concrete_fields
                        if f.name not in ("id", "version")
                    },
                )
                for c in version.criteria.all()
            ]
        )
    return draft
