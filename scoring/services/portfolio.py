"""A synthetic portfolio for benchmarks and load tests: N initiatives over the three pillars, in bulk.

Every initiative gets one or two seed partners (one lead), a KPI with two observations, data-sharing facts,
and an approved assessment rating every rated criterion of its pillar's published rubric. Rows are written
with PostgreSQL's COPY where available (about five times faster than bulk_create), else with bulk_create.
Deterministic for a given seed. Needs the reference data (seed_demo --no-demo) and published rubrics.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from partnerships.models import (
    KPI,
    Bank,
    Initiative,
    InitiativePartner,
    KPIObservation,
    Membership,
    TechPartner,
)

from ..choices import AssessmentStatus, CriterionSource, VersionStatus
from ..models import Assessment, Criterion, Rating

PILLARS = ("scenario", "data_sharing", "smart_banking")
BATCH = 20_000


@dataclass
class PortfolioResult:
    banks: int
    initiatives: int
    ratings: int


def _write(model: type[models.Model], fields: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert rows into a model's table: COPY on PostgreSQL, bulk_create elsewhere. Returns the count."""
    count = 0
    if connection.vendor == "postgresql":
        columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch = []
    for row in rows:
        batch.append(
            model(
                **{
                    (f if not model._meta.get_field(f).is_relation else f"{f}_id"): v
                    for f, v in zip(fields, row, strict=True)
                }
            )
        )
        if len(batch) >= BATCH:
            model.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    model.objects.bulk_create(batch)
    return count + len(batch)


def _jsonable(value):
    return json.dumps(value, ensure_ascii=False) if connection.vendor == "postgresql" else value


def portfolio_generate(
    *, initiatives: int, banks: int = 1, prefix: str = "bench", seed: int = 1
) -> PortfolioResult:
    rng = random.Random(seed)
    now = timezone.now()
    partners = list(TechPartner.objects.values_list("id", flat=True))
    if not partners:
        raise ValueError("no tech partners: run `manage.py seed_demo --no-demo` first")
    versions: dict[str, tuple[int, list[tuple[int, int, int]]]] = {}
    for c in Criterion.objects.filter(
        version__status=VersionStatus.PUBLISHED,
        version__rubric__is_default=True,
        source=CriterionSource.RATED,
    ).values("version_id", "version__rubric__pillar_id", "id", "scale_min", "scale_max"):
        versions.setdefault(c["version__rubric__pillar_id"], (c["version_id"], []))[1].append(
            (c["id"], c["scale_min"], c["scale_max"])
        )
    if set(versions) != set(PILLARS):
        raise ValueError("publish the default rubrics first (`manage.py load_rubrics`)")

    User = get_user_model()
    with transaction.atomic():
        author, _ = User.objects.get_or_create(username=f"{prefix}_author", defaults={"is_staff": True})
        approver, _ = User.objects.get_or_create(username=f"{prefix}_approver", defaults={"is_staff": True})
        bank_objs = []
        for b in range(banks):
            bank, _ = Bank.objects.get_or_create(
                code=f"{prefix}-{b}",
                defaults={
                    "name_zh_hans": f"压测银行{b}",
                    "name_en": f"Bench bank {b}",
                    "is_illustrative": True,
                },
            )
            Membership.objects.get_or_create(user=author, bank=bank, defaults={"role": "analyst"})
            Membership.objects.get_or_create(user=approver, bank=bank, defaults={"role": "manager"})
            bank_objs.append(bank)
        start = Initiative.objects.filter(bank__in=bank_objs).count()
        plan = []
        for n in range(start, start + initiatives):
            bank = bank_objs[n % banks]
            pillar = PILLARS[n % 3]
            shares = pillar == "data_sharing" and rng.random() < 0.8
            plan.append((bank.pk, f"{prefix}-{n}", pillar, shares))
        _write(
            Initiative,
            [
                "bank",
                "code",
                "title",
                "description",
                "pillar",
                "status",
                "personal_data_categories",
                "lawful_basis",
                "security_assessment_done",
                "cross_border_transfer",
                "transfer_mechanism",
                "is_illustrative",
                "created_at",
                "updated_at",
                # Version 2's facts: COPY writes no model defaults, so every NOT NULL column is named.
                "no_personal_data",
                "provision_separate_consent",
                "cross_border_destination",
                "cross_border_separate_consent",
                "processing_agreement",
            ],
            (
                (
                    bank_id,
                    code,
                    f"压测合作项目 {code}",
                    "",
                    pillar,
                    rng.choice(["pilot", "live", "live", "proposed"]),
                    _jsonable(["identity", "transaction"] if shares else []),
                    "separate_consent" if shares and rng.random() < 0.9 else "",
                    shares and rng.random() < 0.7,
                    False,
                    "",
                    True,
                    now,
                    now,
                    not shares,
                    False,
                    "",
                    False,
                    False,
                )
                for bank_id, code, pillar, shares in plan
            ),
        )
        ids = dict(
            Initiative.objects.filter(bank__in=bank_objs, code__in=[p[1] for p in plan]).values_list(
                "code", "id"
            )
        )
        new_ids = [(ids[code], pillar) for _b, code, pillar, _s in plan]

        links = []
        for iid, _pillar in new_ids:
            chosen = rng.sample(partners, 2 if rng.random() < 0.5 else 1)
            links.append((iid, chosen[0], "lead", ""))
            links.extend((iid, p, "technology", "") for p in chosen[1:])
        _write(
            InitiativePartner,
            ["initiative", "partner", "role", "note", "services"],
            ((*link, _jsonable([])) for link in links),
        )

        _write(
            KPI,
            ["initiative", "name", "cost_driver", "unit", "baseline", "target", "weight"],
            ((iid, "获客成本(元/户)", "acquisition", "元", 300, 200, 1) for iid, _p in new_ids),
        )
        kpis = dict(
            KPI.objects.filter(initiative_id__in=[i for i, _p in new_ids]).values_list("initiative_id", "id")
        )
        day = date(2024, 6, 30)
        _write(
            KPIObservation,
            ["kpi", "observed_on", "value", "note"],
            (
                row
                for iid, _p in new_ids
                for row in (
                    (kpis[iid], day, rng.randint(220, 300), ""),
                    (kpis[iid], day + timedelta(days=92), rng.randint(180, 290), ""),
                )
            ),
        )

        _write(
            Assessment,
            [
                "initiative",
                "rubric_version",
                "author",
                "status",
                "note",
                "returned_reason",
                "submitted_at",
                "approved_by",
                "approved_at",
                "created_at",
                "updated_at",
            ],
            (
                (
                    iid,
                    versions[pillar][0],
                    author.pk,
                    AssessmentStatus.APPROVED,
                    "",
                    "",
                    now,
                    approver.pk,
                    now,
                    now,
                    now,
                )
                for iid, pillar in new_ids
            ),
        )
        assessments = dict(
            Assessment.objects.filter(initiative_id__in=[i for i, _p in new_ids]).values_list(
                "initiative_id", "id"
            )
        )
        rating_count = _write(
            Rating,
            ["assessment", "criterion", "value", "rationale"],
            (
                (assessments[iid], cid, rng.randint(lo, hi), "")
                for iid, pillar in new_ids
                for cid, lo, hi in versions[pillar][1]
            ),
        )
    return PortfolioResult(banks=len(bank_objs), initiatives=len(new_ids), ratings=rating_count)
