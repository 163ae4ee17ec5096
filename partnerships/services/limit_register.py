"""Exposure limits as data: the regulator's limits loaded from versioned files, and a bank's own limits.

**Regulatory limits** (``bank`` empty) live in ``fixtures/limits/*.yaml`` (``kind: limits``, a list of limits, each
with ``key``, integer ``version``, ``kind``, ``threshold_percent``, optional ``warning_percent``, ``products``,
``bank_types``, ``valid_from``, optional ``valid_until`` and bilingual ``name`` and ``source``). ``limits_load``
validates every file first — each problem reported as "file › key vN › field: message", all at once, Chinese
texts checked for full-width punctuation — then writes the new versions in one transaction. A loaded version is
immutable: an unchanged entry is skipped; a changed one is refused naming the file and the field (the change needs
the next version number and its own ``valid_from``, and the version in force on a day is the highest one valid
then — ``partnerships.limit_rules.rules_in_force``).

**A bank's own limits** (``limit_rule_create`` / ``limit_rule_update``): a manager of the bank (or a superuser)
records an internal limit of any kind and value. It adds to the regulatory limits and never replaces them: a
regulatory limit still applies to the bank. Regulatory limits are changed by superusers only (and by new files).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..choices import BankType, LendingProduct, LimitKind
from ..errors import NON_FIELD, FieldErrors, Forbidden, Invalid, NotFound
from ..models import Bank, LimitRule
from ..tenancy import actor_has_bank_role, is_system, require_bank_role

LIMIT_DIR = Path(settings.BASE_DIR) / "fixtures" / "limits"
LANGS = ("zh-hans", "en")
LIMIT_ROLE = "manager"
RULE_FIELDS = (
    "bank",
    "key",
    "version",
    "kind",
    "threshold_percent",
    "warning_percent",
    "products",
    "bank_types",
    "name_zh_hans",
    "name_en",
    "source_zh_hans",
    "source_en",
    "valid_from",
    "valid_until",
)
# What an update may change: a rule keeps its bank, key and version (a new version is a new rule).
UPDATABLE_FIELDS = tuple(f for f in RULE_FIELDS if f not in ("bank", "key", "version"))

# Half-width punctuation touching a Chinese character reads as a typo (tests/test_chinese_text.py checks the same).
_CJK = "\u3400-\u9fff\u3000-\u303f\uff00-\uffef\u2018-\u201d"
HALF_WIDTH = re.compile(rf"(?<=[{_CJK}])[,:;()]|[,;()](?=[{_CJK}])|(?<![\w/]):(?=[{_CJK}])")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NAME_MAX = LimitRule._meta.get_field("name_zh_hans").max_length


# --- values ------------------------------------------------------------------------------------------------------
def _decimal(value, *, digits: int, places: int) -> Decimal | None:
    """A number as a Decimal with at most ``places`` decimals and ``digits`` digits, or None when it is not one."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    if -number.as_tuple().exponent > places:
        return None
    if len(number.quantize(Decimal(1).scaleb(-places)).as_tuple().digits) > digits:
        return None
    return number


# Messages of the value checks: translated for people (admin, API); in English for the file loader, whose problems
# read like the other loaders' ("file › key vN › field: message").
_MESSAGES = {
    "threshold": (
        gettext_noop("Give a percentage from 0 to 100 with at most four decimals."),
        "a percentage from 0 to 100 with at most four decimals",
    ),
    "warning": (
        gettext_noop("Give an early-warning level above 0 and at most 100, with at most two decimals."),
        "an early-warning level above 0 and at most 100, with at most two decimals, or leave it out",
    ),
}


def _message(what: str, english: bool) -> str:
    people, files = _MESSAGES[what]
    return files if english else _(people)


def check_threshold(errors: FieldErrors, name: str, value, *, english: bool = False) -> Decimal | None:
    number = _decimal(value, digits=7, places=4)
    if number is None or not Decimal(0) <= number <= Decimal(100):
        errors.add(name, _message("threshold", english))
        return None
    return number


def check_warning(errors: FieldErrors, name: str, value, *, english: bool = False) -> Decimal | None:
    if value is None or value == "":
        return None
    number = _decimal(value, digits=5, places=2)
    if number is None or not Decimal(0) < number <= Decimal(100):
        errors.add(name, _message("warning", english))
        return None
    return number


def check_choices(errors: FieldErrors, name: str, value, choices, *, english: bool = False) -> list[str]:
    """A list of choice values, each once, in the choices' order (so equal sets compare equal); [] for none."""
    if value is None or value == "":
        return []
    allowed = ", ".join(choices.values)
    if not isinstance(value, list | tuple) or any(not isinstance(v, str) for v in value):
        errors.add(
            name,
            f"a list of: {allowed}" if english else _("Give a list of: %(choices)s.") % {"choices": allowed},
        )
        return []
    unknown = [v for v in dict.fromkeys(value) if v not in choices.values]
    if unknown:
        values = ", ".join(unknown)
        errors.add(
            name,
            f"unknown values: {values}; use any of: {allowed}"
            if english
            else _("Unknown values: %(values)s; use any of: %(choices)s.")
            % {"values": values, "choices": allowed},
        )
    return [v for v in choices.values if v in value]


def _date(value) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return None
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def half_width_problem(text: str) -> bool:
    return bool(HALF_WIDTH.search(text or ""))


# --- files → regulatory limits -----------------------------------------------------------------------------------
class LimitFileError(ValueError):
    """Bad limit files; ``problems`` lists "file › key vN › field: message" lines. Nothing was written."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class LimitLoadReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


_TOP_FIELDS = {"kind", "limits"}
_LIMIT_FIELDS = {
    "key",
    "version",
    "kind",
    "threshold_percent",
    "warning_percent",
    "products",
    "bank_types",
    "valid_from",
    "valid_until",
    "name",
    "source",
}
# The fields a loaded version is compared on, as the model names them.
_COMPARED = (
    "kind",
    "threshold_percent",
    "warning_percent",
    "products",
    "bank_types",
    "valid_from",
    "valid_until",
    "name_zh_hans",
    "name_en",
    "source_zh_hans",
    "source_en",
)
_FILE_FIELD = {  # model field → the field as the file names it
    "name_zh_hans": "name.zh-hans",
    "name_en": "name.en",
    "source_zh_hans": "source.zh-hans",
    "source_en": "source.en",
}


def _where(path: Path, label: str | None, fld: str) -> str:
    return f"{path.name} › {label or '-'} › {fld}"


def _bilingual(raw, path: Path, label: str, fld: str, problems: list[str], *, limit: int | None) -> dict:
    if not isinstance(raw, dict) or any(
        not isinstance(raw.get(lang), str) or not raw[lang].strip() for lang in LANGS
    ):
        problems.append(f"{_where(path, label, fld)}: needs non-empty zh-hans and en texts")
        return {lang: "" for lang in LANGS}
    for extra in sorted(set(raw) - set(LANGS), key=str):
        problems.append(f"{_where(path, label, f'{fld}.{extra}')}: unknown language; use zh-hans and en")
    out = {lang: raw[lang].strip() for lang in LANGS}
    if limit is not None:
        for lang in LANGS:
            if len(out[lang]) > limit:
                problems.append(
                    f"{_where(path, label, f'{fld}.{lang}')}: at most {limit} characters (has {len(out[lang])})"
                )
    if half_width_problem(out["zh-hans"]):
        problems.append(
            f"{_where(path, label, f'{fld}.zh-hans')}: use full-width punctuation (，：；（）) next to Chinese text"
        )
    return out


def _parse_limit(raw, index: int, path: Path, problems: list[str]) -> dict | None:
    if not isinstance(raw, dict):
        problems.append(f"{_where(path, f'limits[{index}]', '-')}: each limit must be a mapping")
        return None
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        problems.append(
            f"{_where(path, f'limits[{index}]', 'key')}: a key of lower-case letters, digits, _ and - "
            "(at most 64 characters) is required"
        )
        return None
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.append(f"{_where(path, key, 'version')}: must be a positive integer (got {version!r})")
        return None
    label = f"{key} v{version}"
    before = len(problems)
    for extra in sorted(set(raw) - _LIMIT_FIELDS, key=str):
        problems.append(
            f"{_where(path, label, str(extra))}: unknown field; expected one of: {', '.join(sorted(_LIMIT_FIELDS))}"
        )
    errors = FieldErrors()
    kind = raw.get("kind")
    if kind not in LimitKind.values:
        errors.add("kind", f"must be one of {', '.join(LimitKind.values)} (got {kind!r})")
    threshold = check_threshold(errors, "threshold_percent", raw.get("threshold_percent"), english=True)
    warning = check_warning(errors, "warning_percent", raw.get("warning_percent"), english=True)
    products = check_choices(errors, "products", raw.get("products"), LendingProduct, english=True)
    bank_types = check_choices(errors, "bank_types", raw.get("bank_types"), BankType, english=True)
    valid_from = _date(raw.get("valid_from"))
    if valid_from is None:
        errors.add("valid_from", "a date (YYYY-MM-DD) is required")
    valid_until = None
    if raw.get("valid_until") is not None:
        valid_until = _date(raw.get("valid_until"))
        if valid_until is None:
            errors.add("valid_until", "a date (YYYY-MM-DD), or leave it out")
        elif valid_from is not None and valid_until < valid_from:
            errors.add("valid_until", "must not be before valid_from")
    for name, messages in errors.items():
        problems.extend(f"{_where(path, label, name)}: {m}" for m in messages)
    name = _bilingual(raw.get("name"), path, label, "name", problems, limit=_NAME_MAX)
    source = _bilingual(raw.get("source"), path, label, "source", problems, limit=None)
    if len(problems) > before:
        return None
    return {
        "file": path.name,
        "label": label,
        "key": key,
        "version": version,
        "kind": kind,
        "threshold_percent": threshold,
        "warning_percent": warning,
        "products": products,
        "bank_types": bank_types,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "name_zh_hans": name["zh-hans"],
        "name_en": name["en"],
        "source_zh_hans": source["zh-hans"],
        "source_en": source["en"],
    }


def parse_limit_files(directory: Path = LIMIT_DIR) -> list[dict]:
    """Read and validate every file of ``directory``; raise LimitFileError listing all problems."""
    directory = Path(directory)
    problems: list[str] = []
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise LimitFileError([f"{directory} › - › files: no limit files found"])
    parsed: list[dict] = []
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(f"{_where(path, None, 'file')}: cannot be read as UTF-8 YAML ({exc})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{_where(path, None, 'file')}: the top level must be a mapping")
            continue
        for extra in sorted(set(data) - _TOP_FIELDS, key=str):
            problems.append(f"{_where(path, None, str(extra))}: unknown field; expected kind and limits")
        if data.get("kind") != "limits":
            problems.append(f"{_where(path, None, 'kind')}: must be limits (got {data.get('kind')!r})")
        raw_limits = data.get("limits")
        if not isinstance(raw_limits, list) or not raw_limits:
            problems.append(f"{_where(path, None, 'limits')}: a list of limits is required")
            continue
        parsed.extend(
            body for i, raw in enumerate(raw_limits) if (body := _parse_limit(raw, i, path, problems))
        )
    seen: dict[tuple[str, int], str] = {}
    for body in parsed:
        natural = (body["key"], body["version"])
        if natural in seen:
            problems.append(f"{body['file']} › {body['label']} › version: also in {seen[natural]}")
        seen.setdefault(natural, body["file"])
    if problems:
        raise LimitFileError(problems)
    return parsed


def _stored_value(rule: LimitRule, name: str):
    return getattr(rule, name)


def limits_load(*, directory: Path = LIMIT_DIR) -> LimitLoadReport:
    """Validate every file, compare it with the loaded versions, then write the new ones in one transaction."""
    parsed = parse_limit_files(directory)
    stored = {
        (r.key, r.version): r
        for r in LimitRule.objects.filter(bank__isnull=True, key__in={b["key"] for b in parsed})
    }
    problems: list[str] = []
    report = LimitLoadReport()
    new: list[dict] = []
    for body in parsed:
        existing = stored.get((body["key"], body["version"]))
        if existing is None:
            new.append(body)
            continue
        changed = [name for name in _COMPARED if _stored_value(existing, name) != body[name]]
        if not changed:
            report.unchanged.append(body["label"])
            continue
        for name in changed:
            problems.append(
                f"{body['file']} › {body['label']} › {_FILE_FIELD.get(name, name)}: {body['label']} is already "
                f"loaded and the file differs (loaded {_stored_value(existing, name)!r}, file {body[name]!r}); a "
                "loaded version never changes: add the change as the next version with its own valid_from"
            )
    if problems:
        raise LimitFileError(problems)
    if not new:
        return report
    with transaction.atomic():
        for body in new:  # one by one, so each version's history starts with its load (a handful of rows)
            LimitRule.objects.create(
                bank=None, **{k: v for k, v in body.items() if k not in ("file", "label")}
            )
    report.created.extend(body["label"] for body in new)
    return report


# --- a bank's own limits -----------------------------------------------------------------------------------------
def _pk(value):
    return getattr(value, "pk", value)


def _require_editor(user, bank_id: int | None) -> None:
    """A regulatory limit (no bank): superusers and the system. A bank's own: its managers."""
    if bank_id is None:
        if not is_system(user) and not (user.is_active and user.is_superuser):
            raise Forbidden(
                _("Only superusers change regulatory limits; they arrive as files (load_limits).")
            )
        return
    require_bank_role(
        user,
        bank_id,
        min_role=LIMIT_ROLE,
        message=_("Only the bank's managers record its own limits."),
    )


def _require_creator(user, bank_id) -> None:
    """Creating names the bank in the data: one the user cannot see is a bad field, not a missing object."""
    if bank_id is not None and (
        not isinstance(bank_id, int)
        or isinstance(bank_id, bool)
        or not actor_has_bank_role(user, bank_id, min_role="viewer")
    ):
        raise Invalid(fields={"bank": [_("Choose one of your banks.")]})
    _require_editor(user, bank_id)


def _plan(rule: LimitRule, data: dict[str, Any], *, user, creating: bool) -> LimitRule:
    errors = FieldErrors()
    allowed = RULE_FIELDS if creating else UPDATABLE_FIELDS
    fixed = sorted(set(data) & (set(RULE_FIELDS) - set(allowed)))
    for name in fixed:
        if getattr(rule, f"{name}_id" if name == "bank" else name) != _pk(data[name]):
            errors.add(name, _("A limit keeps its bank, key and version; record a new version instead."))
    unknown = sorted(set(data) - set(RULE_FIELDS), key=str)
    if unknown:
        errors.add(NON_FIELD, _("Unknown fields: %(names)s.") % {"names": ", ".join(map(str, unknown))})
    if creating and "bank" in data:
        bank_id = _pk(data["bank"])
        if bank_id in (None, ""):
            rule.bank_id = None
        elif (
            isinstance(bank_id, int)
            and not isinstance(bank_id, bool)
            and actor_has_bank_role(user, bank_id, min_role="viewer")
            and Bank.objects.filter(pk=bank_id).exists()
        ):
            rule.bank_id = bank_id
        else:
            errors.add("bank", _("Choose one of your banks."))
    for name in ("key", "kind", "name_zh_hans", "name_en", "source_zh_hans", "source_en"):
        if name in data and name in allowed:
            setattr(rule, name, "" if data[name] is None else str(data[name]).strip())
    if "version" in data and creating:
        version = data["version"]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            errors.add("version", _("Give a positive whole number."))
        else:
            rule.version = version
    if "threshold_percent" in data:
        rule.threshold_percent = check_threshold(errors, "threshold_percent", data["threshold_percent"])
    if "warning_percent" in data:
        rule.warning_percent = check_warning(errors, "warning_percent", data["warning_percent"])
    if "products" in data:
        rule.products = check_choices(errors, "products", data["products"], LendingProduct)
    if "bank_types" in data:
        rule.bank_types = check_choices(errors, "bank_types", data["bank_types"], BankType)
    for name in ("valid_from", "valid_until"):
        if name in data:
            value = data[name]
            parsed = None if value in (None, "") else _date(value)
            if value not in (None, "") and parsed is None:
                errors.add(name, _("Give a date (YYYY-MM-DD)."))
            setattr(rule, name, parsed)
    # What every limit needs, whichever fields were sent.
    if not _KEY.match(rule.key or "") and "key" not in errors:
        errors.add("key", _("Give a key of lower-case letters, digits, _ and - (at most 64 characters)."))
    if rule.kind not in LimitKind.values and "kind" not in errors:
        errors.add("kind", _("Choose one of: %(choices)s.") % {"choices": ", ".join(LimitKind.values)})
    if rule.threshold_percent is None and "threshold_percent" not in errors:
        errors.add("threshold_percent", _message("threshold", False))
    for name in ("name_zh_hans", "name_en", "source_zh_hans", "source_en"):
        if not getattr(rule, name) and name not in errors:
            errors.add(name, _("This field is required."))
    for name in ("name_zh_hans", "name_en"):
        if len(getattr(rule, name) or "") > _NAME_MAX:
            errors.add(name, _("At most %(n)d characters.") % {"n": _NAME_MAX})
    for name in ("name_zh_hans", "source_zh_hans"):
        if half_width_problem(getattr(rule, name)):
            errors.add(name, _("Use full-width punctuation (，：；（）) next to Chinese text."))
    if rule.valid_from is None and "valid_from" not in errors:
        errors.add("valid_from", _("Give a date (YYYY-MM-DD)."))
    if rule.valid_from and rule.valid_until and rule.valid_until < rule.valid_from:
        errors.add("valid_until", _("The end of validity cannot be before its start."))
    if not errors and "bank" not in errors:
        clash = LimitRule.objects.filter(key=rule.key, version=rule.version)
        clash = (
            clash.filter(bank__isnull=True) if rule.bank_id is None else clash.filter(bank_id=rule.bank_id)
        )
        if rule.pk:
            clash = clash.exclude(pk=rule.pk)
        if clash.exists():
            errors.add("version", _("This limit already has this version; give the next version number."))
    errors.raise_if_any()
    return rule


def _locked(rule: LimitRule | int) -> LimitRule:
    found = LimitRule.objects.select_for_update().filter(pk=_pk(rule)).first()
    if found is None:
        raise NotFound(_("Not found."))
    return found


def _save(rule: LimitRule) -> LimitRule:
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:  # a concurrent writer recorded the same version first
        raise Invalid(
            fields={"version": [_("This limit already has this version; give the next version number.")]}
        ) from exc
    return rule


def limit_rule_validate(*, user, data: dict[str, Any], rule: LimitRule | None = None) -> None:
    """Every check of ``limit_rule_create`` / ``limit_rule_update``, writing nothing (the admin's form)."""
    if rule is None or rule.pk is None:
        bank_id = _pk(data.get("bank"))
        _require_creator(user, None if bank_id in ("", None) else bank_id)
        _plan(LimitRule(), dict(data), user=user, creating=True)
    else:
        current = LimitRule.objects.get(pk=rule.pk)
        _require_editor(user, current.bank_id)
        _plan(current, dict(data), user=user, creating=False)


def limit_rule_create(*, user, data: dict[str, Any]) -> LimitRule:
    """Record a limit: a bank's own (its managers) or, with no bank, a regulatory one (superusers).

    Any kind and value are accepted — an internal limit may be looser than the regulator's, which still applies.
    """
    bank_id = _pk(data.get("bank"))
    bank_id = None if bank_id in ("", None) else bank_id
    _require_creator(user, bank_id)
    with transaction.atomic():
        return _save(_plan(LimitRule(), dict(data), user=user, creating=True))


def limit_rule_update(*, user, rule: LimitRule | int, data: dict[str, Any]) -> LimitRule:
    """Change a limit's threshold, warning level, products, bank types, texts or validity (not its bank, key or
    version). A regulatory limit loaded from a file is better changed by a new version in the file."""
    with transaction.atomic():
        current = _locked(rule)
        _require_editor(user, current.bank_id)
        return _save(_plan(current, dict(data), user=user, creating=False))
