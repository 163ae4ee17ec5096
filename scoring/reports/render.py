"""The report page: HTML from the payload alone (no queries), with inline SVG charts and print styles.

``report_render(payload, language=...)`` returns an HTML fragment (its own scoped ``<style>`` included) that
the admin shows inside its page; ``report_page(...)`` wraps it in a standalone document for printing. Every
label goes through gettext; names of pillars, scenario types and partners come from the payload in both
languages and the active one is picked. Templates autoescape, so text typed by users cannot inject markup.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from partnerships.choices import SEVERE, InitiativeStatus, MonitoringEventKind, PillarKey, Severity
from partnerships.formatting import fmt_choice, fmt_count, fmt_figure, fmt_hhi, fmt_percent

from . import charts
from .build import STALE_DUE, STALE_NEVER, STALE_OUTDATED, STALE_OVERDUE

LOWEST_KPIS_SHOWN = 10
STALE_SHOWN = 50
FAILED_SHOWN = 50

STALE_LABELS = {
    STALE_NEVER: gettext_lazy("Never scored"),
    STALE_OUTDATED: gettext_lazy("Scored under an older rubric version"),
    STALE_OVERDUE: gettext_lazy("Re-assessment overdue"),
    STALE_DUE: gettext_lazy("Re-assessment due within %(days)s days"),
}
GATE_REASONS = {
    "unrated": gettext_lazy("not rated"),
    "below threshold": gettext_lazy("rated below the threshold"),
    "missing": gettext_lazy("missing data"),
}


def gate_reason_text(gate: dict) -> str:
    """Why a gate failed, in the active language; a version 2 gate failing for missing data names it."""
    reason = gate.get("reason", "")
    label = str(GATE_REASONS.get(reason, reason))
    if reason == "missing" and gate.get("missing"):
        from ..missing import missing_labels

        return f"{label}{pgettext('label separator', ': ')}{missing_labels(gate['missing'])}"
    return label


CONCENTRATION_LEVELS = {
    "none": gettext_lazy("No partner participations in live initiatives"),
    "low": gettext_lazy("Unconcentrated"),
    "moderate": gettext_lazy("Moderately concentrated"),
    "high": gettext_lazy("Highly concentrated"),
}


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def pick_name(item: dict, fallback: str = "") -> str:
    """The active language's name of a payload item carrying name_zh_hans / name_en."""
    if _english():
        return item.get("name_en") or item.get("name_zh_hans") or fallback
    return item.get("name_zh_hans") or item.get("name_en") or fallback


def rubric_version_label(item: dict) -> str:
    """The rubric version an item was scored under, by the rubric's name in the active language (场景合作评分表
    第 2 版 / Scenario rubric v2); a payload from before names were kept gives its stored "code vN"."""
    rubric = item.get("rubric")
    if not rubric:
        return item.get("rubric_version") or ""
    return pgettext("rubric and its version number", "%(rubric)s v%(number)s") % {
        "rubric": pick_name(rubric),
        "number": rubric["number"],
    }


def status_label(status: str) -> str:
    try:
        return str(InitiativeStatus(status).label)
    except ValueError:
        return status


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _datetime(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value else None


def scope_label(payload: dict) -> str:
    scope = payload.get("scope") or {}
    if scope.get("all_banks"):
        return _("All banks")
    return pick_name(scope, scope.get("code", ""))


def report_title(payload: dict) -> str:
    return _("Weekly portfolio report")


def _pillar_names(payload: dict) -> dict[str, str]:
    names = {p["key"]: pick_name(p, p["key"]) for p in payload.get("pillars", [])}
    for key in PillarKey.values:
        names.setdefault(key, str(PillarKey(key).label))
    return names


def _charts(payload: dict, pillar_names: dict[str, str]) -> dict[str, charts.Chart]:
    scores = payload["scores"]
    tiers = charts.column_chart(
        "tiers",
        _("Tier distribution"),
        [(t, n, charts.TIER_COLOURS[t]) for t, n in scores["tiers"].items()]
        + [(_("Unscored"), scores["unscored"], charts.MUTED)],
        note=_("Initiatives in the portfolio by tier of their current score."),
        value_format=fmt_count,
    )
    histogram = charts.column_chart(
        "histogram",
        _("Score distribution"),
        [(f"{b['from']}–{b['to']}", b["count"], charts.PALETTE[0]) for b in scores["histogram"]],
        width=560,
        value_format=fmt_count,
        note=_("Current totals in 10-point buckets (the last bucket includes 100)."),
    )
    statuses = payload["pillar_status"]["statuses"]
    pillar_rows = [
        (
            pillar_names.get(row["pillar"], row["pillar"]),
            [
                (row["counts"][s], charts.STATUS_COLOURS.get(s, charts.MUTED), status_label(s))
                for s in statuses
            ],
        )
        for row in payload["pillar_status"]["rows"]
    ]
    pillars = charts.stacked_bar_chart(
        "pillars",
        _("Pillar coverage"),
        pillar_rows,
        value_format=fmt_count,
        legend=[(charts.STATUS_COLOURS.get(s, charts.MUTED), status_label(s)) for s in statuses],
        note=_("Initiatives per pillar by status; a pillar with no live initiative is a coverage gap."),
    )
    conc = payload["concentration"]
    leaders = set(conc["leaders"])
    partner_bars = [
        (
            pick_name(p, p["key"]),
            p["share"],
            charts.ALERT if p["key"] in leaders else charts.PALETTE[3],
            fmt_percent(p["share"]),
        )
        for p in conc["partners"]
    ]
    partners = charts.bar_chart(
        "partners",
        _("Partner shares of live participations"),
        partner_bars,
        max_value=100,
        note=_("HHI %(hhi)s (flagged above %(threshold)s).")
        % {"hhi": fmt_hhi(conc["hhi"]), "threshold": fmt_hhi(conc["threshold"])},
    )
    return {"tiers": tiers, "histogram": histogram, "pillars": pillars, "partners": partners}


EXPOSURE_SHOWN = 20
LIMITS_SHOWN = 50
HHI_LEVELS = {
    "none": gettext_lazy("No balances recorded"),
    "low": gettext_lazy("Unconcentrated"),
    "moderate": gettext_lazy("Moderately concentrated"),
    "high": gettext_lazy("Highly concentrated"),
}


def _month_label(iso: str) -> str:
    return iso[:7]


def _group_label(group: str, partners_by_key: dict[str, str]) -> str:
    """A related-party group as written, or the partner's name when the partner has no group."""
    if not group:
        return _("Others")
    return partners_by_key.get(group, group)


def exposure_context(payload: dict) -> dict | None:
    """The exposure section's tables and charts in the active language; None when the report has no such section
    (built before it existed) and ``{"present": False}`` when nothing is recorded in scope."""
    from partnerships.choices import LimitKind, LimitStatus
    from partnerships.limit_text import describe_limit, limit_name, pct, subject_label

    exposure = payload.get("exposure")
    if exposure is None:
        return None
    if not exposure.get("present"):
        return {"present": False}
    partners = [{**p, "name": pick_name(p, p["key"])} for p in exposure["partners"]["items"]]
    names = {p["key"]: p["name"] for p in partners}
    groups = [{**g, "name": _group_label(g["group"], names)} for g in exposure["groups"]["items"]]
    months = [_month_label(m) for m in exposure["trend"]["months"]]
    balance_chart = charts.line_chart(
        "exposure-balances",
        _("Balances with partners, last 12 months (10k CNY)"),
        months,
        [(pgettext("sum of balances", "Total"), exposure["trend"]["total"], charts.PALETTE[0])]
        + [
            (_group_label(s["group"], names), s["values"], charts.PALETTE[(i + 1) % len(charts.PALETTE)])
            for i, s in enumerate(exposure["trend"]["series"])
        ],
        value_format=fmt_figure,
        note=_(
            "Month-end balances of loans made with partners (joint lending and facilitation), by related-party group."
        ),
    )
    kind_labels = dict(LimitKind.choices)
    trend = exposure.get("limit_trend") or {}
    limit_chart = None
    if trend.get("series"):
        limit_chart = charts.line_chart(
            "exposure-limits",
            _("Highest limit utilisation per kind, last 12 months"),
            [_month_label(m) for m in trend["months"]],
            [
                (
                    str(kind_labels.get(s["kind"], s["kind"])),
                    s["values"],
                    charts.PALETTE[i % len(charts.PALETTE)],
                )
                for i, s in enumerate(trend["series"])
            ],
            value_format=lambda v: fmt_percent(v),
            guides=[(100, _("limit"))],
            min_peak=100,
            note=_(
                "Utilisation is the share of a limit used (the limit itself is 100%); a gap is a month the check could not tell."
            ),
        )
    status_labels = dict(LimitStatus.choices)
    limits = exposure["limits"]
    limit_rows = [
        {
            **row,
            "limit_name": limit_name(row),
            "subject_label": subject_label(row, row.get("bank", "")),
            "status_label": str(status_labels.get(row["status"], row["status"])),
            "value_label": pct(row.get("value_percent")),
            "threshold_label": pct(row.get("threshold_percent")),
            "utilisation_label": pct(row.get("utilisation_percent")),
            "description": describe_limit(row, bank_name=row.get("bank", "")),
        }
        for row in limits["items"][:LIMITS_SHOWN]
    ]
    hhi = exposure["hhi"]
    return {
        "present": True,
        "month": _month_label(exposure["month"]),
        "total_balance": exposure["total_balance"],
        "joint_balance": exposure["joint_balance"],
        "partners": partners[:EXPOSURE_SHOWN],
        "partners_note": truncation_note(
            min(len(partners), EXPOSURE_SHOWN), exposure["partners"]["listed"], exposure["partners"]["count"]
        ),
        "groups": groups[:EXPOSURE_SHOWN],
        "hhi_balances": hhi["balances"],
        "hhi_participations": hhi["participations"],
        "hhi_level": str(HHI_LEVELS.get(hhi["level_balances"], hhi["level_balances"])),
        "hhi_flagged": hhi["level_balances"] == "high",
        "limit_counts": [
            (str(status_labels.get(k, k)), limits["counts"].get(k, 0), k)
            for k in ("breach", "unknown", "warning", "within")
        ],
        "limit_rows": limit_rows,
        "limits_note": truncation_note(len(limit_rows), limits["listed"], limits["count"]),
        "charts": {"balances": balance_chart, "limits": limit_chart},
    }


def truncation_note(shown: int, listed: int, total: int) -> str:
    """What a list on the page leaves out, and what the downloads hold ("" when the page shows everything)."""
    if shown >= total:
        return ""
    if listed >= total:
        return _(
            "The first %(shown)s of %(total)s are listed here; the CSV and XLSX downloads list them all."
        ) % {
            "shown": shown,
            "total": total,
        }
    return _(
        "The first %(shown)s of %(total)s are listed here; the CSV and XLSX downloads list the first %(listed)s."
    ) % {"shown": shown, "total": total, "listed": listed}


def report_context(payload: dict) -> dict:
    """Everything the template needs, in the active language (call inside translation.override)."""
    pillar_names = _pillar_names(payload)

    def with_pillar(items):
        return [{**i, "pillar_name": pillar_names.get(i.get("pillar"), i.get("pillar", ""))} for i in items]

    stale = payload["stale"]
    stale_reasons = {
        key: str(label) % {"days": stale["days"]} if key == STALE_DUE else str(label)
        for key, label in STALE_LABELS.items()
    }
    failed = payload["failed_gates"]
    failed_items = []
    for item in with_pillar(failed["items"][:FAILED_SHOWN]):
        gates = [
            {
                **g,
                "name": pick_name(g, g["key"]),
                "reason_label": gate_reason_text(g),
            }
            for g in item["gates"]
        ]
        failed_items.append({**item, "gates": gates})
    conc = payload["concentration"]
    partners = [{**p, "name": pick_name(p, p["key"])} for p in conc["partners"]]
    leader_names = [p["name"] for p in partners if p["key"] in conc["leaders"]]
    coverage = payload["coverage"]
    scenario_types = with_pillar([{**t, "name": pick_name(t, t["key"])} for t in coverage["scenario_types"]])
    kpis = payload["kpis"]
    pillar_status = payload["pillar_status"]
    return {
        "payload": payload,
        "title": report_title(payload),
        "scope": scope_label(payload),
        "period_start": _date(payload["period"]["start"]),
        "period_end": _date(payload["period"]["end"]),
        "as_of": _datetime(payload.get("as_of")),
        "scores": payload["scores"],
        "statuses": [(s, status_label(s)) for s in pillar_status["statuses"]],
        "pillar_rows": [
            {
                **r,
                "pillar_name": pillar_names.get(r["pillar"], r["pillar"]),
                "cells": [r["counts"][s] for s in pillar_status["statuses"]],
            }
            for r in pillar_status["rows"]
        ],
        "status_totals": [pillar_status["totals"][s] for s in pillar_status["statuses"]],
        "grand_total": pillar_status["total"],
        "top": with_pillar(payload["ranking"]["top"]),
        "bottom": with_pillar(payload["ranking"]["bottom"]),
        "movers": payload["movers"],
        "mover_items": with_pillar(payload["movers"]["items"]),
        "failed": failed,
        "failed_items": failed_items,
        "failed_by_gate": [{**g, "name": pick_name(g, g["key"])} for g in failed["by_gate"]],
        "stale": stale,
        "stale_counts": [(stale_reasons[k], n) for k, n in stale["by_reason"].items()],
        "stale_items": [
            {
                **i,
                "reason_label": stale_reasons.get(i["reason"], i["reason"]),
                "rubric_version_label": rubric_version_label(i),
            }
            for i in with_pillar(stale["items"][:STALE_SHOWN])
        ],
        "stale_note": truncation_note(
            min(len(stale["items"]), STALE_SHOWN), len(stale["items"]), stale["count"]
        ),
        "failed_note": truncation_note(len(failed_items), len(failed["items"]), failed["count"]),
        # Open monitoring events and overdue remediations (issue 14; absent from older reports).
        "monitoring": payload.get("monitoring"),
        "monitoring_items": [
            {
                **e,
                "kind_label": fmt_choice(MonitoringEventKind, e["kind"]),
                "severity_label": fmt_choice(Severity, e["severity"]),
                "severe": e["severity"] in SEVERE,
            }
            for e in (payload.get("monitoring") or {}).get("items", [])[:STALE_SHOWN]
        ],
        "coverage_pillars": with_pillar(coverage["pillars"]),
        "pillar_gaps": [pillar_names.get(p, p) for p in coverage["pillar_gaps"]],
        "scenario_gaps": [t for t in scenario_types if not t["live"]],
        "scenario_types": scenario_types,
        "kpi_pillars": with_pillar(kpis["by_pillar"]),
        "kpi_lowest": with_pillar(
            [k for k in kpis["items"] if k["attainment"] is not None][:LOWEST_KPIS_SHOWN]
        ),
        "kpi_count": kpis.get("count", len(kpis["items"])),  # reports before list limits have no count
        "concentration": conc,
        "concentration_level": str(CONCENTRATION_LEVELS.get(conc["level"], conc["level"])),
        "partners": partners,
        "leader_names": leader_names,
        "charts": _charts(payload, pillar_names),
        "exposure": exposure_context(payload),
    }


def report_render(payload: dict, *, language: str | None = None) -> str:
    """The report as an HTML fragment in ``language`` (default: the site's)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        return render_to_string("scoring/reports/report.html", report_context(payload))


def report_page(fragment: str, *, payload: dict, language: str | None = None) -> str:
    """A standalone, printable HTML document around a rendered fragment."""
    with translation.override(language or settings.LANGUAGE_CODE):
        return render_to_string(
            "scoring/reports/page.html",
            {
                "fragment": fragment,
                "title": report_title(payload),
                "scope": scope_label(payload),
                "language": translation.get_language(),
            },
        )
