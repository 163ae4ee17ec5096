"""Computed criteria explained in the reader's language, from the figures the formula used.

The pure formulas (scoring.formulas) keep an English rationale in the stored inputs; a reader sees this
translated description instead, built from the same figures (the ``data`` of the breakdown row).
"""

from __future__ import annotations

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from partnerships.choices import LawfulBasis, PartnerRole, PersonalDataCategory, TransferMechanism
from partnerships.formatting import fmt_figure, fmt_percent, fmt_rating

# Figures as every page and export shows them (partnerships.formatting): a rating or value as entered with at
# most two decimals, a percentage with at most one.
_num = fmt_rating
_figure = fmt_figure


def _pct(x: float) -> str:
    return fmt_percent(x, signed=True)


def _pct_number(fraction: float) -> str:
    """A 0–1 share as the number before a "%" the message writes itself: 0.5 → 50."""
    return fmt_percent(fraction, fraction=True).removesuffix("%")


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _period(period) -> str:
    # scoring.sources marks a growth figure averaged over segments (weighted by their revenue) this way.
    text = str(period or "")
    if text.endswith(" (segments)"):
        return text[: -len(" (segments)")] + _(", revenue-weighted over segments")
    return text


def _partner_strength(data: dict) -> str:
    parts = []
    for p in data.get("partners", []):
        role = _label(PartnerRole, p.get("role", ""))
        if p.get("value") is None:
            parts.append(
                _("%(name)s (%(role)s): no figures, not counted") % {"name": p["name"], "role": role}
            )
            continue
        figures = []
        if p.get("market_cap_change_pct") is not None:
            figures.append(
                _("market cap %(m)s (%(period)s) → %(band)s")
                % {
                    "m": _pct(p["market_cap_change_pct"]),
                    "period": p.get("market_cap_period"),
                    "band": p["market_cap_band"],
                }
            )
        if p.get("revenue_growth_pct") is not None:
            figures.append(
                _("revenue growth %(g)s (%(period)s) → %(band)s")
                % {
                    "g": _pct(p["revenue_growth_pct"]),
                    "period": _period(p.get("revenue_growth_period")),
                    "band": p["revenue_growth_band"],
                }
            )
        parts.append(
            _("%(name)s (%(role)s, weight %(w)s): %(figures)s; value %(v)s")
            % {
                "name": p["name"],
                "role": role,
                "w": p.get("role_weight"),
                "figures": ", ".join(figures),
                "v": _num(p["value"]),
            }
        )
    if data.get("value") is None:
        return _("No partner has reference figures; not rated.") if not parts else "; ".join(parts)
    return "; ".join(parts) + _("; weighted mean %(v)s.") % {"v": _num(data["value"])}


def _kpi_attainment(data: dict) -> str:
    parts = []
    for k in data.get("kpis", []):
        if not k.get("counted"):
            parts.append(
                _("%(name)s: not counted (%(reason)s)")
                % {"name": k["name"], "reason": _(k.get("reason") or "incomplete")}
            )
            continue
        parts.append(
            _("%(name)s: baseline %(b)s, target %(t)s, latest %(l)s → %(a)s%%")
            % {
                "name": k["name"],
                "b": _figure(k["baseline"]),
                "t": _figure(k["target"]),
                "l": _figure(k["latest"]),
                "a": _pct_number(k["attainment"]),
            }
        )
    if data.get("mean_attainment") is None:
        return _("No KPI with a target and an observation; not rated.") if not parts else "; ".join(parts)
    return "; ".join(parts) + _("; mean attainment %(a)s%% × 4.") % {
        "a": _pct_number(data["mean_attainment"])
    }


def _data_protection(data: dict) -> str:
    categories = data.get("personal_data_categories") or []
    if not categories:
        return _("No personal data shared → 4.")
    steps = [
        _("Personal data shared (%(c)s)")
        % {"c": "、".join(_label(PersonalDataCategory, c) for c in categories)}
    ]
    if not data.get("lawful_basis"):
        return steps[0] + _("; no lawful basis recorded → 0.")
    steps.append(_("lawful basis: %(b)s → 2") % {"b": _label(LawfulBasis, data["lawful_basis"])})
    if not data.get("security_assessment_done"):
        return "; ".join(steps) + _("; no impact assessment (PIPL Art. 55) → stays 2.")
    steps.append(_("impact assessment done → 3"))
    if data.get("cross_border_transfer") and not data.get("transfer_mechanism"):
        return "; ".join(steps) + _("; cross-border transfer without a recorded mechanism → stays 3.")
    if data.get("cross_border_transfer"):
        steps.append(
            _("cross-border mechanism: %(m)s → 4")
            % {"m": _label(TransferMechanism, data["transfer_mechanism"])}
        )
    else:
        steps.append(_("no cross-border transfer → 4"))
    return "; ".join(steps) + "."


# -- version 2 (scoring.formulas_v2, data from scoring.sources) -------------------------------------------------
# Chinese reads with full-width punctuation: the pieces are joined with "；" and end with "。" in Chinese, with
# "; " and "." in English.


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _join(parts: list[str]) -> str:
    return ("; " if _english() else "；").join(p for p in parts if p)


def _end(text: str) -> str:
    return text + ("." if _english() else "。")


def _listed(items) -> str:
    return (", " if _english() else "、").join(str(i) for i in items)


def _partner_name(p: dict) -> str:
    return (p.get("name_en") or p["name"]) if _english() else p["name"]


def _segment_growth_note(p: dict) -> str:
    """Which segments the growth counts and which it leaves out (inside another segment, or without figures)."""
    segments = p.get("segments") or []
    inside = [s for s in segments if s.get("part_of")]
    notes = []
    for parent in dict.fromkeys(s["part_of"] for s in inside):
        notes.append(
            _("%(segments)s are inside %(parent)s and not counted again")
            % {"segments": _listed(s["name"] for s in inside if s["part_of"] == parent), "parent": parent}
        )
    return _join(notes)


def _partner_strength_v2(data: dict) -> str:
    parts = []
    lead_without = []
    for p in data.get("partners", []):
        name, role = _partner_name(p), _label(PartnerRole, p.get("role", ""))
        if p.get("value") is None:
            if p.get("role_weight") == 2:
                lead_without.append(name)
            parts.append(_("%(name)s (%(role)s): no figures, counts 0") % {"name": name, "role": role})
            continue
        figures = []
        if p.get("market_cap_change_pct") is None:
            figures.append(_("no market-cap figure → 0"))
        else:
            figures.append(
                _("market cap %(m)s (%(period)s) → %(band)s")
                % {
                    "m": _pct(p["market_cap_change_pct"]),
                    "period": p.get("market_cap_period"),
                    "band": p["market_cap_band"],
                }
            )
        basis = p.get("revenue_growth_basis")
        if basis == "segments":
            text = _(
                "revenue growth %(g)s (%(period)s, revenue-weighted over the segments %(segments)s) → %(band)s"
            ) % {
                "g": _pct(p["revenue_growth_pct"]),
                "period": p.get("revenue_growth_period"),
                "segments": _listed(p.get("segments_counted") or []),
                "band": p["revenue_growth_band"],
            }
            note = _segment_growth_note(p)
            figures.append(text + (f" ({note})" if _english() else f"（{note}）") if note else text)
        elif basis == "company":
            figures.append(
                _("company revenue growth %(g)s (%(period)s; no segment figures) → %(band)s")
                % {
                    "g": _pct(p["revenue_growth_pct"]),
                    "period": p.get("revenue_growth_period"),
                    "band": p["revenue_growth_band"],
                }
            )
        elif p.get("segments"):
            unknown = [
                s["name"]
                for s in p["segments"]
                if not s.get("part_of") and (s.get("revenue") is None or s.get("growth_pct") is None)
            ]
            figures.append(
                _("segment growth unknown (no revenue or growth figure for %(segments)s) → 0")
                % {"segments": _listed(unknown)}
            )
        else:
            figures.append(_("no revenue-growth figure → 0"))
        if p.get("stale"):
            figures.append(
                _("stale: a figure's period ended more than %(days)s days before %(date)s")
                % {"days": data.get("stale_after_days", ""), "date": data.get("as_of", "")}
            )
        parts.append(
            _("%(name)s (%(role)s, weight %(w)s): %(figures)s; value %(v)s")
            % {
                "name": name,
                "role": role,
                "w": p.get("role_weight"),
                "figures": (", " if _english() else "，").join(figures),
                "v": _num(p["value"]),
            }
        )
    if lead_without:
        return _end(
            _join(
                [
                    _("Not rated: the lead partner %(names)s has no figures")
                    % {"names": _listed(lead_without)},
                    *parts,
                ]
            )
        )
    if data.get("value") is None:
        return _end(_("Not rated: no partners are recorded"))
    if len(parts) > 1:
        parts.append(_("weighted mean %(v)s") % {"v": _num(data["value"])})
    return _end(_join(parts))


_KPI_MISSING = {
    "baseline": gettext_lazy("baseline"),
    "target": gettext_lazy("target"),
    "start date": gettext_lazy("baseline date"),
    "target date": gettext_lazy("target date"),
}


def _kpi_attainment_v2(data: dict) -> str:
    parts = []
    for k in data.get("kpis", []):
        reason = k.get("reason") or ""
        weight = k.get("weight", 1)
        weighted = "" if weight == 1 else _(", weight %(w)s") % {"w": _num(weight)}
        if not k.get("counted"):
            parts.append(
                _("%(name)s: on %(date)s its path still expects the baseline; not yet counted")
                % {"name": k["name"], "date": k.get("judged_on", "")}
            )
        elif reason.startswith("missing: ") and reason != "missing: observation":
            what = reason.removeprefix("missing: ")
            parts.append(
                _("%(name)s: no %(what)s recorded → 0%%")
                % {"name": k["name"], "what": _KPI_MISSING.get(what, what)}
                + weighted
            )
        elif reason == "missing: observation":
            parts.append(
                _("%(name)s: no observation while %(e)s is expected by %(date)s → 0%%")
                % {"name": k["name"], "e": _figure(k["expected"]), "date": k.get("judged_on", "")}
                + weighted
            )
        else:
            parts.append(
                _("%(name)s: baseline %(b)s, expected %(e)s by %(date)s, latest %(l)s → %(a)s%%")
                % {
                    "name": k["name"],
                    "b": _figure(k["baseline"]),
                    "e": _figure(k["expected"]),
                    "date": k.get("judged_on", ""),
                    "l": _figure(k["latest"]),
                    "a": _pct_number(k["attainment"]),
                }
                + weighted
            )
    if data.get("mean_attainment") is None:
        if not parts:
            return _end(_("Not rated: no KPIs are recorded"))
        return _end(_join([_("Not rated: no KPI is due yet"), *parts]))
    parts.append(
        _("weighted mean attainment %(a)s%% × 4 = %(v)s")
        % {"a": _pct_number(data["mean_attainment"]), "v": _num(4 * data["mean_attainment"])}
    )
    return _end(_join(parts))


# Each rule of data_protection_v2, named as the reader knows it.
_RULES = {
    "PIPL Art. 13": gettext_lazy("PIPL Art. 13"),
    "PIPL Art. 23": gettext_lazy("PIPL Art. 23"),
    "PIPL Art. 28–29": gettext_lazy("PIPL Art. 28–29"),
    "PIPL Art. 38": gettext_lazy("PIPL Art. 38"),
    "PIPL Art. 39": gettext_lazy("PIPL Art. 39"),
    "断直连": gettext_lazy("断直连 (credit-related data only through a licensed credit-reporting agency)"),
}


def _category(key: str) -> str:
    return _label(PersonalDataCategory, key)


def _missing_fact(item: str) -> str:
    if item.startswith("sensitivity of "):
        key = item.removeprefix("sensitivity of ")
        return _("whether %(category)s is sensitive (PIPL Art. 28)") % {"category": _category(key)}
    texts = {
        "personal_data_categories": _(
            "the personal-data categories with their lawful basis (PIPL Art. 13), or “no personal data shared”"
        ),
        "provided_to_partner": _("whether personal data is provided to the partner (PIPL Art. 23)"),
        "cross_border": _("whether personal data crosses the border (PIPL Art. 38–39)"),
        "credit_use": _("whether credit-related data is used for credit decisions (断直连)"),
        "cross_border_destination": _("the cross-border destination (PIPL Art. 38–39)"),
    }
    return texts.get(item, item)


def _breach(b: dict, data: dict) -> str:
    rule = str(_RULES.get(b["rule"], b["rule"]))
    rule_code = b["rule"]
    if rule_code == "PIPL Art. 13":
        what = _("no lawful basis recorded for %(category)s") % {"category": _category(b["category"])}
    elif rule_code == "PIPL Art. 28–29":
        what = _("%(category)s is sensitive personal information, processed without separate consent") % {
            "category": _category(b["category"])
        }
    elif rule_code == "PIPL Art. 23":
        what = _("personal data is provided to the partner without separate consent")
    elif rule_code == "PIPL Art. 38":
        mechanism = data.get("transfer_mechanism") or ""
        if mechanism:
            what = _(
                "the transfer to %(destination)s rests on “%(mechanism)s”, which is not one of the CAC security "
                "assessment, the standard contract or certification"
            ) % {
                "destination": data.get("cross_border_destination", ""),
                "mechanism": _label(TransferMechanism, mechanism),
            }
        else:
            what = _(
                "the transfer to %(destination)s has no mechanism (CAC security assessment, standard contract or "
                "certification)"
            ) % {"destination": data.get("cross_border_destination", "")}
    elif rule_code == "PIPL Art. 39":
        what = _("the cross-border transfer has no separate consent")
    elif rule_code == "断直连":
        if b.get("agency"):
            what = _(
                "%(agency)s holds no personal credit-reporting licence valid on %(date)s, so credit-related data "
                "does not reach the bank through a licensed agency"
            ) % {"agency": _agency_name(data) or b["agency"], "date": data.get("as_of", "")}
        else:
            what = _(
                "credit-related data used for credit decisions reaches the bank with no credit-reporting agency "
                "recorded on the route"
            )
    else:
        what = b.get("what", "")
    return f"{rule}: {what}" if _english() else f"{rule}：{what}"


def _agency_name(data: dict) -> str:
    agency = data.get("credit_route_agency_recorded") or {}
    return (agency.get("name_en") if _english() else agency.get("name")) or ""


def _data_protection_v2(data: dict) -> str:
    categories = data.get("categories") or []
    if data.get("no_personal_data") and not categories:
        return _end(_("Recorded: no personal data is shared → 4"))
    if data.get("missing"):
        return _end(
            _("Not rated; not recorded: %(facts)s")
            % {"facts": _listed(_missing_fact(m) for m in data["missing"])}
        )
    if data.get("breaches"):
        return _end(_join([_breach(b, data) for b in data["breaches"]]) + " → 0")
    shown = [
        (_("%(category)s (sensitive, with separate consent)") if c.get("sensitive") else "%(category)s")
        % {"category": _category(c["key"])}
        for c in categories
    ]
    steps = [_("every category has its lawful basis: %(categories)s → 2") % {"categories": _listed(shown)}]
    if data.get("provided_to_partner"):
        steps.append(_("provided to the partner with separate consent (PIPL Art. 23)"))
    if data.get("cross_border"):
        steps.append(
            _(
                "cross-border transfer to %(destination)s under %(mechanism)s, with separate consent (PIPL Art. 38–39)"
            )
            % {
                "destination": data.get("cross_border_destination", ""),
                "mechanism": _label(TransferMechanism, data.get("transfer_mechanism", "")),
            }
        )
    if data.get("credit_use"):
        steps.append(
            _("credit-related data through %(agency)s, licensed on %(date)s (断直连)")
            % {
                "agency": _agency_name(data) or data.get("credit_route_agency", ""),
                "date": data.get("as_of", ""),
            }
        )
    dated = data.get("impact_assessment_on")
    as_of = data.get("as_of") or ""
    if not dated:
        steps.append(_("no impact assessment (PIPL Art. 55) → stays 2"))
    elif as_of and dated > as_of:
        steps.append(
            _("the impact assessment is dated %(date)s, after the scoring date → stays 2") % {"date": dated}
        )
    else:
        if (data.get("value") or 0) >= 3:
            steps.append(_("impact assessment (PIPL Art. 55) of %(date)s → 3") % {"date": dated})
            if data.get("processing_agreement"):
                steps.append(_("data-processing agreement with the partner → 4"))
            else:
                steps.append(_("no data-processing agreement with the partner → stays 3"))
        else:
            steps.append(
                _("the impact assessment of %(date)s is older than three years (PIPL Art. 55) → stays 2")
                % {"date": dated}
            )
    return _end(_join(steps))


DESCRIBERS = {
    "partner_strength": _partner_strength,
    "kpi_attainment": _kpi_attainment,
    "data_protection": _data_protection,
    "partner_strength_v2": _partner_strength_v2,
    "kpi_attainment_v2": _kpi_attainment_v2,
    "data_protection_v2": _data_protection_v2,
}


def describe_computed(source: str, data: dict | None, fallback: str) -> str:
    describer = DESCRIBERS.get(source)
    if describer is None or not data:
        return fallback
    try:
        return describer(data)
    except (KeyError, TypeError, ValueError):  # data of an older shape: show what the formula wrote
        return fallback


# -- joint-lending limits on a rated criterion (scoring.services.compute.apply_joint_lending) ----------------------
def describe_joint_lending(data: dict | None) -> str:
    """The joint-lending limits in a rating's data, one sentence each: those that cap it at 0 (breached or unknown)
    and those approaching their threshold (a warning, no cap); "" when there are none."""
    if not data:
        return ""
    from partnerships.limit_text import describe_limit

    sentences = [
        _("Capped at 0 by a joint-lending limit: %(limit)s") % {"limit": describe_limit(reason)}
        for reason in data.get("cap_reasons") or []
        if reason.get("kind") == "joint_lending"
    ]
    sentences += [
        _("Joint-lending limit approaching, no cap: %(limit)s") % {"limit": describe_limit(row)}
        for row in data.get("joint_lending_warnings") or []
    ]
    return "".join(_end(s) for s in sentences)


# The lifecycle caps (scoring.lifecycle): the contract register on exit readiness, severe events on the tier.
_EXIT_REASONS = {
    "no_contract": gettext_lazy("no contract is recorded in the contract and exit register"),
    "no_exit_plan": gettext_lazy("the contract register records no exit plan"),
    "exit_plan_untested": gettext_lazy("the exit plan has never been tested"),
    "no_data_return_terms": gettext_lazy("data return and destruction terms are not recorded"),
    "no_alternative_provider": gettext_lazy("no alternative provider is named"),
}


def describe_exit_cap(data: dict | None) -> str:
    """The contract register's cap on exit readiness in a rating's data, one sentence; "" when there is none."""
    if not data or "cap" not in data:
        return ""
    reasons = []
    for reason in data.get("cap_reasons") or []:
        kind = reason.get("kind")
        if kind == "exit_plan_test_old":
            reasons.append(
                _("the exit plan was last tested on %(date)s, more than two years ago")
                % {"date": reason.get("tested_on", "")}
            )
        elif kind in _EXIT_REASONS:
            reasons.append(str(_EXIT_REASONS[kind]))
    if not reasons:
        return ""
    return _end(
        _("Capped at %(cap)s by the contract register: %(reasons)s")
        % {"cap": data["cap"], "reasons": ("; " if _english() else "；").join(reasons)}
    )


def describe_tier_cap(tier_cap: dict | None) -> str:
    """Why a score's tier is capped (severe monitoring events not yet re-assessed); "" when it is not."""
    if not tier_cap:
        return ""
    from partnerships.choices import MonitoringEventKind, Severity

    events = _listed(
        _("%(kind)s (%(severity)s, %(date)s)")
        % {
            "kind": MonitoringEventKind(r["event_kind"]).label
            if r.get("event_kind") in MonitoringEventKind.values
            else r.get("event_kind"),
            "severity": Severity(r["severity"]).label if r.get("severity") in Severity.values else "",
            "date": r.get("occurred_on", ""),
        }
        for r in tier_cap.get("reasons") or []
    )
    return _end(
        _(
            "Re-assessment required: tier capped at %(cap)s (from %(tier)s) by %(events)s until an assessment is approved"
        )
        % {"cap": tier_cap.get("cap"), "tier": tier_cap.get("tier"), "events": events}
    )
