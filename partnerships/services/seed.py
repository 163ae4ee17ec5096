"""Load the seed's reference data (taxonomy, tech partners and their figures) and the illustrative demo data.

Files are read and validated in full before anything is written; a bad file raises ``SeedDataError`` naming
the file, the entry and the field of every problem. Then one transaction upserts by natural keys —
Pillar.key, ScenarioType.key, TechPartner.key, PartnerLicence (partner, type, number), PartnerMetric (partner,
metric, segment, period), Bank.code,
username, Initiative (bank, code), InitiativePartner (initiative, partner), KPI (initiative, name),
KPIObservation (kpi, observed_on), link Evidence (initiative, url), Membership (user, bank) — and saves a row
only when one of its values differs. Partners, their licences and figures (``partner_*``, ``licence_*``,
``metric_*``), initiatives (with their owner, scenario types and partners), KPIs, observations and evidence are
written through their services (``initiative_create`` / ``_update``, ``kpi_*``, ``observation_*``,
``evidence_*``) as the system, so every rule they hold applies to the demo too;
a refusal is reported like a file error, naming the entry and the field, and the transaction writes nothing. Loading unchanged files again therefore changes nothing: no new rows, no
new history records, no new ``updated_at``. Existing rows are read in bulk, one query per model.

Nothing is ever deleted: a row that a newer file no longer lists stays as it is.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils.translation import gettext as _
from simple_history.utils import update_change_reason

from ..choices import EvidenceKind, Role, ScenarioStatus
from ..errors import FieldErrors, ServiceError
from ..models import (
    KPI,
    Bank,
    Evidence,
    Initiative,
    InitiativePartner,
    KPIObservation,
    Membership,
    PartnerLicence,
    PartnerMetric,
    Pillar,
    ScenarioType,
    TechPartner,
)
from .evidence import evidence_create, evidence_update
from .initiatives import initiative_create, initiative_update
from .kpis import kpi_create, kpi_update, observation_create, observation_update
from .partners import (
    ILLUSTRATIVE_PREFIX,
    check_link_services,
    licence_create,
    licence_update,
    metric_create,
    metric_update,
    partner_create,
    partner_update,
)
from .seed_exposure import parse_bank_profile, parse_register, write_bank_profile, write_register

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"
TAXONOMY_FILE = FIXTURES_DIR / "taxonomy.json"
PARTNERS_FILE = FIXTURES_DIR / "partners.yaml"
DEMO_FILE = FIXTURES_DIR / "demo.yaml"
DEMO_ADMIN_USERNAME = "demo_admin"
CHANGE_REASON = "seed_demo"

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


# --- Errors and results ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeedIssue:
    """One problem in a seed file: where it is (file, entry, field) and what is wrong."""

    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.field}: {self.message}"


class SeedDataError(Exception):
    """A seed file is unreadable or invalid; ``issues`` lists every problem found. Nothing was written."""

    MAX_SHOWN = 30

    def __init__(self, issues: list[SeedIssue]):
        self.issues = list(issues)
        lines = [str(issue) for issue in self.issues[: self.MAX_SHOWN]]
        if len(self.issues) > self.MAX_SHOWN:
            lines.append(_("… and %(count)d more.") % {"count": len(self.issues) - self.MAX_SHOWN})
        super().__init__("\n".join(lines))


@dataclass
class EntityCount:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class SeedResult:
    """Rows created, updated and left unchanged, per model; the demo usernames and those created this run."""

    counts: dict[type[models.Model], EntityCount] = field(default_factory=dict)
    usernames: list[str] = field(default_factory=list)
    created_usernames: list[str] = field(default_factory=list)

    def record(self, model: type[models.Model], outcome: str) -> None:
        count = self.counts.setdefault(model, EntityCount())
        setattr(count, outcome, getattr(count, outcome) + 1)

    def merge(self, other: SeedResult) -> SeedResult:
        for model, count in other.counts.items():
            mine = self.counts.setdefault(model, EntityCount())
            mine.created += count.created
            mine.updated += count.updated
            mine.unchanged += count.unchanged
        self.usernames.extend(other.usernames)
        self.created_usernames.extend(other.created_usernames)
        return self

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values())


# --- Validated content -------------------------------------------------------------------------------
@dataclass
class ReferenceData:
    """The taxonomy and partner library, validated; values are model attribute names → clean values."""

    pillars: list[dict[str, Any]]
    scenario_types: list[dict[str, Any]]
    # {"key", "file", "entry", "values", "metrics": [{"entry", "natural", "values"}], "licences": [...]}
    partners: list[dict[str, Any]]


@dataclass
class DemoData:
    banks: list[dict[str, Any]]
    users: list[dict[str, Any]]
    initiatives: list[dict[str, Any]]
    file: str = ""  # as shown in messages
    # The exposure register (partnerships.services.seed_exposure): {"figures": [...], "exposures": [...]}
    register: dict[str, list] = field(default_factory=dict)


@dataclass
class _Known:
    """Reference keys a demo file may use: from the reference files being loaded and from the database."""

    pillars: set[str]
    scenario_types: dict[str, str]  # scenario type key → pillar key
    partners: set[str]


# --- Reading and checking ----------------------------------------------------------------------------
def _display_path(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


class _Checker:
    """Collects every problem in one file, so that one run reports them all."""

    def __init__(self, path: Path):
        self.file = _display_path(path)
        self.issues: list[SeedIssue] = []

    def error(self, entry: str, field_name: str, message: Any) -> None:
        self.issues.append(SeedIssue(self.file, entry, field_name, str(message)))

    def model_errors(self, entry: str, exc: ValidationError, names: dict[str, str] | None = None) -> None:
        names = names or {}
        if hasattr(exc, "error_dict"):
            reported = {(issue.entry, issue.field) for issue in self.issues}
            for name, messages in exc.message_dict.items():
                label = "-" if name == NON_FIELD_ERRORS else names.get(name, name)
                if (entry, label) in reported:  # already reported more precisely while reading the file
                    continue
                for message in messages:
                    self.error(entry, label, message)
        else:
            for message in exc.messages:
                self.error(entry, "-", message)

    def check_model(
        self,
        entry: str,
        instance: models.Model,
        *,
        exclude: tuple[str, ...] = (),
        names: dict[str, str] | None = None,
        run_clean: bool = True,
    ) -> None:
        """Field validation of the model itself (max length, choices, digits, URLs), then its clean()."""
        try:
            instance.clean_fields(exclude=list(exclude))
        except ValidationError as exc:
            self.model_errors(entry, exc, names)
        if run_clean:
            try:
                instance.clean()
            except ValidationError as exc:
                self.model_errors(entry, exc, names)

    def mapping(self, entry: str, field_name: str, value: Any) -> dict | None:
        if not isinstance(value, dict):
            self.error(entry, field_name, _("expected a mapping, got %(type)s") % {"type": _type_name(value)})
            return None
        return value

    def items(self, entry: str, field_name: str, value: Any, *, required: bool = False) -> list:
        if value is None and not required:
            return []
        if not isinstance(value, list):
            self.error(entry, field_name, _("expected a list, got %(type)s") % {"type": _type_name(value)})
            return []
        return value

    def unknown_keys(self, entry: str, data: dict, allowed: set[str]) -> None:
        for key in sorted(set(data) - allowed, key=str):
            self.error(
                entry,
                str(key),
                _("unknown field; expected one of: %(fields)s") % {"fields": ", ".join(sorted(allowed))},
            )

    def text(
        self, entry: str, data: dict, field_name: str, *, required: bool = True, default: str = ""
    ) -> str:
        value = data.get(field_name)
        if value is None:
            if required:
                self.error(entry, field_name, _("this field is required"))
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.error(entry, field_name, _("expected text, got %(type)s") % {"type": _type_name(value)})
            return default
        text = str(value).strip()
        if required and not text:
            self.error(entry, field_name, _("this field may not be blank"))
        return text

    def flag(self, entry: str, data: dict, field_name: str, *, default: bool = False) -> bool:
        value = data.get(field_name, default)
        if not isinstance(value, bool):
            self.error(entry, field_name, _("expected true or false, got %(value)r") % {"value": value})
            return default
        return value

    def number(self, entry: str, data: dict, field_name: str, *, required: bool = True) -> Decimal | None:
        value = data.get(field_name)
        if value is None:
            if required:
                self.error(entry, field_name, _("this field is required"))
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            self.error(entry, field_name, _("expected a number, got %(type)s") % {"type": _type_name(value)})
            return None
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError:
            self.error(entry, field_name, _("not a number: %(value)r") % {"value": value})
            return None
        if not number.is_finite():
            self.error(entry, field_name, _("not a finite number: %(value)r") % {"value": value})
            return None
        return number

    def date(self, entry: str, data: dict, field_name: str, *, required: bool = True) -> datetime.date | None:
        value = data.get(field_name)
        if value is None:
            if required:
                self.error(entry, field_name, _("this field is required"))
            return None
        if isinstance(value, datetime.datetime):
            self.error(entry, field_name, _("expected a date (YYYY-MM-DD), got a date and time"))
            return None
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value))
        except ValueError:
            self.error(entry, field_name, _("expected a date (YYYY-MM-DD), got %(value)r") % {"value": value})
            return None

    def bilingual(self, entry: str, data: dict, field_name: str, *, required: bool = True) -> tuple[str, str]:
        value = data.get(field_name)
        if value is None and not required:
            return "", ""
        if self.mapping(entry, field_name, value) is None:
            return "", ""
        self.unknown_keys(f"{entry} {field_name}", value, {"zh-hans", "en"})
        zh = self.text(entry, value, "zh-hans", required=required)
        en = self.text(entry, value, "en", required=required)
        return zh, en

    def raise_if_any(self) -> None:
        if self.issues:
            raise SeedDataError(self.issues)


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _read_yaml(path: Path) -> dict:
    checker = _Checker(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        checker.error("-", "-", _("cannot read the file: %(error)s") % {"error": exc.strerror or exc})
    except yaml.YAMLError as exc:
        checker.error("-", "-", _("not valid YAML: %(error)s") % {"error": exc})
    else:
        if isinstance(data, dict):
            return data
        checker.error("-", "-", _("expected a mapping at the top of the file"))
    raise SeedDataError(checker.issues)


def _read_json(path: Path) -> Any:
    checker = _Checker(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        checker.error("-", "-", _("cannot read the file: %(error)s") % {"error": exc.strerror or exc})
    except ValueError as exc:
        checker.error("-", "-", _("not valid JSON: %(error)s") % {"error": exc})
    raise SeedDataError(checker.issues)


# --- Reference data: taxonomy.json and partners.yaml -------------------------------------------------
_NAME_LABELS = {
    "name_zh_hans": "name.zh-hans",
    "name_en": "name.en",
    "description_zh_hans": "description.zh-hans",
    "description_en": "description.en",
}
_TAXONOMY_FIELDS = {
    "partnerships.pillar": {
        "key",
        "name_zh_hans",
        "name_en",
        "description_zh_hans",
        "description_en",
        "position",
    },
    "partnerships.scenariotype": {
        "key",
        "pillar",
        "group",
        "name_zh_hans",
        "name_en",
        "position",
        "status",
        "status_rule_zh_hans",
        "status_rule_en",
    },
}
# Fields a taxonomy entry may leave out, with the value it then gets: a scenario type is active unless the file
# says it is restricted or prohibited, and then it names the rule in both languages.
_TAXONOMY_DEFAULTS = {
    "description_zh_hans": "",
    "description_en": "",
    "status": ScenarioStatus.ACTIVE,
    "status_rule_zh_hans": "",
    "status_rule_en": "",
}


def _parse_taxonomy(path: Path) -> tuple[list[dict], list[dict]]:
    """A Django fixture (loaddata format) holding the pillars and scenario types, with explicit pks."""
    raw = _read_json(path)
    checker = _Checker(path)
    if not isinstance(raw, list):
        checker.error("-", "-", _("expected a list of fixture objects"))
        checker.raise_if_any()
    pillars: list[dict] = []
    types: list[dict] = []
    seen: dict[tuple[str, Any], str] = {}
    for index, obj in enumerate(raw):
        entry = f"[{index}]"
        if checker.mapping(entry, "-", obj) is None:
            continue
        label = obj.get("model")
        if label not in _TAXONOMY_FIELDS:
            checker.error(
                entry, "model", _("expected one of: %(models)s") % {"models": ", ".join(_TAXONOMY_FIELDS)}
            )
            continue
        fields = checker.mapping(entry, "fields", obj.get("fields"))
        if fields is None:
            continue
        entry = f"[{index}] ({label} {fields.get('key', '?')})"
        pk = obj.get("pk")
        if isinstance(pk, bool) or not isinstance(pk, int) or pk < 1:
            checker.error(entry, "pk", _("expected a positive integer"))
        elif (seen_at := seen.get((label, pk))) is not None:
            checker.error(entry, "pk", _("duplicate pk, already used by %(entry)s") % {"entry": seen_at})
        else:
            seen[(label, pk)] = entry
        checker.unknown_keys(entry, fields, _TAXONOMY_FIELDS[label])
        missing = sorted(_TAXONOMY_FIELDS[label] - set(_TAXONOMY_DEFAULTS) - set(fields))
        for name in missing:
            checker.error(entry, name, _("this field is required"))
        if missing:
            continue
        values = {
            name: fields.get(name, _TAXONOMY_DEFAULTS.get(name, "")) for name in _TAXONOMY_FIELDS[label]
        }
        if label == "partnerships.pillar":
            instance = Pillar(**values)
            checker.check_model(entry, instance)
            pillars.append({"pk": pk, "key": instance.key, "values": _attrs(instance, values)})
        else:
            values["pillar_id"] = values.pop("pillar")
            instance = ScenarioType(**values)
            checker.check_model(entry, instance, exclude=("pillar",))
            if instance.status != ScenarioStatus.ACTIVE:
                for name in ("status_rule_zh_hans", "status_rule_en"):
                    if not str(values[name] or "").strip():
                        checker.error(
                            entry, name, _("a restricted or prohibited scenario type names its rule")
                        )
            types.append({"pk": pk, "key": instance.key, "values": _attrs(instance, values), "entry": entry})
    _check_unique(checker, pillars, "key")
    _check_unique(checker, types, "key")
    pillar_keys = {p["key"] for p in pillars}
    for item in types:
        if item["values"]["pillar_id"] not in pillar_keys:
            checker.error(
                item["entry"],
                "pillar",
                _("unknown pillar %(key)r; expected one of: %(keys)s")
                % {"key": item["values"]["pillar_id"], "keys": ", ".join(sorted(pillar_keys))},
            )
    checker.raise_if_any()
    return pillars, types


def _attrs(instance: models.Model, values: dict) -> dict:
    """The instance's cleaned values for the given attribute names."""
    return {name: getattr(instance, name) for name in values}


def _check_unique(checker: _Checker, items: list[dict], key: str) -> None:
    seen: set[Any] = set()
    for item in items:
        if item[key] in seen:
            checker.error(
                item.get("entry", item[key]),
                key,
                _("duplicate %(field)s %(value)r") % {"field": key, "value": item[key]},
            )
        seen.add(item[key])


_PARTNER_FIELDS = {
    "key",
    "name",
    "ticker",
    "kind",
    "related_party_group",
    "is_illustrative",
    "description",
    "licences",
    "metrics",
}
_METRIC_FIELDS = {"metric", "segment", "part_of", "period", "period_end", "value", "unit", "source"}
_LICENCE_FIELDS = {"licence_type", "number", "issuer", "valid_until", "source"}


def _parse_licences(checker: _Checker, entry: str, raw: Any) -> list[dict]:
    """A partner's licences: each with its type, issuer and source; number and expiry only where known."""
    licences: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for index, l_raw in enumerate(checker.items(entry, "licences", raw)):
        l_entry = f"{entry} licences[{index}]"
        if checker.mapping(l_entry, "-", l_raw) is None:
            continue
        l_entry = f"{l_entry} ({l_raw.get('licence_type')})"
        checker.unknown_keys(l_entry, l_raw, _LICENCE_FIELDS)
        values = {
            "licence_type": checker.text(l_entry, l_raw, "licence_type"),
            "number": checker.text(l_entry, l_raw, "number", required=False),
            "issuer": checker.text(l_entry, l_raw, "issuer"),
            "valid_until": checker.date(l_entry, l_raw, "valid_until", required=False),
            "source": checker.text(l_entry, l_raw, "source"),
        }
        instance = PartnerLicence(**values)
        checker.check_model(l_entry, instance, exclude=("partner",))
        natural = (values["licence_type"], values["number"])
        if natural in seen:
            checker.error(l_entry, "number", _("the same licence (type and number) is listed twice"))
        seen.add(natural)
        licences.append({"entry": l_entry, "natural": natural, "values": _attrs(instance, values)})
    return licences


def _check_parts(checker: _Checker, metrics: list[dict]) -> None:
    """``part_of`` names another segment of the same partner in this file (its revenue already holds this one's)."""
    segments = {m["values"]["segment"] for m in metrics if m["values"]["segment"]}
    for metric in metrics:
        part_of, segment = metric["values"]["part_of"], metric["values"]["segment"]
        if not part_of:
            continue
        if not segment:
            checker.error(metric["entry"], "part_of", _("only a segment can be part of another segment"))
        elif part_of == segment:
            checker.error(metric["entry"], "part_of", _("a segment cannot be part of itself"))
        elif part_of not in segments:
            checker.error(
                metric["entry"],
                "part_of",
                _("unknown segment %(name)r; expected one of this partner's segments: %(names)s")
                % {"name": part_of, "names": "、".join(sorted(segments - {segment}))},
            )


def _parse_partners(path: Path) -> list[dict]:
    """The partner register: a header (urn, version, …) and partners, each with its kind, licences and figures."""
    data = _read_yaml(path)
    checker = _Checker(path)
    for name in ("urn", "version", "partners"):
        if name not in data:
            checker.error("header", name, _("this field is required"))
    partners: list[dict] = []
    seen_keys: set[str] = set()
    for index, raw in enumerate(checker.items("header", "partners", data.get("partners"), required=True)):
        entry = f"partners[{index}]"
        if checker.mapping(entry, "-", raw) is None:
            continue
        key = checker.text(entry, raw, "key")
        entry = f"partners[{index}] ({key})"
        checker.unknown_keys(entry, raw, _PARTNER_FIELDS)
        name_zh, name_en = checker.bilingual(entry, raw, "name")
        desc_zh, desc_en = checker.bilingual(entry, raw, "description", required=False)
        values = {
            "key": key,
            "name_zh_hans": name_zh,
            "name_en": name_en,
            "ticker": checker.text(entry, raw, "ticker", required=False),
            "kind": checker.text(entry, raw, "kind"),
            "related_party_group": checker.text(entry, raw, "related_party_group", required=False),
            "is_illustrative": checker.flag(entry, raw, "is_illustrative"),
            "description_zh_hans": desc_zh,
            "description_en": desc_en,
        }
        checker.check_model(entry, TechPartner(**values), names=_NAME_LABELS)
        # Invented partners say so twice: the flag, and a name no reader takes for a real company's.
        named_demo = name_zh.startswith(ILLUSTRATIVE_PREFIX)
        if values["is_illustrative"] and name_zh and not named_demo:
            checker.error(
                entry,
                "name.zh-hans",
                _("an illustrative partner's Chinese name starts with %(prefix)s")
                % {"prefix": ILLUSTRATIVE_PREFIX},
            )
        elif named_demo and not values["is_illustrative"]:
            checker.error(
                entry,
                "is_illustrative",
                _("a partner named %(prefix)s… is invented for the demo: say is_illustrative: true")
                % {"prefix": ILLUSTRATIVE_PREFIX},
            )
        if key in seen_keys:
            checker.error(entry, "key", _("duplicate partner key %(key)r") % {"key": key})
        seen_keys.add(key)
        metrics: list[dict] = []
        seen_metrics: set[tuple[str, str, str]] = set()
        for m_index, m_raw in enumerate(checker.items(entry, "metrics", raw.get("metrics"))):
            m_entry = f"{entry} metrics[{m_index}]"
            if checker.mapping(m_entry, "-", m_raw) is None:
                continue
            m_entry = f"{m_entry} ({m_raw.get('metric')} {m_raw.get('segment') or '-'} {m_raw.get('period')})"
            checker.unknown_keys(m_entry, m_raw, _METRIC_FIELDS)
            if "segment" not in m_raw:
                checker.error(m_entry, "segment", _('this field is required ("" for whole-company figures)'))
            m_values = {
                "metric": checker.text(m_entry, m_raw, "metric"),
                "segment": checker.text(m_entry, m_raw, "segment", required=False),
                "part_of": checker.text(m_entry, m_raw, "part_of", required=False),
                "period": checker.text(m_entry, m_raw, "period"),
                "period_end": checker.date(m_entry, m_raw, "period_end"),
                "value": checker.number(m_entry, m_raw, "value"),
                "unit": checker.text(m_entry, m_raw, "unit"),
                "source": checker.text(m_entry, m_raw, "source"),
            }
            instance = PartnerMetric(**m_values)
            checker.check_model(m_entry, instance, exclude=("partner",))
            natural = (m_values["metric"], m_values["segment"], m_values["period"])
            if natural in seen_metrics:
                checker.error(m_entry, "metric", _("duplicate figure for this metric, segment and period"))
            seen_metrics.add(natural)
            metrics.append({"entry": m_entry, "natural": natural, "values": _attrs(instance, m_values)})
        _check_parts(checker, metrics)
        licences = _parse_licences(checker, entry, raw.get("licences"))
        partners.append(
            {
                "key": key,
                "file": checker.file,
                "entry": entry,
                "values": values,
                "metrics": metrics,
                "licences": licences,
            }
        )
    checker.raise_if_any()
    return partners


def load_reference_data(
    *, taxonomy_path: Path | None = None, partners_path: Path | None = None
) -> ReferenceData:
    """Read and validate the taxonomy and the partner library (reporting the problems of both); writes nothing."""
    issues: list[SeedIssue] = []
    pillars: list[dict] = []
    types: list[dict] = []
    partners: list[dict] = []
    try:
        pillars, types = _parse_taxonomy(Path(taxonomy_path or TAXONOMY_FILE))
    except SeedDataError as exc:
        issues += exc.issues
    try:
        partners = _parse_partners(Path(partners_path or PARTNERS_FILE))
    except SeedDataError as exc:
        issues += exc.issues
    if issues:
        raise SeedDataError(issues)
    return ReferenceData(pillars=pillars, scenario_types=types, partners=partners)


# --- Demo data: demo.yaml ----------------------------------------------------------------------------
_BANK_FIELDS = {"code", "name", "is_illustrative", "bank_type", "home_region", "limit_warning_percent"}
_USER_FIELDS = {"username", "email", "first_name", "last_name", "memberships"}
_MEMBERSHIP_FIELDS = {"bank", "role", "receives_reports"}
_INITIATIVE_FIELDS = {
    "bank",
    "code",
    "title",
    "description",
    "pillar",
    "scenario_types",
    "status",
    "start_date",
    "end_date",
    "owner",
    "is_illustrative",
    "personal_data_categories",
    "lawful_basis",
    "security_assessment_done",
    "cross_border_transfer",
    "transfer_mechanism",
    "partners",
    "kpis",
    "evidence",
    # Personal data as facts (rubric version 2); absent → not recorded.
    "no_personal_data",
    "provided_to_partner",
    "provision_separate_consent",
    "cross_border_destination",
    "cross_border_separate_consent",
    "credit_use",
    "credit_route_agency",
    "impact_assessment_on",
    "processing_agreement",
    "data_categories",
}
# The version 2 facts a demo initiative may state; None (left out) means "not recorded".
_MAYBE_FLAGS = ("provided_to_partner", "credit_use")
_FLAGS_V2 = (
    "no_personal_data",
    "provision_separate_consent",
    "cross_border_separate_consent",
    "processing_agreement",
)
_LINK_FIELDS = {"partner", "role", "note", "services"}
_KPI_FIELDS = {
    "name",
    "cost_driver",
    "unit",
    "baseline",
    "target",
    "target_date",
    "baseline_date",
    "weight",
    "observations",
}
_OBSERVATION_FIELDS = {"observed_on", "value", "note"}
_EVIDENCE_FIELDS = {"url", "note", "uploaded_by"}


def _known_from_db() -> _Known:
    return _Known(
        pillars=set(Pillar.objects.values_list("key", flat=True)),
        scenario_types=dict(ScenarioType.objects.values_list("key", "pillar_id")),
        partners=set(TechPartner.objects.values_list("key", flat=True)),
    )


def _known(reference: ReferenceData | None) -> _Known:
    known = _known_from_db()
    if reference is not None:
        known.pillars |= {p["key"] for p in reference.pillars}
        known.scenario_types.update({t["key"]: t["values"]["pillar_id"] for t in reference.scenario_types})
        known.partners |= {p["key"] for p in reference.partners}
    return known


def load_demo_data(*, path: Path | None = None, reference: ReferenceData | None = None) -> DemoData:
    """Read and validate the demo file against the reference data (the database plus ``reference``)."""
    path = Path(path or DEMO_FILE)
    data = _read_yaml(path)
    checker = _Checker(path)
    known = _known(reference)
    User = get_user_model()

    for name in ("banks", "users", "initiatives"):
        if name not in data:
            checker.error("header", name, _("this field is required"))
    if data.get("is_illustrative") is not True:
        checker.error("header", "is_illustrative", _("a demo file must say is_illustrative: true"))

    banks: list[dict] = []
    for index, raw in enumerate(checker.items("header", "banks", data.get("banks"))):
        entry = f"banks[{index}]"
        if checker.mapping(entry, "-", raw) is None:
            continue
        code = checker.text(entry, raw, "code")
        entry = f"banks[{index}] ({code})"
        checker.unknown_keys(entry, raw, _BANK_FIELDS)
        zh, en = checker.bilingual(entry, raw, "name")
        values = {
            "name_zh_hans": zh,
            "name_en": en,
            "is_illustrative": checker.flag(entry, raw, "is_illustrative"),
        }
        if values["is_illustrative"] is not True:
            checker.error(entry, "is_illustrative", _("demo banks must be marked is_illustrative: true"))
        checker.check_model(entry, Bank(code=code, **values), names=_NAME_LABELS)
        profile = parse_bank_profile(checker, entry, raw)
        banks.append({"code": code, "values": values, "entry": entry, "profile": profile})
    _check_unique(checker, banks, "code")
    bank_codes = {b["code"] for b in banks} | set(
        Bank.objects.filter(code__in=_referenced(data, "bank")).values_list("code", flat=True)
    )

    users: list[dict] = []
    for index, raw in enumerate(checker.items("header", "users", data.get("users"))):
        entry = f"users[{index}]"
        if checker.mapping(entry, "-", raw) is None:
            continue
        username = checker.text(entry, raw, "username")
        entry = f"users[{index}] ({username})"
        checker.unknown_keys(entry, raw, _USER_FIELDS)
        values = {
            "email": checker.text(entry, raw, "email", required=False),
            "first_name": checker.text(entry, raw, "first_name", required=False),
            "last_name": checker.text(entry, raw, "last_name", required=False),
            "is_staff": True,
            "is_superuser": False,
        }
        checker.check_model(entry, User(username=username, **values), exclude=("password",), run_clean=False)
        memberships: list[dict] = []
        for m_index, m_raw in enumerate(checker.items(entry, "memberships", raw.get("memberships"))):
            m_entry = f"{entry} memberships[{m_index}]"
            if checker.mapping(m_entry, "-", m_raw) is None:
                continue
            checker.unknown_keys(m_entry, m_raw, _MEMBERSHIP_FIELDS)
            bank = checker.text(m_entry, m_raw, "bank")
            role = checker.text(m_entry, m_raw, "role")
            if bank and bank not in bank_codes:
                checker.error(m_entry, "bank", _("unknown bank code %(code)r") % {"code": bank})
            if role and role not in Role.values:
                checker.error(
                    m_entry, "role", _("expected one of: %(roles)s") % {"roles": ", ".join(Role.values)}
                )
            if any(m["bank"] == bank for m in memberships):
                checker.error(m_entry, "bank", _("duplicate membership in bank %(code)r") % {"code": bank})
            memberships.append(
                {
                    "bank": bank,
                    "role": role,
                    "receives_reports": checker.flag(m_entry, m_raw, "receives_reports"),
                }
            )
        users.append({"username": username, "values": values, "memberships": memberships, "entry": entry})
    _check_unique(checker, users, "username")
    usernames = {u["username"] for u in users} | set(
        User.objects.filter(username__in=_referenced_users(data)).values_list("username", flat=True)
    )

    initiatives: list[dict] = []
    for index, raw in enumerate(checker.items("header", "initiatives", data.get("initiatives"))):
        entry = f"initiatives[{index}]"
        if checker.mapping(entry, "-", raw) is None:
            continue
        item = _parse_initiative(
            checker,
            f"{entry} ({raw.get('bank')}/{raw.get('code')})",
            raw,
            known=known,
            bank_codes=bank_codes,
            usernames=usernames,
        )
        if item is not None:
            initiatives.append(item)
    seen: set[tuple[str, str]] = set()
    for item in initiatives:
        natural = (item["bank"], item["code"])
        if natural in seen:
            checker.error(item["entry"], "code", _("duplicate initiative code in this bank"))
        seen.add(natural)
    register = parse_register(checker, data, bank_codes=bank_codes, partners=known.partners)
    checker.raise_if_any()
    return DemoData(banks=banks, users=users, initiatives=initiatives, file=checker.file, register=register)


def _referenced(data: dict, name: str) -> set[str]:
    found = {str(i.get(name)) for i in data.get("initiatives") or [] if isinstance(i, dict) and i.get(name)}
    for user in data.get("users") or []:
        if isinstance(user, dict):
            for m in user.get("memberships") or []:
                if isinstance(m, dict) and m.get(name):
                    found.add(str(m[name]))
    return found


def _referenced_users(data: dict) -> set[str]:
    found: set[str] = set()
    for item in data.get("initiatives") or []:
        if not isinstance(item, dict):
            continue
        if item.get("owner"):
            found.add(str(item["owner"]))
        for ev in item.get("evidence") or []:
            if isinstance(ev, dict) and ev.get("uploaded_by"):
                found.add(str(ev["uploaded_by"]))
    return found


def _parse_initiative(
    checker: _Checker, entry: str, raw: dict, *, known: _Known, bank_codes: set[str], usernames: set[str]
) -> dict | None:
    checker.unknown_keys(entry, raw, _INITIATIVE_FIELDS)
    bank = checker.text(entry, raw, "bank")
    if bank and bank not in bank_codes:
        checker.error(entry, "bank", _("unknown bank code %(code)r") % {"code": bank})
    pillar = checker.text(entry, raw, "pillar")
    if pillar and pillar not in known.pillars:
        checker.error(
            entry,
            "pillar",
            _("unknown pillar %(key)r; expected one of: %(keys)s")
            % {"key": pillar, "keys": ", ".join(sorted(known.pillars)) or _("(none loaded)")},
        )
    scenario_types = [str(k) for k in checker.items(entry, "scenario_types", raw.get("scenario_types"))]
    for key in scenario_types:
        if key not in known.scenario_types:
            checker.error(entry, "scenario_types", _("unknown scenario type %(key)r") % {"key": key})
        elif pillar in known.pillars and known.scenario_types[key] != pillar:
            checker.error(
                entry,
                "scenario_types",
                _("scenario type %(key)r belongs to pillar %(other)r, not %(pillar)r")
                % {"key": key, "other": known.scenario_types[key], "pillar": pillar},
            )
    if len(set(scenario_types)) != len(scenario_types):
        checker.error(entry, "scenario_types", _("a scenario type is listed twice"))
    owner = checker.text(entry, raw, "owner", required=False)
    if owner and owner not in usernames:
        checker.error(entry, "owner", _("unknown username %(name)r") % {"name": owner})
    values = {
        "title": checker.text(entry, raw, "title"),
        "description": checker.text(entry, raw, "description", required=False),
        "status": checker.text(entry, raw, "status"),
        "start_date": checker.date(entry, raw, "start_date", required=False),
        "end_date": checker.date(entry, raw, "end_date", required=False),
        "personal_data_categories": raw.get("personal_data_categories") or [],
        "lawful_basis": checker.text(entry, raw, "lawful_basis", required=False),
        "security_assessment_done": checker.flag(entry, raw, "security_assessment_done"),
        "cross_border_transfer": checker.flag(entry, raw, "cross_border_transfer"),
        "transfer_mechanism": checker.text(entry, raw, "transfer_mechanism", required=False),
        "is_illustrative": checker.flag(entry, raw, "is_illustrative"),
        "cross_border_destination": checker.text(entry, raw, "cross_border_destination", required=False),
        "impact_assessment_on": checker.date(entry, raw, "impact_assessment_on", required=False),
        **{name: checker.flag(entry, raw, name) for name in _FLAGS_V2},
    }
    for name in _MAYBE_FLAGS:  # true, false or left out (not recorded)
        value = raw.get(name)
        if value is not None and not isinstance(value, bool):
            checker.error(entry, name, _("expected true or false, got %(value)r") % {"value": value})
            value = None
        values[name] = value
    facts: dict = {}
    agency = raw.get("credit_route_agency")
    if agency is not None:
        if not isinstance(agency, str) or agency not in known.partners:
            checker.error(entry, "credit_route_agency", _("unknown tech partner %(key)r") % {"key": agency})
        else:
            facts["credit_route_agency"] = agency
    if raw.get("data_categories") is not None:
        facts["data_categories"] = [
            dict(c) if isinstance(c, dict) else c
            for c in checker.items(entry, "data_categories", raw["data_categories"])
        ]
    if values["is_illustrative"] is not True:
        checker.error(entry, "is_illustrative", _("demo initiatives must be marked is_illustrative: true"))
    code = checker.text(entry, raw, "code")
    instance = Initiative(code=code, pillar_id=pillar or None, **values)
    checker.check_model(entry, instance, exclude=("bank", "pillar", "owner"))
    values = _attrs(instance, values)

    partners: list[dict] = []
    leads = 0
    for p_index, p_raw in enumerate(checker.items(entry, "partners", raw.get("partners"))):
        p_entry = f"{entry} partners[{p_index}]"
        if checker.mapping(p_entry, "-", p_raw) is None:
            continue
        checker.unknown_keys(p_entry, p_raw, _LINK_FIELDS)
        key = checker.text(p_entry, p_raw, "partner")
        if key and key not in known.partners:
            checker.error(p_entry, "partner", _("unknown tech partner %(key)r") % {"key": key})
        link = InitiativePartner(
            role=checker.text(p_entry, p_raw, "role"),
            note=checker.text(p_entry, p_raw, "note", required=False),
        )
        checker.check_model(p_entry, link, exclude=("initiative", "partner"))
        leads += link.role == "lead"
        if any(p["partner"] == key for p in partners):
            checker.error(p_entry, "partner", _("partner %(key)r is listed twice") % {"key": key})
        link_values = {"role": link.role, "note": link.note}
        if p_raw.get("services") is not None:  # left out: the link keeps the services it has
            services = FieldErrors()
            link_values["services"] = check_link_services(services, "services", p_raw["services"])
            for message in services.get("services", []):
                checker.error(p_entry, "services", message)
        partners.append({"partner": key, "values": link_values})
    if leads > 1:
        checker.error(entry, "partners", _("at most one partner may have the role lead"))

    kpis: list[dict] = []
    for k_index, k_raw in enumerate(checker.items(entry, "kpis", raw.get("kpis"))):
        k_entry = f"{entry} kpis[{k_index}]"
        if checker.mapping(k_entry, "-", k_raw) is None:
            continue
        name = checker.text(k_entry, k_raw, "name")
        k_entry = f"{k_entry} ({name})"
        checker.unknown_keys(k_entry, k_raw, _KPI_FIELDS)
        k_values = {
            "cost_driver": checker.text(k_entry, k_raw, "cost_driver"),
            "unit": checker.text(k_entry, k_raw, "unit", required=False),
            "baseline": checker.number(k_entry, k_raw, "baseline"),
            "target": checker.number(k_entry, k_raw, "target", required=False),
            "target_date": checker.date(k_entry, k_raw, "target_date", required=False),
            "baseline_date": checker.date(k_entry, k_raw, "baseline_date", required=False),
        }
        if "weight" in k_raw:
            k_values["weight"] = checker.number(k_entry, k_raw, "weight")
        kpi = KPI(name=name, **k_values)
        checker.check_model(k_entry, kpi, exclude=("initiative",))
        if any(k["name"] == name for k in kpis):
            checker.error(k_entry, "name", _("duplicate KPI name in this initiative"))
        observations: list[dict] = []
        for o_index, o_raw in enumerate(checker.items(k_entry, "observations", k_raw.get("observations"))):
            o_entry = f"{k_entry} observations[{o_index}]"
            if checker.mapping(o_entry, "-", o_raw) is None:
                continue
            checker.unknown_keys(o_entry, o_raw, _OBSERVATION_FIELDS)
            o_values = {
                "value": checker.number(o_entry, o_raw, "value"),
                "note": checker.text(o_entry, o_raw, "note", required=False),
            }
            observed_on = checker.date(o_entry, o_raw, "observed_on")
            observation = KPIObservation(observed_on=observed_on, **o_values)
            checker.check_model(o_entry, observation, exclude=("kpi",))
            if any(o["observed_on"] == observed_on for o in observations):
                checker.error(o_entry, "observed_on", _("two observations on the same date"))
            observations.append({"observed_on": observed_on, "values": _attrs(observation, o_values)})
        kpis.append({"name": name, "values": _attrs(kpi, k_values), "observations": observations})

    evidence: list[dict] = []
    for e_index, e_raw in enumerate(checker.items(entry, "evidence", raw.get("evidence"))):
        e_entry = f"{entry} evidence[{e_index}]"
        if checker.mapping(e_entry, "-", e_raw) is None:
            continue
        checker.unknown_keys(e_entry, e_raw, _EVIDENCE_FIELDS)
        url = checker.text(e_entry, e_raw, "url")
        uploaded_by = checker.text(e_entry, e_raw, "uploaded_by", required=False)
        if uploaded_by and uploaded_by not in usernames:
            checker.error(e_entry, "uploaded_by", _("unknown username %(name)r") % {"name": uploaded_by})
        item = Evidence(
            kind=EvidenceKind.LINK, url=url, note=checker.text(e_entry, e_raw, "note", required=False)
        )
        checker.check_model(e_entry, item, exclude=("initiative", "uploaded_by"))
        if any(e["url"] == url for e in evidence):
            checker.error(e_entry, "url", _("the same link is listed twice"))
        evidence.append({"url": url, "note": item.note, "uploaded_by": uploaded_by})

    return {
        "entry": entry,
        "bank": bank,
        "code": code,
        "pillar": pillar,
        "owner": owner,
        "values": values,
        "scenario_types": scenario_types,
        "partners": partners,
        "kpis": kpis,
        "evidence": evidence,
        "facts": facts,
    }


# --- Writing -----------------------------------------------------------------------------------------
def _save(obj: models.Model) -> None:
    obj._change_reason = CHANGE_REASON  # recorded by simple-history on the historical row
    obj.save()


def _upsert(
    result: SeedResult,
    model: type[models.Model],
    existing: dict,
    natural: Any,
    values: dict,
    *,
    create: dict | None = None,
    record: bool = True,
) -> tuple[models.Model, str]:
    """Create the row, or update it only when one of ``values`` (attribute names) differs."""
    obj = existing.get(natural)
    if obj is None:
        obj = model(**values, **(create or {}))
        _save(obj)
        existing[natural] = obj
        outcome = CREATED
    else:
        changed = False
        for name, value in values.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed = True
        if changed:
            _save(obj)
        outcome = UPDATED if changed else UNCHANGED
    if record:
        result.record(model, outcome)
    return obj, outcome


def _write_taxonomy(reference: ReferenceData, result: SeedResult) -> None:
    """Upsert by key. New rows take the fixture's pk when it is free, so `loaddata taxonomy` agrees later."""
    explicit_pks = False
    for model, items in ((Pillar, reference.pillars), (ScenarioType, reference.scenario_types)):
        existing = {obj.key: obj for obj in model.objects.all()}
        taken = {obj.pk for obj in existing.values()}
        for item in items:
            create = {}
            if item["key"] not in existing and item["pk"] not in taken:
                create = {"pk": item["pk"]}
                explicit_pks = True
            obj, _outcome = _upsert(result, model, existing, item["key"], item["values"], create=create)
            taken.add(obj.pk)
    if explicit_pks:  # PostgreSQL sequences do not move on explicit pks (loaddata resets them the same way)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Pillar, ScenarioType]):
                cursor.execute(sql)


def _write_partners(reference: ReferenceData, result: SeedResult) -> None:
    """Partners, their licences and figures, through the partner services as the system (``_Door``): a refusal
    names the file and the entry. Existing rows are read in one query per model; only what differs is written."""
    keys = [p["key"] for p in reference.partners]
    existing = {p.key: p for p in TechPartner.objects.filter(key__in=keys)}
    metrics = {
        (m.partner_id, m.metric, m.segment, m.period): m
        for m in PartnerMetric.objects.filter(partner__key__in=keys)
    }
    licences = {
        (item.partner_id, item.licence_type, item.number): item
        for item in PartnerLicence.objects.filter(partner__key__in=keys).order_by("id")
    }
    for item in reference.partners:
        file = item["file"]
        writer = _Door(file, item["entry"])
        partner = _write_row(
            result,
            writer,
            TechPartner,
            existing.get(item["key"]),
            item["values"],
            create=lambda data: partner_create(user=None, data=data),
            update=lambda obj, data: partner_update(user=None, partner=obj, data=data),
        )
        for licence in item["licences"]:
            _write_row(
                result,
                _Door(file, licence["entry"]),
                PartnerLicence,
                licences.get((partner.pk, *licence["natural"])),
                licence["values"],
                create=lambda data, partner=partner: licence_create(user=None, partner=partner, data=data),
                update=lambda obj, data: licence_update(user=None, licence=obj, data=data),
            )
        for metric in item["metrics"]:
            _write_row(
                result,
                _Door(file, metric["entry"]),
                PartnerMetric,
                metrics.get((partner.pk, *metric["natural"])),
                metric["values"],
                create=lambda data, partner=partner: metric_create(user=None, partner=partner, data=data),
                update=lambda obj, data: metric_update(user=None, metric=obj, data=data),
            )


def _write_reference(reference: ReferenceData) -> SeedResult:
    result = SeedResult()
    _write_taxonomy(reference, result)
    _write_partners(reference, result)
    return result


def _upsert_user(result: SeedResult, users: dict, username: str, values: dict, password: str | None):
    """Create the user with ``password`` (unusable when None), or update its declared fields.

    The password is set only when the user is created: a second run leaves it alone.
    """
    user, outcome = _upsert(
        result,
        get_user_model(),
        users,
        username,
        {"username": username, **values},
        create={"password": make_password(password or None)},
    )
    result.usernames.append(username)
    if outcome == CREATED:
        result.created_usernames.append(username)
    return user


def _write_users(demo: DemoData, password: str | None, result: SeedResult) -> dict[str, Any]:
    wanted = {u["username"] for u in demo.users} | {i["owner"] for i in demo.initiatives if i["owner"]}
    wanted |= {e["uploaded_by"] for i in demo.initiatives for e in i["evidence"] if e["uploaded_by"]}
    users = {u.username: u for u in get_user_model().objects.filter(username__in=wanted)}
    for item in demo.users:
        _upsert_user(result, users, item["username"], item["values"], password)
    return users


def _write_demo(demo: DemoData, password: str | None) -> SeedResult:
    result = SeedResult()
    banks = {
        b.code: b
        for b in Bank.objects.filter(
            code__in={b["code"] for b in demo.banks} | {i["bank"] for i in demo.initiatives}
        )
    }
    for item in demo.banks:
        bank, outcome = _upsert(
            result, Bank, banks, item["code"], item["values"], create={"code": item["code"]}, record=False
        )
        # The lending profile (type, region, early-warning level) through its service.
        if write_bank_profile(_Door(demo.file, item["entry"]), bank, item.get("profile") or {}):
            outcome = UPDATED if outcome == UNCHANGED else outcome
        result.record(Bank, outcome)

    users = _write_users(demo, password, result)
    memberships = {
        (m.user_id, m.bank_id): m
        for m in Membership.objects.filter(
            user__in=[u.pk for u in users.values()], bank__in=[b.pk for b in banks.values()]
        )
    }
    for item in demo.users:
        user = users[item["username"]]
        for m in item["memberships"]:
            bank = banks[m["bank"]]
            values = {
                "user_id": user.pk,
                "bank_id": bank.pk,
                "role": m["role"],
                "receives_reports": m["receives_reports"],
            }
            _upsert(result, Membership, memberships, (user.pk, bank.pk), values)

    initiatives = {
        (i.bank_id, i.code): i
        for i in Initiative.objects.filter(bank__in=[b.pk for b in banks.values()])
        .select_related("owner")
        .prefetch_related("scenario_types")
    }
    ids = [i.pk for i in initiatives.values()]
    links: dict[int, dict[str, InitiativePartner]] = {}
    for link in InitiativePartner.objects.filter(initiative__in=ids).select_related("partner"):
        links.setdefault(link.initiative_id, {})[link.partner.key] = link
    kpis = {(k.initiative_id, k.name): k for k in KPI.objects.filter(initiative__in=ids)}
    observations = {
        (o.kpi_id, o.observed_on): o for o in KPIObservation.objects.filter(kpi__initiative__in=ids)
    }
    evidence = {
        (e.initiative_id, e.url): e
        for e in Evidence.objects.filter(initiative__in=ids, kind=EvidenceKind.LINK)
    }
    for item in demo.initiatives:
        writer = _Door(demo.file, item["entry"])
        bank = banks[item["bank"]]
        initiative = _write_initiative(
            result, writer, item, bank, initiatives.get((bank.pk, item["code"])), links
        )
        for kpi_item in item["kpis"]:
            kpi = _write_row(
                result,
                writer,
                KPI,
                kpis.get((initiative.pk, kpi_item["name"])),
                {"name": kpi_item["name"], **kpi_item["values"]},
                create=lambda data, initiative=initiative: kpi_create(
                    user=None, initiative=initiative, data=data
                ),
                update=lambda obj, data: kpi_update(user=None, kpi=obj, data=data),
            )
            for obs in kpi_item["observations"]:
                _write_row(
                    result,
                    writer,
                    KPIObservation,
                    observations.get((kpi.pk, obs["observed_on"])),
                    {"observed_on": obs["observed_on"], **obs["values"]},
                    create=lambda data, kpi=kpi: observation_create(user=None, kpi=kpi, data=data),
                    update=lambda obj, data: observation_update(user=None, observation=obj, data=data),
                )
        for ev in item["evidence"]:
            uploader = users.get(ev["uploaded_by"]) if ev["uploaded_by"] else None
            found = evidence.get((initiative.pk, ev["url"]))  # who recorded it is never re-written
            _write_row(
                result,
                writer,
                Evidence,
                found,
                {"kind": EvidenceKind.LINK, "url": ev["url"], "note": ev["note"]},
                create=lambda data, uploader=uploader, initiative=initiative: evidence_create(
                    user=None, initiative=initiative, data=data, uploaded_by=uploader
                ),
                update=lambda obj, data: evidence_update(user=None, evidence=obj, data=data),
            )
    write_register(demo.register, banks, door_for=lambda entry: _Door(demo.file, entry), record=result.record)
    return result


class _Door:
    """Calls a service for one entry of a seed file; a refusal becomes a ``SeedDataError`` naming the file, the
    entry and the field (the whole seed is one transaction, so nothing of it stays written)."""

    def __init__(self, file: str, entry: str):
        self.file, self.entry = file, entry

    def __call__(self, func, *args, **kwargs):
        try:
            obj = func(*args, **kwargs)
        except ServiceError as exc:
            issues = [
                SeedIssue(self.file, self.entry, name, message)
                for name, messages in (exc.fields or {"-": [exc.message]}).items()
                for message in messages
            ]
            raise SeedDataError(issues) from exc
        update_change_reason(obj, CHANGE_REASON)
        return obj


def _differs(obj: models.Model, values: dict) -> dict:
    return {name: value for name, value in values.items() if getattr(obj, name) != value}


def _write_row(result, writer: _Door, model, found, values: dict, *, create, update):
    """Create through ``create``, or update through ``update`` only the values that differ; count the outcome."""
    if found is None:
        obj, outcome = writer(create, values), CREATED
    else:
        changed = _differs(found, values)
        obj, outcome = (writer(update, found, changed), UPDATED) if changed else (found, UNCHANGED)
    result.record(model, outcome)
    return obj


def _link_differs(link: InitiativePartner, values: dict) -> bool:
    """Whether a partner row of the file changes the link (services the row leaves out stay as they are)."""
    if (link.role, link.note) != (values["role"], values["note"]):
        return True
    return "services" in values and link.services != values["services"]


def _write_initiative(result, writer: _Door, item: dict, bank: Bank, found, links: dict) -> Initiative:
    """One demo initiative through ``initiative_create`` / ``initiative_update``: its values, owner, scenario
    types and partner links. Links the file does not list are kept (a seed never deletes)."""
    current = links.get(found.pk, {}) if found is not None else {}
    partners = {key: {"partner": key, "role": link.role, "note": link.note} for key, link in current.items()}
    for link in item["partners"]:
        key = link["partner"]
        old = current.get(key)
        outcome = CREATED if old is None else UPDATED if _link_differs(old, link["values"]) else UNCHANGED
        result.record(InitiativePartner, outcome)
        partners[key] = {"partner": key, **link["values"]}
    data = {**item["values"], **item["facts"], "pillar": item["pillar"], "owner": item["owner"] or None}
    if found is None:
        data.update(
            bank=bank.pk,
            code=item["code"],
            scenario_types=item["scenario_types"],
            partners=[*partners.values()],
        )
        result.record(Initiative, CREATED)
        return writer(initiative_create, user=None, data=data)
    changed = _differs(found, item["values"])
    if found.pillar_id != item["pillar"]:
        changed["pillar"] = item["pillar"]
    if (found.owner.username if found.owner else None) != data["owner"]:
        changed["owner"] = data["owner"]
    if {t.key for t in found.scenario_types.all()} != set(item["scenario_types"]):
        changed["scenario_types"] = item["scenario_types"]
    if any(_link_differs(current[key], p) if key in current else True for key, p in partners.items()):
        changed["partners"] = [*partners.values()]
    changed.update(_facts_differ(found, item["facts"]))
    result.record(Initiative, UPDATED if changed else UNCHANGED)
    return writer(initiative_update, user=None, initiative=found, data=changed) if changed else found


def _facts_differ(found: Initiative, facts: dict) -> dict:
    """The version 2 facts the file states that the stored initiative does not have yet."""
    changed = {}
    if "credit_route_agency" in facts:
        stored = found.credit_route_agency.key if found.credit_route_agency_id else None
        if stored != facts["credit_route_agency"]:
            changed["credit_route_agency"] = facts["credit_route_agency"]
    if "data_categories" in facts:
        stored = {(c.category, c.lawful_basis, c.separate_consent) for c in found.data_categories.all()}
        wanted = {
            (c.get("category"), c.get("lawful_basis", ""), bool(c.get("separate_consent", False)))
            for c in facts["data_categories"]
            if isinstance(c, dict)
        }
        if stored != wanted:
            changed["data_categories"] = facts["data_categories"]
    return changed


def _write_demo_admin(username: str, password: str | None) -> SeedResult:
    """The demo superuser: created once; an existing one keeps its password."""
    result = SeedResult()
    users = {u.username: u for u in get_user_model().objects.filter(username=username)}
    values = {"email": f"{username}@example.com", "is_staff": True, "is_superuser": True}
    _upsert_user(result, users, username, values, password)
    return result


# --- Entry points ------------------------------------------------------------------------------------
def seed_reference_data(
    *, taxonomy_path: Path | None = None, partners_path: Path | None = None
) -> SeedResult:
    """Validate, then upsert the pillars, scenario types, tech partners and their figures."""
    reference = load_reference_data(taxonomy_path=taxonomy_path, partners_path=partners_path)
    with transaction.atomic():
        return _write_reference(reference)


def seed_demo_data(*, path: Path | None = None, password: str | None = None) -> SeedResult:
    """Validate, then upsert the illustrative banks, users, memberships and initiatives.

    The reference data must already be in the database. ``password`` is set on the users this call creates
    (existing users keep theirs); without one, new users get an unusable password.
    """
    demo = load_demo_data(path=path)
    with transaction.atomic():
        return _write_demo(demo, password)


def seed_all(
    *,
    demo: bool = True,
    password: str | None = None,
    admin_username: str | None = DEMO_ADMIN_USERNAME,
    taxonomy_path: Path | None = None,
    partners_path: Path | None = None,
    demo_path: Path | None = None,
) -> SeedResult:
    """Reference data, then (unless ``demo`` is false) demo data and the demo superuser, in one transaction.

    Every file is validated before anything is written, so a bad demo file leaves the reference data
    untouched too.
    """
    reference = load_reference_data(taxonomy_path=taxonomy_path, partners_path=partners_path)
    demo_data = load_demo_data(path=demo_path, reference=reference) if demo else None
    with transaction.atomic():
        result = _write_reference(reference)
        if demo_data is not None:
            result.merge(_write_demo(demo_data, password))
            if admin_username:
                result.merge(_write_demo_admin(admin_username, password))
    return result
