"""The regulatory checklist (issue 12): its content as versioned files, each initiative's answers, its level.

**Content.** ``fixtures/checklists/*.yaml``, one file per pillar (``kind: checklist``), each item with its level
(1 basic legality, 2 the pillar's core regulatory requirements, 3 documented controls, 4 tested or audited
controls) and the rule it rests on, in Chinese and English. ``checklists_load`` validates every file first — a
problem is reported as "file › item › field: message", all of them at once — and then writes in one transaction,
keyed by (URN, version) with a checksum of the parsed content: an unchanged file is skipped; a changed file for a
version already loaded is refused (it needs a new version number; answers given to the old items stay theirs).
The highest version of a pillar is its current checklist.

**Answers.** ``checklist_answer_set`` / ``checklist_answers_set`` are the one door: the admin's checklist page and
the API's ``initiatives/{id}/checklist/`` call them. The actor needs the analyst role in the initiative's bank;
the item must belong to the current checklist of the initiative's pillar; ``met`` needs evidence of that
initiative and an expiry date after today; ``na`` (not applicable) needs a note saying why.

**Level.** ``checklist_level`` reads many initiatives in four queries: the highest level L such that every item of
levels 1..L is met (evidence not expired on ``as_of``) or not applicable, and the items that stop it. Unanswered
counts as not met; so do answers to the items of an older version (a new version is answered anew).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from partnerships.choices import PillarKey
from partnerships.errors import Conflict, FieldErrors, Invalid, NotFound
from partnerships.models import Evidence, Initiative, Pillar
from partnerships.models.base import bilingual_name
from partnerships.tenancy import require_bank_role

from ..caps import (
    CHECKLIST_LEVELS,
    REASON_EXPIRED,
    REASON_MISSING,
    REASON_NO_EVIDENCE,
    REASON_NOT_MET,
    ChecklistItemState,
    checklist_item_reason,
    checklist_level_of,
)
from ..choices import ChecklistAnswerValue
from ..models import ChecklistAnswer, ChecklistItem, ChecklistVersion

CHECKLIST_DIR = Path(settings.BASE_DIR) / "fixtures" / "checklists"
LANGS = ("zh-hans", "en")
ANSWER_ROLE = "analyst"
MAX_NOTE = 300
MAX_ANSWERS = 200  # one request never answers more than a checklist has items (the longest has 21)

# What each level means: the same for every pillar (the files' headers say it for their pillar).
LEVEL_LABELS = {
    1: gettext_lazy("Basic legality"),
    2: gettext_lazy("Core regulatory requirements"),
    3: gettext_lazy("Documented controls"),
    4: gettext_lazy("Tested or audited controls"),
}
REASON_LABELS = {
    REASON_MISSING: pgettext_lazy("checklist item", "Not answered"),
    REASON_NOT_MET: pgettext_lazy("checklist item", "Not met"),
    REASON_EXPIRED: pgettext_lazy("checklist item", "Evidence expired"),
    REASON_NO_EVIDENCE: pgettext_lazy("checklist item", "Evidence missing"),
}


# --- Content: files → versions ---------------------------------------------------------------------------
class ChecklistFileError(ValueError):
    """Bad checklist content; ``problems`` lists "file › item › field: message" lines. Nothing was written."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ChecklistLoadReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


_TOP_FIELDS = {"urn", "kind", "pillar", "version", "name", "description", "items"}
_ITEM_FIELDS = {"key", "level", "text", "rule"}
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX = {
    "urn": ChecklistVersion._meta.get_field("urn").max_length,
    "name": ChecklistVersion._meta.get_field("name_zh_hans").max_length,
    "rule": ChecklistItem._meta.get_field("rule_zh_hans").max_length,
}


def _where(path: Path, key: str | None, fld: str) -> str:
    return f"{path.name} › {key or '-'} › {fld}"


def _bilingual(
    value, path: Path, key: str | None, fld: str, problems: list[str], *, limit: int | None = None
):
    if not isinstance(value, dict) or any(
        not isinstance(value.get(lang), str) or not value[lang].strip() for lang in LANGS
    ):
        problems.append(f"{_where(path, key, fld)}: needs non-empty zh-hans and en texts")
        return {lang: "" for lang in LANGS}
    for extra in sorted(set(value) - set(LANGS), key=str):
        problems.append(f"{_where(path, key, f'{fld}.{extra}')}: unknown language; use zh-hans and en")
    out = {lang: value[lang].strip() for lang in LANGS}
    for lang in LANGS:
        if limit is not None and len(out[lang]) > limit:
            problems.append(
                f"{_where(path, key, f'{fld}.{lang}')}: at most {limit} characters (has {len(out[lang])})"
            )
    return out


def _item(raw, index: int, path: Path, problems: list[str]) -> dict | None:
    if not isinstance(raw, dict):
        problems.append(f"{_where(path, f'items[{index}]', '-')}: each item must be a mapping")
        return None
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        problems.append(
            f"{_where(path, f'items[{index}]', 'key')}: a snake_case key of at most 64 characters is required"
        )
        return None
    for extra in sorted(set(raw) - _ITEM_FIELDS, key=str):
        problems.append(
            f"{_where(path, key, str(extra))}: unknown field; expected one of: key, level, rule, text"
        )
    level = raw.get("level")
    if isinstance(level, bool) or not isinstance(level, int) or level not in CHECKLIST_LEVELS:
        problems.append(f"{_where(path, key, 'level')}: must be one of 1, 2, 3, 4 (got {level!r})")
        level = None
    return {
        "key": key,
        "level": level,
        "text": _bilingual(raw.get("text"), path, key, "text", problems),
        "rule": _bilingual(raw.get("rule"), path, key, "rule", problems, limit=_MAX["rule"]),
    }


def _read(path: Path, problems: list[str]) -> dict | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{_where(path, None, 'file')}: cannot be read as UTF-8 YAML ({exc})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{_where(path, None, 'file')}: the top level must be a mapping")
        return None
    return data


def _parse_file(path: Path, problems: list[str]) -> dict | None:
    data = _read(path, problems)
    if data is None:
        return None
    before = len(problems)
    for extra in sorted(set(data) - _TOP_FIELDS, key=str):
        problems.append(
            f"{_where(path, None, str(extra))}: unknown field; expected one of: {', '.join(sorted(_TOP_FIELDS))}"
        )
    if data.get("kind") != "checklist":
        problems.append(f"{_where(path, None, 'kind')}: must be checklist (got {data.get('kind')!r})")
    urn = data.get("urn")
    if not isinstance(urn, str) or not urn.startswith("urn:") or len(urn) > _MAX["urn"]:
        problems.append(
            f"{_where(path, None, 'urn')}: a URN (urn:…) of at most {_MAX['urn']} characters is required"
        )
    pillar = data.get("pillar")
    if pillar not in PillarKey.values:
        problems.append(
            f"{_where(path, None, 'pillar')}: must be one of {', '.join(PillarKey.values)} (got {pillar!r})"
        )
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.append(f"{_where(path, None, 'version')}: must be a positive integer (got {version!r})")
    name = _bilingual(data.get("name"), path, None, "name", problems, limit=_MAX["name"])
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        problems.append(f"{_where(path, None, 'items')}: a checklist needs a list of items")
        raw_items = []
    items = [item for index, raw in enumerate(raw_items) if (item := _item(raw, index, path, problems))]
    seen: set[str] = set()
    for item in items:
        if item["key"] in seen:
            problems.append(f"{_where(path, item['key'], 'key')}: appears twice in the checklist")
        seen.add(item["key"])
    if raw_items:
        present = {item["level"] for item in items}
        for level in CHECKLIST_LEVELS:
            if level not in present:
                problems.append(
                    f"{_where(path, None, 'items')}: level {level} has no items (every level 1–4 needs at least one)"
                )
    if len(problems) > before:
        return None
    body = {"urn": urn, "pillar": pillar, "version": version, "name": name, "items": items}
    body["checksum"] = hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    body["file"] = path.name
    return body


def parse_checklist_files(directory: Path = CHECKLIST_DIR) -> list[dict]:
    """Read and validate every file of ``directory``; raise ChecklistFileError listing all problems."""
    directory = Path(directory)
    problems: list[str] = []
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        raise ChecklistFileError([f"{directory} › - › files: no checklist files found"])
    parsed = [body for path in files if (body := _parse_file(path, problems))]
    by_key: dict[tuple[str, int], str] = {}
    pillar_of: dict[str, tuple[str, str]] = {}
    for body in parsed:
        natural = (body["urn"], body["version"])
        if natural in by_key:
            problems.append(
                f"{body['file']} › - › version: {body['urn']} version {body['version']} is also in {by_key[natural]}"
            )
        by_key[natural] = body["file"]
        first = pillar_of.setdefault(body["urn"], (body["pillar"], body["file"]))
        if first[0] != body["pillar"]:
            problems.append(
                f"{body['file']} › - › pillar: {body['urn']} is for the pillar {first[0]} in {first[1]}"
            )
    if problems:
        raise ChecklistFileError(problems)
    return parsed


def checklists_load(*, directory: Path = CHECKLIST_DIR) -> ChecklistLoadReport:
    """Validate every file, check it against what is loaded, then write the new versions in one transaction."""
    parsed = parse_checklist_files(directory)
    known_pillars = set(Pillar.objects.values_list("key", flat=True))
    problems = [
        f"{body['file']} › - › pillar: pillar {body['pillar']!r} is not in the database; load the taxonomy "
        "first (python manage.py seed_demo --no-demo, or loaddata fixtures/taxonomy.json)"
        for body in parsed
        if body["pillar"] not in known_pillars
    ]
    stored = {
        (v.urn, v.number): v
        for v in ChecklistVersion.objects.filter(urn__in={body["urn"] for body in parsed})
    }
    stored_pillars = {urn: v.pillar_id for (urn, _number), v in stored.items()}
    report = ChecklistLoadReport()
    new: list[dict] = []
    for body in parsed:
        label = f"{body['pillar']} v{body['version']}"
        existing = stored.get((body["urn"], body["version"]))
        if stored_pillars.get(body["urn"], body["pillar"]) != body["pillar"]:
            problems.append(
                f"{body['file']} › - › pillar: {body['urn']} is loaded for the pillar {stored_pillars[body['urn']]}"
            )
        elif existing is None:
            new.append(body)
        elif existing.source_checksum == body["checksum"]:
            report.unchanged.append(label)
        else:
            problems.append(
                f"{body['file']} › - › version: {label} is already loaded and the file differs; give the changed "
                "content a new version number"
            )
    if problems:
        raise ChecklistFileError(problems)
    if not new:
        return report
    with transaction.atomic():
        for body in new:
            version = ChecklistVersion.objects.create(
                urn=body["urn"],
                pillar_id=body["pillar"],
                number=body["version"],
                name_zh_hans=body["name"]["zh-hans"],
                name_en=body["name"]["en"],
                source_checksum=body["checksum"],
            )
            ChecklistItem.objects.bulk_create(
                ChecklistItem(
                    version=version,
                    key=item["key"],
                    level=item["level"],
                    text_zh_hans=item["text"]["zh-hans"],
                    text_en=item["text"]["en"],
                    rule_zh_hans=item["rule"]["zh-hans"],
                    rule_en=item["rule"]["en"],
                    position=position,
                )
                for position, item in enumerate(body["items"])
            )
            report.created.append(f"{body['pillar']} v{body['version']}")
    return report


def current_checklists(pillars: Iterable[str] | None = None) -> dict[str, ChecklistVersion]:
    """{pillar key: its current (highest) checklist version}, in one query."""
    versions = ChecklistVersion.objects.order_by("pillar_id", "-number", "-id")
    if pillars is not None:
        versions = versions.filter(pillar_id__in=set(pillars))
    current: dict[str, ChecklistVersion] = {}
    for version in versions:
        current.setdefault(version.pillar_id, version)
    return current


# --- Answers --------------------------------------------------------------------------------------------------
def _initiative_for_answers(user, initiative) -> Initiative:
    pk = getattr(initiative, "pk", initiative)
    found = (
        Initiative.objects.filter(pk=pk).only("pk", "bank_id", "pillar_id").first()
        if isinstance(pk, int) and not isinstance(pk, bool)
        else None
    )
    if found is None:
        raise NotFound(_("Not found."))
    require_bank_role(
        user,
        found.bank_id,
        min_role=ANSWER_ROLE,
        message=_("You need the analyst role in this bank to answer its checklist."),
    )
    return found


def _as_date(value) -> datetime.date | str | None:
    """A date from a date or an ISO string; "" / None → None; anything else → "bad"."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return "bad"
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            return "bad"
    return "bad"


def _check_rows(
    rows: list[dict], *, items: dict[str, ChecklistItem], evidence_ids: set[int], today, name
) -> list[dict]:
    """Every rule of an answer, for each row; ``name(i, field)`` is the field name a message goes under."""
    errors = FieldErrors()
    by_pk = {item.pk: item for item in items.values()}
    clean: list[dict] = []
    seen: set[int] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            errors.add(name(i, "non_field_errors"), _("Each answer is an object with item and answer."))
            continue
        unknown = sorted(set(row) - {"item", "answer", "evidence", "expires_on", "note"})
        if unknown:
            errors.add(
                name(i, "non_field_errors"), _("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)}
            )
        given = row.get("item")
        if isinstance(given, ChecklistItem):
            item = by_pk.get(given.pk)
        elif isinstance(given, str):
            item = items.get(given)
        elif isinstance(given, int) and not isinstance(given, bool):
            item = by_pk.get(given)
        else:
            item = None
        if item is None:
            errors.add(
                name(i, "item"),
                _("Choose an item of the current checklist of the initiative's pillar (by its key)."),
            )
        elif item.pk in seen:
            errors.add(name(i, "item"), _("Each item is answered once per request."))
        else:
            seen.add(item.pk)
        answer = row.get("answer")
        if answer not in ChecklistAnswerValue.values:
            errors.add(
                name(i, "answer"),
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(ChecklistAnswerValue.values)},
            )
        evidence = row.get("evidence")
        evidence_id = getattr(evidence, "pk", evidence)
        if evidence_id in (None, ""):
            evidence_id = None
        elif (
            isinstance(evidence_id, bool)
            or not isinstance(evidence_id, int)
            or evidence_id not in evidence_ids
        ):
            errors.add(name(i, "evidence"), _("Choose evidence recorded for this initiative."))
            evidence_id = None
        expires_on = _as_date(row.get("expires_on"))
        if expires_on == "bad":
            errors.add(name(i, "expires_on"), _("Give the expiry date as YYYY-MM-DD."))
            expires_on = None
        note = row.get("note")
        if note is None:
            note = ""
        if not isinstance(note, str):
            errors.add(name(i, "note"), _("A note is text."))
            note = ""
        note = note.strip()
        if len(note) > MAX_NOTE:
            errors.add(name(i, "note"), _("A note has at most %(n)d characters.") % {"n": MAX_NOTE})
        if answer == ChecklistAnswerValue.MET:
            if row.get("evidence") in (None, ""):
                errors.add(name(i, "evidence"), _("A met item needs evidence of this initiative."))
            if expires_on is None and row.get("expires_on") in (None, ""):
                errors.add(name(i, "expires_on"), _("A met item needs the date its evidence expires."))
            elif expires_on is not None and expires_on <= today:
                errors.add(
                    name(i, "expires_on"),
                    _("The evidence must still be valid: give an expiry date after today (%(today)s).")
                    % {"today": today.isoformat()},
                )
        if answer == ChecklistAnswerValue.NOT_APPLICABLE and not note:
            errors.add(name(i, "note"), _("Say in the note why the item does not apply."))
        clean.append(
            {
                "item": item,
                "answer": answer,
                "evidence_id": evidence_id,
                "expires_on": expires_on,
                "note": note,
            }
        )
    errors.raise_if_any()
    return clean


def checklist_answers_set(
    *, user, initiative: Initiative | int, answers: list[dict]
) -> list[ChecklistAnswer]:
    """Answer several items of the initiative's current checklist at once: all are written, or none.

    Each row is {item (key, id or ChecklistItem), answer (met / not_met / na), evidence (id or Evidence),
    expires_on (date or YYYY-MM-DD), note}; messages go under ``answers[i].<field>``. Items not listed keep their
    answers. ``user`` None is the system (seeds), which may answer in every bank.
    """
    found = _initiative_for_answers(user, initiative)
    if not isinstance(answers, list | tuple):
        raise Invalid(fields={"answers": [_("Give the answers as a list.")]})
    if len(answers) > MAX_ANSWERS:
        raise Invalid(fields={"answers": [_("At most %(n)d answers at once.") % {"n": MAX_ANSWERS}]})
    return _write(user, found, list(answers), name=lambda i, f: f"answers[{i}].{f}")


def checklist_answer_set(
    *,
    user,
    initiative: Initiative | int,
    item: ChecklistItem | str | int,
    answer: str,
    evidence: Evidence | int | None = None,
    expires_on: datetime.date | str | None = None,
    note: str = "",
) -> ChecklistAnswer:
    """Answer one item of the initiative's current checklist (analyst role in its bank); see the module doc."""
    found = _initiative_for_answers(user, initiative)
    row = {"item": item, "answer": answer, "evidence": evidence, "expires_on": expires_on, "note": note}
    return _write(user, found, [row], name=lambda _i, f: f)[0]


def _write(user, found: Initiative, rows: list[dict], *, name) -> list[ChecklistAnswer]:
    version = current_checklists([found.pillar_id]).get(found.pillar_id)
    if version is None:
        raise Conflict(
            _("No checklist is loaded for the pillar %(pillar)s yet (python manage.py load_checklists).")
            % {"pillar": found.pillar_id}
        )
    items = {item.key: item for item in ChecklistItem.objects.filter(version=version)}
    wanted = {getattr(r.get("evidence"), "pk", r.get("evidence")) for r in rows if isinstance(r, dict)}
    wanted_ids = {e for e in wanted if isinstance(e, int) and not isinstance(e, bool)}
    evidence_ids = (
        set(Evidence.objects.filter(initiative_id=found.pk, pk__in=wanted_ids).values_list("pk", flat=True))
        if wanted_ids
        else set()
    )
    clean = _check_rows(rows, items=items, evidence_ids=evidence_ids, today=timezone.localdate(), name=name)
    answered_by = getattr(user, "pk", None)
    with transaction.atomic():
        # The initiative's row lock orders concurrent answers to the same checklist (no duplicate rows).
        list(Initiative.objects.select_for_update().filter(pk=found.pk).values_list("pk", flat=True))
        existing = {
            a.item_id: a
            for a in ChecklistAnswer.objects.filter(
                initiative_id=found.pk, item_id__in=[c["item"].pk for c in clean]
            )
        }
        out = []
        for c in clean:
            values = {
                "answer": c["answer"],
                "evidence_id": c["evidence_id"],
                "expires_on": c["expires_on"],
                "note": c["note"],
            }
            obj = existing.get(c["item"].pk)
            if obj is None:
                obj = ChecklistAnswer(
                    initiative_id=found.pk, item=c["item"], answered_by_id=answered_by, **values
                )
                obj.save()
            elif any(getattr(obj, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(obj, k, v)
                obj.answered_by_id = answered_by
                obj.save()
            obj.item = c["item"]
            out.append(obj)
    return out


# --- Reading: the level reached, and the checklist as a page shows it ----------------------------------------
def _states(items: list[dict], answers: dict[int, tuple], as_of: datetime.date) -> list[ChecklistItemState]:
    states = []
    for item in items:
        found = answers.get(item["id"])
        answer, evidence_id, expires_on = found if found else (None, None, None)
        reason = checklist_item_reason(
            answer, has_evidence=evidence_id is not None, expires_on=expires_on, as_of=as_of
        )
        states.append(
            ChecklistItemState(
                key=item["key"],
                level=item["level"],
                reason=reason,
                text_zh_hans=item["text_zh_hans"],
                text_en=item["text_en"],
            )
        )
    return states


def checklist_level(initiative_ids: Iterable[int], *, as_of: datetime.date) -> dict[int, dict]:
    """For each initiative: {"level", "checklist", "blocking", "unmet"} on the day ``as_of``, in four queries.

    ``level`` is the highest L such that every item of levels 1..L is met (evidence not expired on ``as_of``) or
    not applicable; ``checklist`` {"urn", "version", "name_zh_hans", "name_en"} of the pillar's current version, or
    None when none is loaded (level 0); ``blocking`` the items of level L + 1 that stop the next level and
    ``unmet`` every item that does not count, each {"key", "level", "reason", "text_zh_hans", "text_en"} with the
    reason "missing", "not met", "expired" or "no evidence" (met, but its evidence was deleted). Ids that are no
    initiative are left out.
    """
    ids = list(dict.fromkeys(int(i) for i in initiative_ids))
    if not ids:
        return {}
    pillars = dict(Initiative.objects.filter(pk__any_of=ids).values_list("pk", "pillar_id"))
    versions = current_checklists(set(pillars.values())) if pillars else {}
    items_by_version: dict[int, list[dict]] = defaultdict(list)
    if versions:
        for item in (
            ChecklistItem.objects.filter(version_id__any_of=[v.pk for v in versions.values()])
            .order_by("level", "position", "key")
            .values("id", "version_id", "key", "level", "text_zh_hans", "text_en")
        ):
            items_by_version[item["version_id"]].append(item)
    item_ids = [item["id"] for items in items_by_version.values() for item in items]
    answers: dict[int, dict[int, tuple]] = defaultdict(dict)
    if item_ids:
        for initiative_id, item_id, answer, evidence_id, expires_on in ChecklistAnswer.objects.filter(
            initiative_id__any_of=list(pillars), item_id__any_of=item_ids
        ).values_list("initiative_id", "item_id", "answer", "evidence_id", "expires_on"):
            answers[initiative_id][item_id] = (answer, evidence_id, expires_on)
    out: dict[int, dict] = {}
    for initiative_id, pillar in pillars.items():
        version = versions.get(pillar)
        if version is None:
            out[initiative_id] = {"level": 0, "checklist": None, "blocking": [], "unmet": []}
            continue
        states = _states(items_by_version[version.pk], answers.get(initiative_id, {}), as_of)
        level, blocking, unmet = checklist_level_of(states)
        out[initiative_id] = {
            "level": level,
            "checklist": {
                "urn": version.urn,
                "version": version.number,
                "name_zh_hans": version.name_zh_hans,
                "name_en": version.name_en,
            },
            "blocking": blocking,
            "unmet": unmet,
        }
    return out


@dataclass
class ChecklistRow:
    """One item of an initiative's current checklist with its answer, as the admin page and the API show it."""

    item: ChecklistItem
    answer: ChecklistAnswer | None
    reason: str | None  # None: the item counts

    @property
    def reason_label(self) -> str:
        return str(REASON_LABELS.get(self.reason, "")) if self.reason else ""

    @property
    def text(self) -> str:
        return bilingual_name(self.item.text_zh_hans, self.item.text_en)

    @property
    def rule(self) -> str:
        return bilingual_name(self.item.rule_zh_hans, self.item.rule_en)


@dataclass
class InitiativeChecklist:
    version: ChecklistVersion | None
    rows: list[ChecklistRow]
    level: int
    blocking: list[dict]
    as_of: datetime.date

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS.get(self.level, "")) if self.level else ""

    @property
    def name(self) -> str:
        return bilingual_name(self.version.name_zh_hans, self.version.name_en) if self.version else ""

    @property
    def blocking_rows(self) -> list[dict]:
        """The items that stop the next level, with their text and reason in the active language."""
        return [
            {
                "key": b["key"],
                "level": b["level"],
                "reason": b["reason"],
                "reason_label": reason_label(b["reason"]),
                "text": bilingual_name(b["text_zh_hans"], b["text_en"]),
            }
            for b in self.blocking
        ]


def initiative_checklist(
    initiative: Initiative, *, as_of: datetime.date | None = None
) -> InitiativeChecklist:
    """The initiative's current checklist with its answers and the level reached (three queries). For pages
    that show one initiative; the caller has already checked that the user may see it."""
    as_of = as_of or timezone.localdate()
    version = current_checklists([initiative.pillar_id]).get(initiative.pillar_id)
    if version is None:
        return InitiativeChecklist(None, [], 0, [], as_of)
    items = list(ChecklistItem.objects.filter(version=version).order_by("level", "position", "key"))
    answers = {
        a.item_id: a
        for a in ChecklistAnswer.objects.filter(
            initiative_id=initiative.pk, item__version=version
        ).select_related("evidence", "answered_by")
    }
    rows = []
    states = []
    for item in items:
        answer = answers.get(item.pk)
        reason = checklist_item_reason(
            answer.answer if answer else None,
            has_evidence=bool(answer and answer.evidence_id),
            expires_on=answer.expires_on if answer else None,
            as_of=as_of,
        )
        rows.append(ChecklistRow(item=item, answer=answer, reason=reason))
        states.append(ChecklistItemState(item.key, item.level, reason, item.text_zh_hans, item.text_en))
    level, blocking, _unmet = checklist_level_of(states)
    return InitiativeChecklist(version, rows, level, blocking, as_of)


def reason_label(reason: str | None) -> str:
    return str(REASON_LABELS.get(reason, "")) if reason else ""


def level_label(level: int) -> str:
    return str(LEVEL_LABELS.get(level, ""))


__all__ = [
    "CHECKLIST_DIR",
    "LEVEL_LABELS",
    "REASON_LABELS",
    "ChecklistFileError",
    "ChecklistLoadReport",
    "ChecklistRow",
    "InitiativeChecklist",
    "checklist_answer_set",
    "checklist_answers_set",
    "checklist_level",
    "checklists_load",
    "current_checklists",
    "initiative_checklist",
    "level_label",
    "parse_checklist_files",
    "reason_label",
]
