"""A bank's data round trip: one portable, deterministic archive of one bank, and its restore elsewhere.

``bank_export(code)`` writes the archive of one bank; ``bank_import(path)`` restores it into another installation
that holds the same reference data, or refuses with a message naming every problem and writes nothing. The doors
are ``manage.py export_bank CODE [--output FILE]`` and ``manage.py import_bank FILE [--dry-run]``.

The archive format (``format_version`` 1)
=========================================
A zip file. Every member has the same header date (1980-01-01 00:00), mode 0644, Unix as its system and
deflate (level 6) as its compression; members appear in a fixed order:

``data/<app>.<model>.jsonl``
    One member per model (``auth.user`` first, then the models in the order the import writes them — see
    ``archive_parts()``), one JSON object per line: keys sorted, compact separators, UTF-8 (no ``\\u`` escapes).
    Rows keep the order of their database ids in the source — the order they were created in, which the service
    itself uses to break ties (a KPI list, a report's ranking) — and the import inserts them in that order, so the
    new ids keep it too. A score job (a UUID) is ordered by its creation time, a current score by its initiative.

    * ``id`` is **archive-local**: 1, 2, 3 … in that order, per model; other rows refer to it (``"initiative": 3``).
      A score job keeps its UUID as its ``id``. No database id appears in the archive's fields (free text, such
      as a failed job's error message, is carried as it was written).
    * The bank itself is implied: a row's ``bank`` field is left out and set to the imported bank.
    * Users are named by ``username`` (``auth.user`` carries username, first and last name, e-mail and the staff
      flag of every user the bank's rows name: members, owners, authors, approvers, raters, uploaders …).
    * Reference data is named by its natural key, never carried: a pillar, scenario type or partner by its key;
      a rubric version by ``[rubric code, number]``; a criterion by ``[rubric code, number, criterion key]``; a
      checklist item by ``[checklist URN, version, item key]``; a regulatory limit rule by ``[key, version]`` (a
      bank's own limit rules are carried, and referred to by their archive-local id).
    * Values: decimals as strings exactly as stored (``"43.0000"``), dates ``YYYY-MM-DD``, times in UTC with
      microseconds (``2024-10-01T08:00:00.000000Z``), JSON fields as they are, many-to-many fields as sorted lists.
    * A file field is ``{"name", "member", "sha256", "bytes"}`` (or null): ``name`` the stored file's own name
      (with its random part), ``member`` where its bytes are in the archive.
``files/<app>.<model>/<id>/<name>``
    The bytes of each stored file (evidence), read from the storage.
``reference.json``
    Every piece of reference data the rows name, by kind, with what the import compares: a rubric version's
    ``source_checksum`` and a digest of its method and criteria, a checklist item's version checksum, a regulatory
    limit's terms, a scenario type's pillar, a partner's kind and a digest of its figures and licences.
``manifest.json`` (last)
    ``format``, ``format_version``, ``source`` (the bank's code and the last migration of each app), the policies
    (``history``, ``users``, ``not_carried`` models with the reason), and ``members``: name, model, row count,
    fields, size and SHA-256 of every other member, in archive order.

Deterministic: the same data gives a byte-identical archive. Nothing in it depends on when or where it was written
— there is no export time (the command prints it; the file's own time records it) and no host name — so
export → import → export gives the same bytes. Deflate output depends on the zlib build; two installations with
different zlib builds may compress the same members differently, while the members and their hashes stay equal.

What is carried
---------------
The bank with its profile, memberships (username, role, receives reports), initiatives (every field; scenario
types; partner links with role, note and licensed services; personal-data categories), KPIs and observations,
evidence (links, and files with their bytes), due-diligence records, bank figures, partner exposures, the bank's
own limit rules and limit breaches, assessments (status, times, author, approver, returner, raters) with their
ratings, checklist answers, finished score jobs, scores (total, tier, gates, confidence, breakdown with its stored
inputs, inputs hash, computed at), current scores and reports (payload, rendered HTML, status and times).

Not carried, on purpose (``manifest.json`` › ``not_carried``): simple-history's historical records (each row the
import restores gets one "created" record dated at the import, with the reason "imported from an archive"; KPIs and
observations get the record their service writes), the source's sign-on set-up (directory group mappings, which
memberships a mapping made, the sign-in audit: the installation's, not the bank's), score job chunks (the execution plan of a finished job; the job keeps its counts), and score jobs that are not
finished (queued or running: the source's workers own them; the export names them so the operator can ask for a
re-score; a score such a job already stored keeps no link to it). A score made by a job across banks (publishing a
rubric version re-scores every bank) has no job in the archive either.

Import
------
Refused, with every problem named and nothing written: a damaged archive (not a zip, a missing or extra member,
a size or SHA-256 that does not match the manifest, a row count that does not match), an unknown format or format
version, a model or field this installation does not know, a bank code that already exists, a score job id that
already exists, and missing or different reference data (a rubric version or checklist whose checksum differs, a
regulatory limit with other terms, a scenario type of another pillar). A partner whose figures or licences differ
is imported with a warning: stored scores are carried as they are, but a re-score here may differ.

Users: a username that exists here is linked as it is (same username, same person); a missing one is created
**inactive and without a usable password** — history (authors, approvers, owners) keeps its people, and nobody can
sign in until an administrator activates the account and sets a password. Nobody becomes a superuser.

Everything is written in one transaction. KPIs and observations go through their services
(``partnerships.services.kpis``), which neither stamp nor refuse history. Every other row is written by the restore
functions here, because the services would alter or refuse history: ``initiative_create``, ``evidence_create``,
``due_diligence_create``, ``exposure_create``, ``bank_figures_create`` and the checklist service stamp their times
as now and the acting user as author (and evidence gets a new random file name); the assessment services create
drafts only and refuse ratings of a submitted or approved assessment; scores are only ever computed, never written
from outside; banks, memberships, users, score jobs and reports have no creation service. The restore functions
still check each row with the model's own validation (``full_clean``: choices, lengths, ``clean()``) and the
database's constraints, keep every recorded time (``auto_now`` fields are put back after the insert), and name the
member, row and field of anything refused. Stored files are written under the storage's layout for the new rows
(``evidence/<bank id>/<initiative id>/<stored name>``), keeping their stored names (a name already taken there gets
the storage's suffix, never an overwrite); they are deleted again if the import fails.

A score's inputs hash names the database ids of its rubric version and assessment (``scoring.services.compute``);
the stored hash is carried as it is, so re-scoring an imported initiative stores one new Score (same total, tier and
breakdown) under this installation's ids. Report payloads name initiatives and KPIs by id: the archive carries them
as archive-local ids and the import maps them to the new ids, so the next report's movers compare like with like.

Other apps add their models through the ``partnerships.signals.bank_archive_parts`` signal (scoring answers with
``scoring.services.archive``), because ``partnerships`` never imports ``scoring``.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import os
import posixpath
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import DatabaseError, connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils.translation import gettext as _

from ..api.token_cache import token_cache_forget_all
from ..errors import ServiceError
from ..models import (
    KPI,
    Bank,
    BankPeriodFigures,
    Evidence,
    Initiative,
    InitiativeDataCategory,
    InitiativePartner,
    KPIObservation,
    LimitBreach,
    LimitRule,
    Membership,
    MonitoringEvent,
    PartnerDueDiligence,
    PartnerExposure,
    PartnershipContract,
    Pillar,
    ReassessmentPolicy,
    ScenarioType,
    TechPartner,
)

FORMAT = "partnership-scorecard-bank-archive"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
MANIFEST = "manifest.json"
REFERENCE = "reference.json"
USERS_MEMBER = "data/auth.user.jsonl"
USER_FIELDS = ("username", "first_name", "last_name", "email", "is_staff")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_LEVEL = 6
IMPORT_REASON = "imported from an archive"
BATCH = 500

HISTORY_POLICY = (
    "not carried: simple-history's records stay in the source; the import writes one 'created' record per "
    "restored row, dated at the import"
)
USERS_POLICY = (
    "named by username; the import links a user who exists and creates a missing one inactive, without a usable "
    "password and never as a superuser"
)


class ArchiveError(Exception):
    """A refused export or import; ``problems`` lists every reason, each naming what it is about."""

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class RegistryError(Exception):
    """A programming error: a model or field the archive does not know how to carry (see the completeness test)."""


# --- The registry: what the archive carries, what it names, what it leaves out ---------------------------------
@dataclass(frozen=True)
class ReferenceKind:
    """Reference data the archive names by a natural key but does not carry; the import requires it here.

    ``key`` gives an object's natural key (a string or a list, JSON as it is); ``fetch`` every candidate object
    (reference tables are small); ``describe`` a key for messages; ``fingerprint`` what the import compares: a
    difference refuses the import, or only warns when ``warn_only``.
    """

    name: str
    model: type[models.Model]
    key: Callable[[Any], Any]
    fetch: Callable[[], Iterable[models.Model]]
    describe: Callable[[Any], str]
    fingerprint: Callable[[Any], dict] | None = None
    warn_only: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """One model the archive carries: which rows are the bank's, how they are ordered, and any special handling.

    ``order``: for a model without an integer id, the archive fields that order its rows (the others keep the
    order of their ids). ``m2m``: many-to-many fields carried as sorted lists. ``outside_to_null``: foreign keys that
    may point outside the archive (a score's job across banks), carried as null. ``export_hook(ctx, row, source)``
    and ``import_hook(ctx, row) -> row`` adjust a row (database ids inside JSON); ``after_import(ctx, objects,
    rows)`` runs once the model's rows have their ids here. ``create(ctx, values, row)`` writes one row through its
    service instead of the restore; ``service_fields`` are the archive fields that service writes (the registry
    check refuses a spec whose rows carry a field its service would drop).
    """

    model: type[models.Model]
    rows: Callable[[Bank], models.QuerySet]
    order: tuple[str, ...] = ()
    m2m: tuple[str, ...] = ()
    outside_to_null: tuple[str, ...] = ()
    export_hook: Callable | None = None
    import_hook: Callable | None = None
    after_import: Callable | None = None
    create: Callable | None = None
    service_fields: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def member(self) -> str:
        return f"data/{self.model._meta.label_lower}.jsonl"


@dataclass
class ArchivePart:
    """What one app contributes: its models (in write order), reference kinds, models left out (with the reason)
    and ``unfinished(bank)`` hooks naming work in flight the export leaves behind (for the command to print)."""

    specs: list[ModelSpec] = field(default_factory=list)
    references: list[ReferenceKind] = field(default_factory=list)
    not_carried: dict[str, str] = field(default_factory=dict)
    unfinished: list[Callable[[Bank], list[str]]] = field(default_factory=list)


def _partner_fingerprint(partner: TechPartner) -> dict:
    figures = [
        [m.metric, m.segment, m.part_of, m.period, m.period_end.isoformat(), str(m.value), m.unit]
        for m in partner.metrics.all()
    ]
    licences = [
        [x.licence_type, x.number, x.issuer, x.valid_until.isoformat() if x.valid_until else ""]
        for x in partner.licences.all()
    ]
    blob = json.dumps([sorted(figures), sorted(licences)], ensure_ascii=False, separators=(",", ":"))
    return {"kind": partner.kind, "figures": hashlib.sha256(blob.encode()).hexdigest()}


def _limit_rule_terms(rule: LimitRule) -> dict:
    return {
        "kind": rule.kind,
        "threshold_percent": str(rule.threshold_percent),
        "warning_percent": None if rule.warning_percent is None else str(rule.warning_percent),
        "products": sorted(rule.products or []),
        "bank_types": sorted(rule.bank_types or []),
        "valid_from": rule.valid_from.isoformat(),
        "valid_until": rule.valid_until.isoformat() if rule.valid_until else None,
    }


def _create_kpi(ctx: ImportContext, values: dict, row: dict) -> KPI:
    from .kpis import KPI_FIELDS, kpi_create

    data = {
        n: values[n] for n in KPI_FIELDS if n in values
    }  # a field the archive lacks: the service's default
    return kpi_create(user=None, initiative=values["initiative_id"], data=data)


def _create_observation(ctx: ImportContext, values: dict, row: dict) -> KPIObservation:
    from .kpis import OBSERVATION_FIELDS, observation_create

    data = {n: values[n] for n in OBSERVATION_FIELDS if n in values}
    return observation_create(user=None, kpi=values["kpi_id"], data=data)


def _kpi_service_fields() -> tuple[str, ...]:
    from .kpis import KPI_FIELDS, OBSERVATION_FIELDS

    return (*KPI_FIELDS, "initiative"), (*OBSERVATION_FIELDS, "kpi")


def _partnerships_part() -> ArchivePart:
    """The partnerships app's own models, in the order the import writes them, and its reference data."""

    def for_bank(model):
        return lambda bank: model.objects.for_bank(bank.pk)

    kpi_fields, observation_fields = _kpi_service_fields()
    specs = [
        ModelSpec(Bank, lambda bank: Bank.objects.filter(pk=bank.pk)),
        ModelSpec(Membership, for_bank(Membership)),
        ModelSpec(Initiative, for_bank(Initiative), m2m=("scenario_types",)),
        ModelSpec(InitiativePartner, for_bank(InitiativePartner)),
        ModelSpec(InitiativeDataCategory, for_bank(InitiativeDataCategory)),
        ModelSpec(KPI, for_bank(KPI), create=_create_kpi, service_fields=kpi_fields),
        ModelSpec(
            KPIObservation,
            for_bank(KPIObservation),
            create=_create_observation,
            service_fields=observation_fields,
        ),
        ModelSpec(Evidence, for_bank(Evidence)),
        ModelSpec(PartnerDueDiligence, for_bank(PartnerDueDiligence)),
        ModelSpec(BankPeriodFigures, for_bank(BankPeriodFigures)),
        ModelSpec(PartnerExposure, for_bank(PartnerExposure)),
        # Only the bank's own limits: the regulator's (no bank) are reference data, named by key and version.
        ModelSpec(LimitRule, lambda bank: LimitRule.objects.filter(bank_id=bank.pk)),
        ModelSpec(LimitBreach, for_bank(LimitBreach)),
        # The partnership lifecycle (issue 14, docs/lifecycle.md).
        ModelSpec(ReassessmentPolicy, for_bank(ReassessmentPolicy)),
        ModelSpec(PartnershipContract, for_bank(PartnershipContract)),
        ModelSpec(MonitoringEvent, for_bank(MonitoringEvent)),
    ]
    references = [
        ReferenceKind(
            "pillar",
            Pillar,
            key=lambda p: p.key,
            fetch=lambda: Pillar.objects.all(),
            describe=lambda k: _("pillar “%(key)s”") % {"key": k},
        ),
        ReferenceKind(
            "scenario_type",
            ScenarioType,
            key=lambda t: t.key,
            fetch=lambda: ScenarioType.objects.all(),
            describe=lambda k: _("scenario type “%(key)s”") % {"key": k},
            fingerprint=lambda t: {"pillar": t.pillar_id},
        ),
        ReferenceKind(
            "partner",
            TechPartner,
            key=lambda p: p.key,
            fetch=lambda: TechPartner.objects.prefetch_related("metrics", "licences"),
            describe=lambda k: _("partner “%(key)s”") % {"key": k},
            fingerprint=_partner_fingerprint,
            warn_only=True,
        ),
        ReferenceKind(
            "limit_rule",
            LimitRule,
            key=lambda r: [r.key, r.version],
            fetch=lambda: LimitRule.objects.filter(bank__isnull=True),
            describe=lambda k: (
                _("regulatory limit “%(key)s” version %(version)s") % {"key": k[0], "version": k[1]}
            ),
            fingerprint=_limit_rule_terms,
        ),
    ]
    not_carried = {
        "partnerships.ReassessmentReminder": (
            "the log of the weekly re-assessment reminders the source installation sent; the target sends its own"
        ),
        # Sign-on (partnerships.signon): the source installation's own directory and identity-provider set-up.
        "partnerships.GroupMapping": (
            "a directory or identity-provider group of the source installation; map the target's own groups there"
        ),
        "partnerships.MappedMembership": (
            "marks a membership as made by the source's group mapping; the membership itself is carried and counts "
            "as given by hand in the target, where a sign-in never changes or removes it"
        ),
        "partnerships.SignOnEvent": "the source installation's sign-in audit, not the bank's data",
        # Webhooks: an endpoint holds a signing secret, which never leaves the installation in an archive; its
        # managers register the endpoints again in the target (a new secret each). The delivery log is the source's.
        "partnerships.WebhookEndpoint": (
            "an integrator's address with its signing secret, which an archive never carries; register it again in "
            "the target, which gives it a new secret"
        ),
        "partnerships.WebhookDelivery": "the source installation's log of events sent to the bank's endpoints",
    }
    return ArchivePart(specs=specs, references=references, not_carried=not_carried)


def archive_parts() -> ArchivePart:
    """Every app's part, merged: partnerships first, then what other apps answer to ``bank_archive_parts``."""
    from ..signals import bank_archive_parts

    merged = _partnerships_part()
    for _receiver, part in bank_archive_parts.send(sender=ArchivePart):
        if part is None:
            continue
        merged.specs.extend(part.specs)
        merged.references.extend(part.references)
        merged.not_carried.update(part.not_carried)
        merged.unfinished.extend(part.unfinished)
    merged.not_carried.setdefault("simple_history", HISTORY_POLICY)
    return merged


# --- Fields: how each one is carried ----------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldPlan:
    name: str  # the key in the archive row
    kind: (
        str  # id, uuid_id, bank, user, local, ref, local_or_ref, plain, decimal, date, datetime, json, uuid,
    )
    # file, m2m_user, m2m_local, m2m_ref
    field: Any
    related: str = ""  # label of the related model, for archive-local references
    reference: str = ""  # reference kind name


def _field_kind(f) -> str:
    return {
        "DecimalField": "decimal",
        "DateTimeField": "datetime",
        "DateField": "date",
        "JSONField": "json",
        "UUIDField": "uuid",
        "FileField": "file",
    }.get(f.get_internal_type(), "plain")


def _relation_plan(
    spec: ModelSpec, f, carried: set[str], refs: dict[str, ReferenceKind], *, many: bool
) -> FieldPlan:
    related = f.related_model
    label = related._meta.label
    ref = next((r for r in refs.values() if r.model is related), None)
    if related is Bank and not many:
        return FieldPlan(f.name, "bank", f)
    if label == get_user_model()._meta.label:
        return FieldPlan(f.name, "m2m_user" if many else "user", f)
    if label in carried and ref is not None and not many:
        return FieldPlan(f.name, "local_or_ref", f, related=label, reference=ref.name)
    if label in carried:
        return FieldPlan(f.name, "m2m_local" if many else "local", f, related=label)
    if ref is not None:
        return FieldPlan(f.name, "m2m_ref" if many else "ref", f, reference=ref.name)
    raise RegistryError(
        f"{spec.label}.{f.name} refers to {label}, which the bank archive neither carries nor names as reference "
        "data: add it to an ArchivePart (partnerships.services.archive)"
    )


def field_plans(spec: ModelSpec, parts: ArchivePart) -> list[FieldPlan]:
    """How every field of the spec's model is carried; RegistryError for a field the archive cannot carry."""
    carried = {s.label for s in parts.specs}
    refs = {r.name: r for r in parts.references}
    meta = spec.model._meta
    plans: list[FieldPlan] = []
    for f in meta.concrete_fields:
        if f.primary_key and not f.is_relation:
            plans.append(FieldPlan("id", "uuid_id" if f.get_internal_type() == "UUIDField" else "id", f))
        elif f.is_relation:
            plans.append(_relation_plan(spec, f, carried, refs, many=False))
        else:
            plans.append(FieldPlan(f.name, _field_kind(f), f))
    for f in meta.many_to_many:
        through = f.remote_field.through
        if not through._meta.auto_created:
            if through._meta.label not in carried:
                raise RegistryError(
                    f"{spec.label}.{f.name}: its through model {through._meta.label} is not carried"
                )
            continue  # carried as rows of their own
        if f.name not in spec.m2m:
            raise RegistryError(
                f"{spec.label}.{f.name}: a many-to-many field the bank archive does not carry"
            )
        plans.append(_relation_plan(spec, f, carried, refs, many=True))
    return plans


def archive_fields(spec: ModelSpec, parts: ArchivePart) -> list[str]:
    """The keys of the spec's rows in the archive (the bank is implied)."""
    return sorted(p.name for p in field_plans(spec, parts) if p.kind != "bank")


def registry_problems(parts: ArchivePart | None = None) -> list[str]:
    """Everything the registry cannot carry (the completeness test asserts there is nothing)."""
    parts = parts or archive_parts()
    problems = []
    position = {spec.label: n for n, spec in enumerate(parts.specs)}
    for n, spec in enumerate(parts.specs):
        try:
            plans = field_plans(spec, parts)
        except RegistryError as exc:
            problems.append(str(exc))
            continue
        for plan in plans:  # a row refers to rows written before it (the import writes the specs in order)
            if plan.related and position[plan.related] >= n:
                problems.append(
                    f"{spec.label}.{plan.name}: {plan.related} must come before it in the registry"
                )
        if spec.create is not None:
            dropped = sorted(set(archive_fields(spec, parts)) - {"id"} - set(spec.service_fields))
            if dropped:  # the service would silently drop them: write the model through the restore instead
                problems.append(f"{spec.label}: its creation service does not write {', '.join(dropped)}")
        elif spec.model._meta.pk.get_internal_type() not in (
            "AutoField",
            "BigAutoField",
            "UUIDField",
            "OneToOneField",
        ):
            problems.append(f"{spec.label}: a primary key the restore does not know")
    return problems


# --- Values ---------------------------------------------------------------------------------------------------------
def _utc(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_utc(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)


def dumps_line(row: Any) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _sortable(value) -> tuple:
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4, dumps_line(value))


def _json_bytes(document: dict) -> bytes:
    return (json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(dumps_line(row) + "\n" for row in rows).encode("utf-8")


# --- Export ---------------------------------------------------------------------------------------------------------
class ExportContext:
    """Maps the source's ids to archive-local ids and natural keys while the rows are written."""

    def __init__(self, bank: Bank, parts: ArchivePart):
        self.bank = bank
        self.parts = parts
        self.refs = {r.name: r for r in parts.references}
        self.local: dict[str, dict[Any, Any]] = {}  # label -> {source pk: archive id}
        self._ref_keys: dict[tuple[str, str], dict[Any, Any]] = {}  # (kind, field) -> {stored value: key}
        self._ref_objects: dict[tuple[str, str], dict[Any, Any]] = {}
        self.used_refs: dict[str, dict[str, Any]] = {}  # kind -> {key as JSON: object}
        self._usernames: dict[int, str] | None = None
        self.usernames: set[str] = set()
        self.files: list[tuple[str, Any, str]] = []  # (member, storage, stored name)

    def local_id(self, label: str, pk) -> Any:
        """The archive-local id of a carried row (None when the row is not in the archive)."""
        return self.local.get(label, {}).get(pk)

    def username(self, pk: int | None) -> str | None:
        if pk is None:
            return None
        if self._usernames is None:
            self._usernames = dict(get_user_model().objects.values_list("pk", "username"))
        name = self._usernames[pk]
        self.usernames.add(name)
        return name

    def reference(self, kind: str, value, *, target_field: str = "pk"):
        """The natural key of a reference object, given the stored value of a foreign key to it."""
        if value is None:
            return None
        cache = (kind, target_field)
        if cache not in self._ref_keys:
            ref = self.refs[kind]
            keys, objects = {}, {}
            for obj in ref.fetch():
                stored = getattr(obj, target_field)
                keys[stored], objects[stored] = ref.key(obj), obj
            self._ref_keys[cache], self._ref_objects[cache] = keys, objects
        if value not in self._ref_keys[cache]:
            raise ArchiveError(
                _("The bank refers to %(what)s %(value)s, which is not reference data here.")
                % {"what": kind, "value": value}
            )
        key = self._ref_keys[cache][value]
        self.used_refs.setdefault(kind, {})[dumps_line(key)] = self._ref_objects[cache][value]
        return key


def _encode(ctx: ExportContext, spec: ModelSpec, plan: FieldPlan, value):
    kind = plan.kind
    if value is None:
        return None
    if kind == "plain" or kind == "json":
        return value
    if kind == "decimal":
        return str(value)
    if kind == "date":
        return value.isoformat()
    if kind == "datetime":
        return _utc(value)
    if kind == "uuid":
        return str(value)
    if kind in ("user", "m2m_user"):
        return ctx.username(value)
    target_field = plan.field.target_field.attname
    if kind in ("ref", "m2m_ref"):
        return ctx.reference(plan.reference, value, target_field=target_field)
    local = ctx.local_id(plan.related, value)
    if local is not None:
        return local
    if kind == "local_or_ref":
        return ctx.reference(plan.reference, value, target_field=target_field)
    if plan.name in spec.outside_to_null:
        return None
    raise ArchiveError(
        _("%(model)s.%(field)s refers to a %(related)s row that is not the bank %(bank)s's.")
        % {"model": spec.label, "field": plan.name, "related": plan.related, "bank": ctx.bank.code}
    )


def _m2m_values(plan: FieldPlan, pks: list) -> dict[Any, list]:
    """{source pk: [stored values of the related rows]} for one auto-created many-to-many field."""
    f = plan.field
    through = f.remote_field.through
    source, target = f.m2m_field_name(), f.m2m_reverse_field_name()
    out: dict[Any, list] = {pk: [] for pk in pks}
    for owner, related in through.objects.filter(**{f"{source}_id__in": pks}).values_list(
        f"{source}_id", f"{target}_id"
    ):
        out[owner].append(related)
    return out


def _export_spec(ctx: ExportContext, spec: ModelSpec) -> list[dict]:
    plans = field_plans(spec, ctx.parts)
    scalar = [p for p in plans if not p.kind.startswith("m2m_")]
    many = [p for p in plans if p.kind.startswith("m2m_")]
    pk_name = spec.model._meta.pk.attname
    sources = list(spec.rows(ctx.bank).order_by().values(*[p.field.attname for p in scalar]))
    m2m = {p.name: _m2m_values(p, [s[pk_name] for s in sources]) for p in many}
    drafts = []
    for source in sources:
        row = {}
        for plan in scalar:
            if plan.kind in ("bank", "id", "uuid_id"):
                continue
            value = source[plan.field.attname]
            # A file's entry is made once the row has its id (below).
            row[plan.name] = None if plan.kind == "file" else _encode(ctx, spec, plan, value)
        for plan in many:
            row[plan.name] = sorted(
                (_encode(ctx, spec, plan, v) for v in m2m[plan.name][source[pk_name]]), key=_sortable
            )
        drafts.append((row, source))
    # An integer id: the source's order of ids (creation order). Otherwise the spec's order, then the whole row,
    # then the id (a tie between rows equal in every carried field).
    if spec.model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField"):
        drafts.sort(key=lambda d: d[1][pk_name])
    else:
        drafts.sort(
            key=lambda d: (
                tuple(_sortable(d[0].get(name)) for name in spec.order),
                dumps_line(d[0]),
                str(d[1][pk_name]),
            )
        )
    id_plan = next((p for p in plans if p.kind in ("id", "uuid_id")), None)
    local = ctx.local.setdefault(spec.label, {})
    for number, (row, source) in enumerate(drafts, start=1):
        if id_plan is not None:
            row["id"] = str(source[pk_name]) if id_plan.kind == "uuid_id" else number
            local[source[pk_name]] = row["id"]
    for row, source in drafts:
        for plan in scalar:
            if plan.kind == "file":
                row[plan.name] = _export_file(ctx, spec, plan, row, source[plan.field.attname])
        if spec.export_hook is not None:
            spec.export_hook(ctx, row, source)
    return [row for row, _source in drafts]


def _export_file(ctx: ExportContext, spec: ModelSpec, plan: FieldPlan, row: dict, stored: str | None):
    if not stored:
        return None
    storage = plan.field.storage
    name = posixpath.basename(stored)
    member = f"files/{spec.model._meta.label_lower}/{row['id']}/{name}"
    digest, size = hashlib.sha256(), 0
    try:
        with storage.open(stored, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise ArchiveError(
            _(
                "%(model)s %(id)s: the stored file %(name)s cannot be read (%(error)s); restore it from the backup "
                "before exporting."
            )
            % {"model": spec.label, "id": row["id"], "name": stored, "error": exc.__class__.__name__}
        ) from exc
    ctx.files.append((member, storage, stored))
    return {"name": name, "member": member, "sha256": digest.hexdigest(), "bytes": size}


def _zip_info(name: str) -> zipfile.ZipInfo:
    """A member header that depends on nothing but the name: fixed date, mode, system and compression."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    return info


@dataclass
class ExportResult:
    path: Path
    bank: str
    counts: dict[str, int]
    files: int
    sha256: str
    unfinished: list[str]


def _schema() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder.Migration.objects.filter(
        app__in=["partnerships", "scoring"]
    ).values_list("app", "name"):
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def _reference_document(ctx: ExportContext) -> dict:
    kinds = {}
    for name in sorted(ctx.used_refs):
        ref = ctx.refs[name]
        entries = []
        for key_text in sorted(ctx.used_refs[name]):
            obj = ctx.used_refs[name][key_text]
            entry = {"key": ref.key(obj)}
            if ref.fingerprint is not None:
                entry["fingerprint"] = ref.fingerprint(obj)
            entries.append(entry)
        kinds[name] = entries
    return {"kinds": kinds}


def bank_export(code: str, output: str | Path) -> ExportResult:
    """Write the archive of the bank ``code`` to ``output``: a temporary file renamed into place once complete.

    Reads in one REPEATABLE READ snapshot when called outside a transaction, so rows written meanwhile cannot make
    the archive disagree with itself. Raises ArchiveError (an unknown bank, an unreadable stored file).
    """
    bank = Bank.objects.filter(code=code).first()
    if bank is None:
        known = ", ".join(Bank.objects.order_by("code").values_list("code", flat=True)[:20]) or "—"
        raise ArchiveError(
            _("No bank has the code “%(code)s” (known: %(known)s).") % {"code": code, "known": known}
        )
    if connection.in_atomic_block:
        return _export(bank, Path(output))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _export(bank, Path(output))


def _export(bank: Bank, output: Path) -> ExportResult:
    parts = archive_parts()
    ctx = ExportContext(bank, parts)
    data = [(spec, _export_spec(ctx, spec)) for spec in parts.specs]
    user_label = get_user_model()._meta.label
    users = [
        dict(zip(USER_FIELDS, values, strict=True))
        for values in get_user_model()
        .objects.filter(username__in=ctx.usernames)
        .order_by("username")
        .values_list(*USER_FIELDS)
    ]
    members = [
        (
            USERS_MEMBER,
            _jsonl(users),
            {"model": user_label, "rows": len(users), "fields": sorted(USER_FIELDS)},
        )
    ]
    counts = {user_label: len(users)}
    for spec, rows in data:
        members.append(
            (
                spec.member,
                _jsonl(rows),
                {"model": spec.label, "rows": len(rows), "fields": archive_fields(spec, parts)},
            )
        )
        counts[spec.label] = len(rows)
    members.append((REFERENCE, _json_bytes(_reference_document(ctx)), {}))
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
    os.close(handle)
    try:
        entries = []
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as archive:
            for name, payload, meta in members:
                archive.writestr(_zip_info(name), payload, compresslevel=ZIP_LEVEL)
                entries.append(
                    {
                        "name": name,
                        **meta,
                        "bytes": len(payload),
                        "sha256": hashlib.sha256(payload).hexdigest(),
                    }
                )
            for member, storage, stored in sorted(ctx.files, key=lambda f: f[0]):
                entries.append(_write_file_member(archive, member, storage, stored))
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "source": {"bank": bank.code, "schema": _schema()},
                "history": HISTORY_POLICY,
                "users": USERS_POLICY,
                "not_carried": dict(sorted(parts.not_carried.items())),
                "counts": dict(sorted(counts.items())),
                "members": entries,
            }
            archive.writestr(_zip_info(MANIFEST), _json_bytes(manifest), compresslevel=ZIP_LEVEL)
        os.chmod(temp, 0o644)
        os.replace(temp, output)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    digest = hashlib.sha256()
    with output.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    unfinished = [line for hook in parts.unfinished for line in hook(bank)]
    return ExportResult(output, bank.code, counts, len(ctx.files), digest.hexdigest(), unfinished)


def _write_file_member(archive: zipfile.ZipFile, member: str, storage, stored: str) -> dict:
    info = _zip_info(member)
    info._compresslevel = ZIP_LEVEL  # the same level as writestr's (zipfile reads it from the header object)
    digest, size = hashlib.sha256(), 0
    with storage.open(stored, "rb") as source, archive.open(info, "w") as target:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
            target.write(chunk)
    return {"name": member, "bytes": size, "sha256": digest.hexdigest()}


# --- Import: reading and checking the archive ------------------------------------------------------------------------
class ArchiveReader:
    """An archive opened for import: the manifest checked, every member's size and SHA-256 verified, rows parsed."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.where = self.path.name
        try:
            self.zip = zipfile.ZipFile(self.path)
        except FileNotFoundError as exc:
            raise ArchiveError(_("%(file)s: no such file.") % {"file": self.path}) from exc
        except (zipfile.BadZipFile, OSError) as exc:
            raise ArchiveError(
                _("%(file)s is not a bank archive (not a readable zip file: %(error)s).")
                % {"file": self.where, "error": exc}
            ) from exc
        self.manifest = self._manifest()
        self.entries = {e["name"]: e for e in self.manifest["members"]}
        self._verify_members()
        self.reference = json.loads(self._read(REFERENCE)) if REFERENCE in self.entries else {"kinds": {}}
        self.rows: dict[str, list[dict]] = {}
        self.fields: dict[str, list[str]] = {}
        for entry in self.manifest["members"]:
            if entry["name"].startswith("data/"):
                if not isinstance(entry.get("model"), str) or entry["model"] in self.rows:
                    raise self._damaged(_("the manifest's member list is malformed."))
                self.rows[entry["model"]] = self._rows(entry)
                self.fields[entry["model"]] = list(entry.get("fields") or [])

    def _damaged(self, message: str) -> ArchiveError:
        return ArchiveError(_("%(file)s is damaged: %(problem)s") % {"file": self.where, "problem": message})

    def _read(self, name: str) -> bytes:
        try:
            return self.zip.read(name)
        except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error) as exc:
            raise self._damaged(
                _("member %(name)s cannot be read (%(error)s).") % {"name": name, "error": exc}
            ) from exc

    def _manifest(self) -> dict:
        if MANIFEST not in self.zip.namelist():
            raise ArchiveError(
                _("%(file)s is not a bank archive: it has no %(manifest)s.")
                % {"file": self.where, "manifest": MANIFEST}
            )
        try:
            manifest = json.loads(self._read(MANIFEST))
        except ValueError as exc:
            raise self._damaged(_("%(manifest)s is not valid JSON.") % {"manifest": MANIFEST}) from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ArchiveError(
                _("%(file)s is not a bank archive of this service (format %(format)r).")
                % {
                    "file": self.where,
                    "format": manifest.get("format") if isinstance(manifest, dict) else None,
                }
            )
        version = manifest.get("format_version")
        if version not in SUPPORTED_VERSIONS:
            raise ArchiveError(
                _(
                    "%(file)s has format version %(version)r, which this installation cannot read (it reads %(known)s)."
                )
                % {
                    "file": self.where,
                    "version": version,
                    "known": ", ".join(map(str, sorted(SUPPORTED_VERSIONS))),
                }
            )
        members = manifest.get("members")
        if not isinstance(members, list) or not all(
            isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("sha256"), str)
            for m in members
        ):
            raise self._damaged(_("the manifest's member list is malformed."))
        return manifest

    def _verify_members(self) -> None:
        names = self.zip.namelist()
        problems = []
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            problems.append(_("members appear twice: %(names)s.") % {"names": ", ".join(repeated)})
        listed = set(self.entries)
        present = set(names) - {MANIFEST}
        for name in sorted(listed - present):
            problems.append(_("member %(name)s is missing.") % {"name": name})
        for name in sorted(present - listed):
            problems.append(_("member %(name)s is not in the manifest.") % {"name": name})
        for name in sorted(listed & present):
            entry = self.entries[name]
            digest, size = hashlib.sha256(), 0
            try:
                with self.zip.open(name) as handle:
                    for chunk in iter(lambda handle=handle: handle.read(1 << 20), b""):
                        digest.update(chunk)
                        size += len(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
                problems.append(
                    _("member %(name)s cannot be read (%(error)s).") % {"name": name, "error": exc}
                )
                continue
            if digest.hexdigest() != entry["sha256"] or size != entry.get("bytes"):
                problems.append(
                    _(
                        "member %(name)s does not match the manifest's checksum (SHA-256 %(found)s, expected %(expected)s)."
                    )
                    % {"name": name, "found": digest.hexdigest()[:12], "expected": str(entry["sha256"])[:12]}
                )
        if problems:
            raise ArchiveError(
                [_("%(file)s is damaged:") % {"file": self.where}, *[f"  {p}" for p in problems]]
            )

    def _rows(self, entry: dict) -> list[dict]:
        name = entry["name"]
        rows = []
        for number, line in enumerate(self._read(name).decode("utf-8").splitlines(), start=1):
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise self._damaged(
                    _("%(name)s line %(line)d is not JSON.") % {"name": name, "line": number}
                ) from exc
            if not isinstance(row, dict):
                raise self._damaged(
                    _("%(name)s line %(line)d is not an object.") % {"name": name, "line": number}
                )
            rows.append(row)
        if len(rows) != entry.get("rows"):
            raise self._damaged(
                _("%(name)s holds %(found)d rows; the manifest says %(expected)s.")
                % {"name": name, "found": len(rows), "expected": entry.get("rows")}
            )
        return rows

    def open_member(self, name: str):
        if name not in self.entries:
            raise self._damaged(_("member %(name)s is missing.") % {"name": name})
        return self.zip.open(name)

    def close(self) -> None:
        self.zip.close()


@dataclass
class ImportResult:
    bank: str
    counts: dict[str, int]
    created_users: list[str]
    linked_users: list[str]
    warnings: list[str]
    files: int
    dry_run: bool = False


class ImportContext:
    """Maps archive-local ids and natural keys to this installation's rows while the archive is written."""

    def __init__(self, reader: ArchiveReader, parts: ArchivePart, refs: dict[str, dict[str, Any]]):
        self.reader = reader
        self.parts = parts
        self.refs = refs  # kind -> {key as JSON: object here}
        self.bank: Bank | None = None
        self.pks: dict[str, dict[Any, Any]] = {}  # label -> {archive id: pk here}
        self.users: dict[str, int] = {}
        self.written_files: list[tuple[Any, str]] = []

    def target_pk(self, label: str, local) -> Any:
        """The pk here of a carried row, given its archive-local id (None when the archive does not hold it)."""
        return self.pks.get(label, {}).get(local)

    def reference(self, kind: str, key, *, target_field: str = "pk"):
        if key is None:
            return None
        obj = self.refs.get(kind, {}).get(dumps_line(key))
        if obj is None:
            raise ArchiveError(_("%(what)s %(key)s is not reference data here.") % {"what": kind, "key": key})
        return getattr(obj, target_field)


def _check_fields(reader: ArchiveReader, parts: ArchivePart) -> list[str]:
    problems = []
    known = {spec.label: spec for spec in parts.specs}
    user_label = get_user_model()._meta.label
    for label, rows in reader.rows.items():
        if label == user_label:
            expected = set(USER_FIELDS)
        elif label in known:
            expected = set(archive_fields(known[label], parts))
        else:
            problems.append(
                _("It carries %(model)s, which this installation does not know (%(rows)d rows).")
                % {"model": label, "rows": len(rows)}
            )
            continue
        found = set(reader.fields.get(label, []))
        unknown = sorted(found - expected)
        if unknown:
            problems.append(
                _("%(model)s: fields this installation does not have: %(fields)s.")
                % {"model": label, "fields": ", ".join(unknown)}
            )
        missing = [name for name in sorted(expected - found) if not _has_default(known.get(label), name)]
        if missing:
            problems.append(
                _("%(model)s: fields the archive lacks and that have no default here: %(fields)s.")
                % {"model": label, "fields": ", ".join(missing)}
            )
    if len(reader.rows.get(Bank._meta.label, [])) != 1:
        problems.append(_("It must hold exactly one bank."))
    return problems


def _has_default(spec: ModelSpec | None, name: str) -> bool:
    if spec is None:
        return False
    try:
        f = spec.model._meta.get_field(name)
    except Exception:
        return False
    return (
        f.many_to_many
        or f.null
        or f.has_default()
        or getattr(f, "auto_now", False)
        or getattr(f, "auto_now_add", False)
    )


def _check_references(reader: ArchiveReader, parts: ArchivePart) -> tuple[dict, list[str], list[str]]:
    """Resolve every natural key of reference.json here: (objects by kind and key, problems, warnings)."""
    refs = {r.name: r for r in parts.references}
    resolved: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    different: list[str] = []
    warnings: list[str] = []
    kinds = reader.reference.get("kinds") or {}
    for name, entries in sorted(kinds.items()):
        ref = refs.get(name)
        if ref is None:
            missing.append(
                _("reference data of a kind this installation does not know: %(kind)s") % {"kind": name}
            )
            continue
        here = {dumps_line(ref.key(obj)): obj for obj in ref.fetch()}
        resolved[name] = here
        for entry in entries:
            key = entry.get("key")
            obj = here.get(dumps_line(key))
            if obj is None:
                missing.append(ref.describe(key))
                continue
            expected = entry.get("fingerprint")
            if ref.fingerprint is None or expected is None:
                continue
            found = ref.fingerprint(obj)
            if found != expected:
                changed = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
                detail = "; ".join(
                    _("%(field)s: archive %(archive)s, here %(here)s")
                    % {"field": k, "archive": _short(expected.get(k)), "here": _short(found.get(k))}
                    for k in changed
                )
                line = f"{ref.describe(key)} ({detail})"
                (warnings if ref.warn_only else different).append(line)
    problems = []
    if missing:
        problems.append(_("Reference data the archive needs is missing here:"))
        problems.extend(f"  {m}" for m in missing)
    if different:
        problems.append(_("Reference data here differs from the source installation's:"))
        problems.extend(f"  {d}" for d in different)
    if problems:
        problems.append(
            _(
                "Load the same reference data here first (manage.py seed_demo --no-demo, load_rubrics, "
                "load_checklists), then import again."
            )
        )
    warnings = [
        _(
            "%(partner)s: figures or licences differ from the source's; stored scores are kept, a re-score here may differ."
        )
        % {"partner": w}
        for w in warnings
    ]
    return resolved, problems, warnings


def _short(value) -> str:
    text = "—" if value is None else str(value)
    return text[:12] + "…" if len(text) > 16 else text


def _plan_import(reader: ArchiveReader, parts: ArchivePart) -> tuple[dict, list[str], list[str], list[str]]:
    """Every check before writing: (reference objects, users to create, users to link, warnings); raises
    ArchiveError with every problem found."""
    problems = _check_fields(reader, parts)
    refs, ref_problems, warnings = _check_references(reader, parts)
    bank_rows = reader.rows.get(Bank._meta.label, [])
    code = bank_rows[0].get("code") if len(bank_rows) == 1 else None
    if code and Bank.objects.filter(code=code).exists():
        problems.append(
            _(
                "A bank with the code “%(code)s” already exists here; an archive is imported only into an "
                "installation without that bank (delete or rename the existing one first)."
            )
            % {"code": code}
        )
    for spec in parts.specs:
        if spec.model._meta.pk.get_internal_type() == "UUIDField":
            ids = [row.get("id") for row in reader.rows.get(spec.label, [])]
            taken = sorted(
                str(pk)
                for pk in spec.model.objects.filter(pk__in=[_uuid(i) for i in ids if _uuid(i)]).values_list(
                    "pk", flat=True
                )
            )
            if taken:
                problems.append(
                    _("%(model)s ids already exist here: %(ids)s.")
                    % {"model": spec.label, "ids": ", ".join(taken[:10])}
                )
    problems.extend(ref_problems)
    if problems:
        raise ArchiveError([_("%(file)s cannot be imported:") % {"file": reader.where}, *problems])
    usernames = sorted(str(row.get("username")) for row in reader.rows.get(get_user_model()._meta.label, []))
    existing = set(get_user_model().objects.filter(username__in=usernames).values_list("username", flat=True))
    return refs, [u for u in usernames if u not in existing], sorted(existing), warnings


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- Import: writing -------------------------------------------------------------------------------------------------
def bank_import(path: str | Path, *, dry_run: bool = False) -> ImportResult:
    """Restore the archive at ``path`` into this installation, in one transaction; ``dry_run`` checks only.

    Raises ArchiveError naming every problem; then nothing is written (no row, no user, no stored file).
    """
    reader = ArchiveReader(path)
    try:
        parts = archive_parts()
        refs, create_users, link_users, warnings = _plan_import(reader, parts)
        code = reader.rows[Bank._meta.label][0].get("code")
        counts = {label: len(rows) for label, rows in reader.rows.items()}
        files = sum(1 for name in reader.entries if name.startswith("files/"))
        if dry_run:
            return ImportResult(code, counts, create_users, link_users, warnings, files, dry_run=True)
        ctx = ImportContext(reader, parts, refs)
        try:
            with transaction.atomic():
                _write_users(ctx, create_users)
                for spec in parts.specs:
                    _import_spec(ctx, spec, reader.rows.get(spec.label, []))
                # Memberships were written with bulk_create (no signals): the API's cached roles go.
                token_cache_forget_all()
        except BaseException as exc:
            _remove_written_files(ctx)
            if isinstance(exc, ArchiveError | RegistryError):
                raise
            if isinstance(
                exc, ServiceError | ValidationError | DatabaseError | ValueError | TypeError | KeyError
            ):
                raise ArchiveError(
                    [
                        _("%(file)s cannot be imported; nothing was written:") % {"file": reader.where},
                        f"  {exc}",
                    ]
                ) from exc
            raise
        return ImportResult(code, counts, create_users, link_users, warnings, len(ctx.written_files))
    finally:
        reader.close()


def _remove_written_files(ctx: ImportContext) -> None:
    for storage, name in ctx.written_files:
        try:
            storage.delete(name)
        except OSError:  # nothing more to do; the row that named it was rolled back
            pass


def _write_users(ctx: ImportContext, create: list[str]) -> None:
    """Link existing users by username; create the missing ones inactive and without a usable password."""
    User = get_user_model()
    rows = {str(row.get("username")): row for row in ctx.reader.rows.get(User._meta.label, [])}
    new = []
    for username in create:
        row = rows[username]
        user = User(
            username=username,
            first_name=row.get("first_name") or "",
            last_name=row.get("last_name") or "",
            email=row.get("email") or "",
            is_staff=bool(row.get("is_staff")),
            is_active=False,
            is_superuser=False,
        )
        user.set_unusable_password()
        _validate(user, "auth.User", username, exclude=["password", "groups", "user_permissions"])
        new.append(user)
    User.objects.bulk_create(new, batch_size=BATCH)
    ctx.users = dict(User.objects.filter(username__in=list(rows)).values_list("username", "pk"))


def _validate(obj, member: str, row_id, *, exclude: list[str]) -> None:
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        messages = "; ".join(
            f"{name}: {' '.join(map(str, errors))}" for name, errors in exc.message_dict.items()
        )
        raise ArchiveError(
            _("%(member)s row %(id)s is refused: %(messages)s")
            % {"member": member, "id": row_id, "messages": messages}
        ) from exc


def _decode(ctx: ImportContext, spec: ModelSpec, plan: FieldPlan, value):
    kind = plan.kind
    if kind == "bank":
        return ctx.bank.pk
    if value is None:
        return None
    if kind == "plain" or kind == "json":
        return value
    if kind == "decimal":
        return decimal.Decimal(str(value))
    if kind == "date":
        return datetime.date.fromisoformat(value)
    if kind == "datetime":
        return _parse_utc(value)
    if kind in ("uuid", "uuid_id"):
        return uuid.UUID(value)
    if kind in ("user", "m2m_user"):
        if value not in ctx.users:
            raise ArchiveError(_("user “%(name)s” is not in the archive's user list.") % {"name": value})
        return ctx.users[value]
    target_field = plan.field.target_field.attname
    if kind in ("ref", "m2m_ref") or (kind == "local_or_ref" and not isinstance(value, int)):
        return ctx.reference(plan.reference, value, target_field=target_field)
    pk = ctx.target_pk(plan.related, value)
    if pk is None:
        raise ArchiveError(
            _("it refers to %(related)s %(id)s, which the archive does not hold.")
            % {"related": plan.related, "id": value}
        )
    return pk


def _restore_file(ctx: ImportContext, spec: ModelSpec, plan: FieldPlan, obj, entry) -> str:
    """Write a carried file to the storage where its layout puts the new row's files, keeping the file's stored
    name (its random part included)."""
    if not entry:
        return ""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry.get("member"):
        raise ArchiveError(_("its file entry is malformed."))
    member = ctx.reader.entries.get(entry["member"])
    if member is None or member["sha256"] != entry.get("sha256"):
        raise ArchiveError(
            _("its file %(member)s is missing or does not match.") % {"member": entry["member"]}
        )
    storage = plan.field.storage
    name = posixpath.basename(entry["name"])
    directory = posixpath.dirname(plan.field.generate_filename(obj, name))
    target = posixpath.join(directory, name) if directory else name
    # A file of that name already there (nothing of this import's, which writes under the new rows' ids) is never
    # overwritten nor shared: the storage saves this one under a free name instead (a suffix before the extension).
    with ctx.reader.open_member(entry["member"]) as source:
        saved = storage.save(target, File(source, name=name))
    ctx.written_files.append((storage, saved))
    return saved


def _import_spec(ctx: ImportContext, spec: ModelSpec, rows: list[dict]) -> None:
    """Write one model's rows: through its service (``spec.create``) or by the restore, keeping every value."""
    model = spec.model
    plans = field_plans(spec, ctx.parts)
    scalar = [p for p in plans if not p.kind.startswith("m2m_") and p.kind != "id"]
    many = [p for p in plans if p.kind.startswith("m2m_")]
    files = [p for p in scalar if p.kind == "file"]
    times = [
        p.field.attname
        for p in scalar
        if getattr(p.field, "auto_now", False) or getattr(p.field, "auto_now_add", False)
    ]
    skip = ["password"] + [p.name for p in plans if p.field.is_relation] + [p.name for p in files]
    local_ids = []
    objects = []
    recorded = []
    relations = []
    for row in rows:
        row_id = row.get("id")
        where = _("%(member)s row %(id)s") % {"member": spec.member, "id": row_id}
        try:
            if spec.import_hook is not None:
                row = spec.import_hook(ctx, dict(row))
            values = {}
            for plan in scalar:
                if plan.kind == "file":
                    continue
                if plan.name not in row and plan.kind != "bank":
                    continue  # a field the archive lacks: the model's default (checked before writing)
                name = plan.field.attname if plan.kind != "uuid_id" else model._meta.pk.attname
                values[name] = _decode(
                    ctx, spec, plan, row.get("id" if plan.kind == "uuid_id" else plan.name)
                )
            m2m = {p.name: [_decode(ctx, spec, p, v) for v in row.get(p.name) or []] for p in many}
            if spec.create is not None:
                obj = spec.create(ctx, values, row)
            else:
                obj = model(**values)
                for plan in files:
                    setattr(obj, plan.field.attname, _restore_file(ctx, spec, plan, obj, row.get(plan.name)))
                _validate(obj, spec.member, row_id, exclude=skip)
        except ArchiveError as exc:
            raise ArchiveError(f"{where}: {' '.join(exc.problems)}") from exc
        except ServiceError as exc:
            raise ArchiveError(f"{where}: {'; '.join(exc.messages())}") from exc
        except (ValueError, TypeError, KeyError, decimal.InvalidOperation) as exc:
            raise ArchiveError(f"{where}: {exc.__class__.__name__}: {exc}") from exc
        local_ids.append(row_id)
        objects.append(obj)
        recorded.append({name: values.get(name) for name in times})
        relations.append(m2m)
    if spec.create is None and objects:
        try:
            with transaction.atomic():
                model.objects.bulk_create(objects, batch_size=BATCH)
        except DatabaseError as exc:
            raise ArchiveError(
                _("%(member)s: the database refused the rows: %(error)s")
                % {"member": spec.member, "error": exc}
            ) from exc
        if times:
            # auto_now / auto_now_add fields were stamped "now" by the insert: put the recorded times back, in the
            # transaction of the insert. (A Score's guard against change lives in its save(), for scores stored
            # earlier; this is the same new row getting the time it was computed at.)
            for obj, values in zip(objects, recorded, strict=True):
                for name, value in values.items():
                    if value is not None:
                        setattr(obj, name, value)
            model.objects.bulk_update(objects, times, batch_size=BATCH)
        history = getattr(model._meta, "simple_history_manager_attribute", None)
        if history:
            getattr(model, history).bulk_history_create(objects, default_change_reason=IMPORT_REASON)
    for plan in many:
        _write_m2m(plan, objects, relations)
    pks = ctx.pks.setdefault(spec.label, {})
    for row_id, obj in zip(local_ids, objects, strict=True):
        if row_id is not None:
            pks[row_id] = obj.pk
    if spec.after_import is not None and objects:
        spec.after_import(ctx, objects, rows)
    if model is Bank:
        ctx.bank = objects[0]


def _write_m2m(plan: FieldPlan, objects: list, relations: list[dict]) -> None:
    f = plan.field
    through = f.remote_field.through
    source, target = f.m2m_field_name(), f.m2m_reverse_field_name()
    links = [
        through(**{f"{source}_id": obj.pk, f"{target}_id": value})
        for obj, m2m in zip(objects, relations, strict=True)
        for value in m2m[plan.name]
    ]
    through.objects.bulk_create(links, batch_size=BATCH)
