"""Computed criteria explained in the reader's language, from the figures the formula used.

The pure formulas (scoring.formulas) keep an English rationale in the stored inputs; a reader sees this
translated description instead, built from the same figures (the ``data`` of the breakdown row).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from partnerships.choices import LawfulBasis, PartnerRole, PersonalDataCategory, TransferMechanism


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _pct(x: float) -> str:
    return f"{x:+.2f}".rstrip("0").rstrip(".") + "%"


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
                "b": _num(k["baseline"]),
                "t": _num(k["target"]),
                "l": _num(k["latest"]),
                "a": _num(100 * k["attainment"]),
            }
        )
    if data.get("mean_attainment") is None:
        return _("No KPI with a target and an observation; not rated.") if not parts else "; ".join(parts)
    return "; ".join(parts) + _("; mean attainment %(a)s%% × 4.") % {"a": _num(100 * data["mean_attainment"])}


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


DESCRIBERS = {
    "partner_strength": _partner_strength,
    "kpi_attainment": _kpi_attainment,
    "data_protection": _data_protection,
}


def describe_computed(source: str, data: dict | None, fallback: str) -> str:
    describer = DESCRIBERS.get(source)
    if describer is None or not data:
        return fallback
    try:
        return describer(data)
    except (KeyError, TypeError, ValueError):  # data of an older shape: show what the formula wrote
        return fallback
