"""CSV and XLSX downloads of a report, both produced from its payload (so they agree with the page).

A download is in one language — the reader's (the admin's and the API's request language) or the one asked
for (the e-mail's): headers, section titles, choices (status, reasons, concentration level), yes/no, and the
names of pillars, scenario types, partners and gates. Keys of the payload are not shown: a Chinese file reads in
Chinese, but for what users typed (titles, codes, KPI names and units), tier letters and the HHI. Both files hold
the same sections (``report_tables``) in page order; in the XLSX one sheet per section, in the CSV one after
another, each opened by a ``# title`` line. Figures follow ``partnerships.formatting`` (one format per kind, as
on the page and in the e-mail); instants are in Asia/Shanghai.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from partnerships.choices import (
    CostDriver,
    MonitoringEventKind,
    MonitoringEventStatus,
    PillarKey,
    ScenarioGroup,
    Severity,
)
from partnerships.formatting import fmt_choice
from scoring.models import Report

from .build import STALE_DUE, STALE_REASONS
from .render import (
    CONCENTRATION_LEVELS,
    STALE_LABELS,
    gate_reason_text,
    pick_name,
    rubric_version_label,
    scope_label,
    status_label,
)
from .sheets import Cell, Column, Table, tables_csv, tables_xlsx

INITIATIVE_COLUMNS = [
    Column("initiative_id", _("Initiative id"), "id"),
    Column("code", _("Code")),
    Column("title", _("Title")),
    Column("bank", _("Bank")),
    Column("pillar", _("Pillar")),
]


def _pillar_names(payload: dict) -> dict[str, str]:
    names = {p["key"]: pick_name(p, p["key"]) for p in payload.get("pillars", [])}
    for key in PillarKey.values:
        names.setdefault(key, str(PillarKey(key).label))
    return names


def _initiative(row: dict, pillars: dict[str, str]) -> list:
    pillar = row.get("pillar") or ""
    return [
        row.get("initiative_id"),
        row.get("code"),
        row.get("title"),
        row.get("bank"),
        pillars.get(pillar, pillar),
    ]


def _list_sep() -> str:
    return ", " if (translation.get_language() or "").startswith("en") else "、"


def _summary(payload: dict) -> Table:
    scores, conc, stale = payload["scores"], payload["concentration"], payload["stale"]
    names = {p["key"]: pick_name(p, p["key"]) for p in conc["partners"]}
    stale_labels = {
        reason: str(STALE_LABELS[reason]) % {"days": stale["days"]}
        if reason == STALE_DUE
        else STALE_LABELS[reason]
        for reason in STALE_REASONS
    }
    items = [
        (_("Scope"), scope_label(payload), "text"),
        (_("Period start"), payload["period"]["start"], "date"),
        (_("Period end"), payload["period"]["end"], "date"),
        (_("Figures as of"), payload.get("as_of"), "instant"),
        (_("Initiatives in the portfolio"), scores["initiatives"], "count"),
        (_("Scored"), scores["scored"], "count"),
        (_("Unscored"), scores["unscored"], "count"),
        (_("Mean score"), scores["mean_total"], "total"),
        (_("Provisional scores"), scores["provisional"], "count"),
        (_("Failed gates"), payload["failed_gates"]["count"], "count"),
        (_("Stale scores"), stale["count"], "count"),
        *[
            (
                _("Stale: %(reason)s") % {"reason": stale_labels[reason]},
                stale["by_reason"].get(reason, 0),
                "count",
            )
            for reason in STALE_REASONS
        ],
        (_("Days ahead a re-assessment counts as due"), stale["days"], "count"),
        (_("Partner participations in live initiatives"), conc["participations"], "count"),
        (_("Partner HHI"), conc["hhi"], "hhi"),
        (_("Concentration"), str(CONCENTRATION_LEVELS.get(conc["level"], conc["level"])), "text"),
        (_("Highly concentrated"), conc["flagged"], "bool"),
        (_("Leading partners"), _list_sep().join(names.get(k, k) for k in conc["leaders"]), "text"),
        (_("Report data format"), payload["schema_version"], "id"),
    ]
    table = Table("summary", _("Summary"), [Column("item", _("Item")), Column("value", _("Value"))])
    table.rows = [[str(label), Cell(value, kind)] for label, value, kind in items]
    return table


def report_tables(payload: dict) -> list[Table]:
    """The report's sections as tables in the active language, in page order."""
    scores, conc, stale = payload["scores"], payload["concentration"], payload["stale"]
    pillars = _pillar_names(payload)
    tables = [_summary(payload)]

    statuses = payload["pillar_status"]["statuses"]
    pillar_status = Table(
        "pillar_status",
        _("Initiatives by pillar and status"),
        [Column("pillar", _("Pillar"))]
        + [Column(s, status_label(s), "count") for s in statuses]
        + [Column("total", pgettext_lazy("sum of counts", "Total"), "count")],
        sheet=_("Pillars and status"),
    )
    pillar_status.rows = [
        [pillars.get(row["pillar"], row["pillar"])] + [row["counts"][s] for s in statuses] + [row["total"]]
        for row in payload["pillar_status"]["rows"]
    ]
    tables.append(pillar_status)

    tiers = Table(
        "tiers",
        _("Tier distribution"),
        [Column("tier", _("Tier")), Column("count", _("Initiatives"), "count")],
    )
    tiers.rows = [[t, n] for t, n in scores["tiers"].items()] + [[str(_("Unscored")), scores["unscored"]]]
    tables.append(tiers)

    histogram = Table(
        "histogram",
        _("Score distribution"),
        [
            Column("from", _("From"), "count"),
            Column("to", _("To"), "count"),
            Column("count", _("Initiatives"), "count"),
        ],
    )
    histogram.rows = [[b["from"], b["to"], b["count"]] for b in scores["histogram"]]
    tables.append(histogram)

    ranking = Table(
        "top_bottom",
        _("Top and bottom five"),
        [
            Column("list", _("List")),
            Column("rank", _("Rank"), "count"),
            *INITIATIVE_COLUMNS,
            Column("total", pgettext_lazy("score", "Total"), "total"),
            Column("tier", _("Tier")),
            Column("provisional", _("Provisional"), "bool"),
        ],
    )
    for which, label in (("top", _("Highest current scores")), ("bottom", _("Lowest current scores"))):
        for rank, row in enumerate(payload["ranking"][which], start=1):
            ranking.rows.append(
                [
                    str(label),
                    rank,
                    *_initiative(row, pillars),
                    row.get("total"),
                    row.get("tier"),
                    row.get("provisional"),
                ]
            )
    tables.append(ranking)

    movers = Table(
        "movers",
        _("Movers since the previous report"),
        [
            *INITIATIVE_COLUMNS,
            Column("previous", _("Previous"), "total"),
            Column("current", _("Current"), "total"),
            Column("delta", pgettext_lazy("movement of a score", "Change"), "delta"),
        ],
        sheet=_("Movers"),
    )
    movers.rows = [
        [*_initiative(m, pillars), m["previous"], m["current"], m["delta"]]
        for m in payload["movers"]["items"]
    ]
    tables.append(movers)

    failed = Table(
        "failed_gates",
        _("Failed gates"),
        [
            *INITIATIVE_COLUMNS,
            Column("total", pgettext_lazy("score", "Total"), "total"),
            Column("gate", _("Gate")),
            Column("rating", _("Rating"), "rating"),
            Column("threshold", _("Threshold"), "rating"),
            Column("reason", _("Reason")),
        ],
    )
    for item in payload["failed_gates"]["items"]:
        for gate in item["gates"] or [{}]:
            failed.rows.append(
                [
                    *_initiative(item, pillars),
                    item["total"],
                    pick_name(gate, gate.get("key", "")),
                    gate.get("rating"),
                    gate.get("threshold"),
                    capfirst(gate_reason_text(gate)),
                ]
            )
    tables.append(failed)

    stale_reasons = {
        key: str(label) % {"days": stale["days"]} if key == STALE_DUE else str(label)
        for key, label in STALE_LABELS.items()
    }
    stale_table = Table(
        "stale_scores",
        _("Stale scores"),
        [
            *INITIATIVE_COLUMNS,
            Column("status", _("Status")),
            Column("reason", _("Reason")),
            Column("next_reassessment_on", _("Next re-assessment"), "date"),
            Column("last_approved_on", _("Last approved assessment"), "date"),
            Column("rubric_version", _("Scored under")),
            Column("computed_at", _("Last scored"), "instant"),
        ],
    )
    stale_table.rows = [
        [
            *_initiative(i, pillars),
            status_label(i["status"]),
            stale_reasons.get(i["reason"], i["reason"]),
            i.get("next_reassessment_on"),
            i.get("last_approved_on"),
            rubric_version_label(i),
            i.get("computed_at"),
        ]
        for i in stale["items"]
    ]
    tables.append(stale_table)

    if "monitoring" in payload:  # reports built before issue 14 have no such section
        monitoring = Table(
            "monitoring_events",
            _("Open monitoring events"),
            [
                *INITIATIVE_COLUMNS,
                Column("kind", _("Kind")),
                Column("severity", _("Severity")),
                Column("event_status", _("Status")),
                Column("occurred_on", _("Occurred on"), "date"),
                Column("description", _("Description")),
                Column("remediation_owner", _("Remediation owner")),
                Column("remediation_due_on", _("Remediation deadline"), "date"),
                Column("remediation_overdue", _("Remediation overdue"), "bool"),
            ],
            sheet=_("Monitoring events"),
        )
        monitoring.rows = [
            [
                *_initiative(e, pillars),
                fmt_choice(MonitoringEventKind, e["kind"]),
                fmt_choice(Severity, e["severity"]),
                fmt_choice(MonitoringEventStatus, e["status"]),
                e["occurred_on"],
                e["description"],
                e["remediation_owner"],
                e["remediation_due_on"],
                e["remediation_overdue"],
            ]
            for e in payload["monitoring"]["items"]
        ]
        tables.append(monitoring)

    coverage = Table(
        "scenario_coverage",
        _("Scenario coverage"),
        [
            Column("scenario_type", _("Scenario type")),
            Column("pillar", _("Pillar")),
            Column("group", _("Group")),
            Column("live", _("Live initiatives"), "count"),
            Column("gap", _("Gap"), "bool"),
        ],
    )
    coverage.rows = [
        [
            pick_name(t, t["key"]),
            pillars.get(t["pillar"], t["pillar"]),
            fmt_choice(ScenarioGroup, t["group"]),
            t["live"],
            not t["live"],
        ]
        for t in payload["coverage"]["scenario_types"]
    ]
    tables.append(coverage)

    pillar_coverage = Table(
        "pillar_coverage",
        _("Pillar coverage"),
        [
            Column("pillar", _("Pillar")),
            Column("live_initiatives", _("Live initiatives"), "count"),
            Column("scenario_types", _("Scenario types"), "count"),
            Column("covered", _("Scenario types with a live initiative"), "count"),
        ],
    )
    pillar_coverage.rows = [
        [pillars.get(p["pillar"], p["pillar"]), p["live_initiatives"], p["scenario_types"], p["covered"]]
        for p in payload["coverage"]["pillars"]
    ]
    tables.append(pillar_coverage)

    kpi_pillars = Table(
        "kpi_by_pillar",
        _("KPI attainment by pillar"),
        [
            Column("pillar", _("Pillar")),
            Column("kpis", _("KPIs"), "count"),
            Column("counted", _("Counted"), "count"),
            Column("mean_attainment", _("Mean attainment"), "fraction"),
        ],
    )
    kpi_pillars.rows = [
        [pillars.get(p["pillar"], p["pillar"]), p["kpis"], p["counted"], p["mean_attainment"]]
        for p in payload["kpis"]["by_pillar"]
    ]
    tables.append(kpi_pillars)

    kpis = Table(
        "kpis",
        _("KPI attainment"),
        [
            Column("kpi_id", _("KPI id"), "id"),
            Column("name", _("KPI")),
            Column("unit", _("Unit")),
            Column("cost_driver", _("Cost driver")),
            *INITIATIVE_COLUMNS,
            Column("baseline", _("Baseline"), "figure"),
            Column("target", _("Target"), "figure"),
            Column("latest", _("Latest"), "figure"),
            Column("latest_on", _("Observed on"), "date"),
            Column("attainment", _("Attainment"), "fraction"),
        ],
    )
    kpis.rows = [
        [
            k["kpi_id"],
            k["name"],
            k["unit"],
            fmt_choice(CostDriver, k["cost_driver"]),
            *_initiative(k, pillars),
            k["baseline"],
            k["target"],
            k["latest"],
            k["latest_on"],
            k["attainment"],
        ]
        for k in payload["kpis"]["items"]
    ]
    tables.append(kpis)

    partners = Table(
        "partners",
        _("Partner concentration"),
        [
            Column("partner", _("Partner")),
            Column("participations", _("Participations in live initiatives"), "count"),
            Column("share", _("Share"), "percent"),
            Column("leader", _("Leading partner"), "bool"),
        ],
    )
    partners.rows = [
        [pick_name(p, p["key"]), p["participations"], p["share"], p["key"] in conc["leaders"]]
        for p in conc["partners"]
    ]
    tables.append(partners)
    tables.extend(_exposure_tables(payload))
    return tables


def _exposure_tables(payload: dict) -> list[Table]:
    """The exposure section's limits, groups and partners (none for a report built before the section)."""
    from partnerships.choices import LimitStatus
    from partnerships.limit_text import describe_limit, limit_name, pct, subject_label

    exposure = payload.get("exposure")
    if not exposure or not exposure.get("present"):
        return []
    statuses = dict(LimitStatus.choices)
    limits = Table(
        "exposure_limits",
        _("Joint-lending limits"),
        [
            Column("month", _("Month")),
            Column("bank", _("Bank")),
            Column("limit", _("Limit")),
            Column("subject", _("Subject")),
            Column("status", pgettext_lazy("limit status", "Status")),
            # The check's precision (up to four decimals), so 25.0001% never reads as 25%: text, not a number.
            Column("value", _("Value")),
            Column("threshold", _("Threshold")),
            Column("utilisation", _("Utilisation")),
            Column("description", _("Details")),
        ],
    )
    month = exposure["month"][:7]
    limits.rows = [
        [
            month,
            row.get("bank", ""),
            limit_name(row),
            subject_label(row, row.get("bank", "")),
            str(statuses.get(row["status"], row["status"])),
            pct(row.get("value_percent")),
            pct(row.get("threshold_percent")),
            pct(row.get("utilisation_percent")),
            describe_limit(row, bank_name=row.get("bank", "")),
        ]
        for row in exposure["limits"]["items"]
    ]
    names = {p["key"]: pick_name(p, p["key"]) for p in exposure["partners"]["items"]}
    groups = Table(
        "exposure_groups",
        _("Balances by related-party group"),
        [
            Column("group", _("Related-party group")),
            Column("partners", _("Partners")),
            Column("balance", _("Balance (10k CNY)"), "figure"),
            Column("joint_balance", _("Joint-lending balance (10k CNY)"), "figure"),
            Column("share", _("Share"), "percent"),
        ],
    )
    groups.rows = [
        [
            names.get(g["group"], g["group"]),
            _list_sep().join(names.get(k, k) for k in g["partners"]),
            g["balance"],
            g["joint_balance"],
            g["share"],
        ]
        for g in exposure["groups"]["items"]
    ]
    partners = Table(
        "exposure_partners",
        _("Balances by partner"),
        [
            Column("partner", _("Partner")),
            Column("group", _("Related-party group")),
            Column("balance", _("Balance (10k CNY)"), "figure"),
            Column("joint_balance", _("Joint-lending balance (10k CNY)"), "figure"),
            Column("partner_funded_share", _("Partner-funded share"), "percent"),
            Column("share", _("Share"), "percent"),
        ],
    )
    partners.rows = [
        [
            pick_name(p, p["key"]),
            p["group"],
            p["balance"],
            p["joint_balance"],
            p["partner_funded_share"],
            p["share"],
        ]
        for p in exposure["partners"]["items"]
    ]
    return [limits, groups, partners]


def _language(language: str | None) -> str:
    return language or translation.get_language() or settings.LANGUAGE_CODE


def report_csv(report: Report, *, language: str | None = None) -> bytes:
    """Every section, one after another, in one UTF-8 (with BOM) CSV file, in ``language`` (default: the active one)."""
    with translation.override(_language(language)):
        return tables_csv(report_tables(report.payload))


def report_xlsx(report: Report, *, language: str | None = None) -> bytes:
    """One sheet per section, in ``language`` (default: the active one)."""
    with translation.override(_language(language)):
        return tables_xlsx(report_tables(report.payload))


def report_filename(report: Report, extension: str) -> str:
    scope = report.bank.code if report.bank_id else "all-banks"
    return f"{report.kind}-{scope}-{report.period_start:%Y-%m-%d}.{extension}"
