"""The API of exposure limits: a bank's current utilisation (``GET banks/{id}/limits/``, an action of the bank viewset
served by ``bank_limits``) and the limits themselves (``GET limit-rules/``, ``partnerships.api.limit_rules``).

Reads only; the check is ``partnerships.services.limits.limit_utilisation``. Tenancy: the bank comes from the bank
viewset's scoped queryset (another bank's is 404); the limits list shows regulatory limits and those of the banks
the user belongs to.
"""

from __future__ import annotations

import datetime
import re

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from config.api_errors import errors

from ..choices import BankType, LendingProduct, LimitKind, LimitStatus
from ..models import LimitRule, TechPartner
from ..services.limits import limit_utilisation

PERIOD_PATTERN = r"^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$"  # YYYY-MM, from 1900
_MONTH = re.compile(PERIOD_PATTERN)


# --- a bank's utilisation ------------------------------------------------------------------------------------
class BankFigureSerializer(serializers.Serializer):
    value = serializers.CharField(
        allow_null=True, help_text=_("10k CNY, as a decimal string; null when not usable.")
    )
    period_end = serializers.DateField(allow_null=True)
    problem = serializers.ChoiceField(
        choices=["missing", "stale"],
        allow_null=True,
        help_text=_(
            "missing: none recorded up to the month; stale: the latest is older than the maximum age."
        ),
    )


class BankFiguresSerializer(serializers.Serializer):
    tier1_net_capital = BankFigureSerializer()
    total_loans = BankFigureSerializer()


class LimitRowSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text=_("The limit's key."))
    version = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=LimitKind.choices)
    regulatory = serializers.BooleanField(help_text=_("A regulatory limit (false: the bank's own)."))
    name_zh_hans = serializers.CharField()
    name_en = serializers.CharField()
    subject = serializers.CharField(
        help_text=_("Partner key or related-party group; empty for the bank as a whole.")
    )
    subject_kind = serializers.ChoiceField(choices=["partner", "group", "bank"])
    subject_name_zh_hans = serializers.CharField()
    subject_name_en = serializers.CharField()
    partners = serializers.ListField(
        child=serializers.CharField(), help_text=_("Keys of the partners it covers.")
    )
    status = serializers.ChoiceField(choices=LimitStatus.choices)
    value_percent = serializers.CharField(allow_null=True, help_text=_("Null when unknown."))
    threshold_percent = serializers.CharField(
        help_text=_("A minimum for partner_funded_share, a maximum for the other kinds.")
    )
    utilisation_percent = serializers.CharField(
        allow_null=True, help_text=_("value / threshold (threshold / value for a minimum), in per cent.")
    )
    warning_percent = serializers.CharField(
        help_text=_("The early-warning level that applies, in per cent of the threshold.")
    )
    figures = serializers.DictField(
        help_text=_("The figures the value rests on (10k CNY, as decimal strings).")
    )
    missing = serializers.ListField(
        child=serializers.CharField(), help_text=_("What an unknown limit lacks.")
    )
    period_end = serializers.DateField()


class StatusCountsSerializer(serializers.Serializer):
    within = serializers.IntegerField()
    warning = serializers.IntegerField()
    breach = serializers.IntegerField()
    unknown = serializers.IntegerField()


class BankLimitsSerializer(serializers.Serializer):
    bank = serializers.IntegerField()
    as_of = serializers.DateField()
    period_end = serializers.DateField(
        allow_null=True, help_text=_("The month checked (its last day); null when no exposure is recorded.")
    )
    figures = BankFiguresSerializer(allow_null=True)
    counts = StatusCountsSerializer()
    results = LimitRowSerializer(many=True)


LIMITS_PARAMETERS = [
    # The bounds _query enforces, stated (a filter given no value is refused, as the list filters are).
    OpenApiParameter(
        "partner",
        {"type": "string", "minLength": 1, "maxLength": 64},
        description=_("A partner key: its own rows and its related-party group's."),
    ),
    OpenApiParameter(
        "group",
        {"type": "string", "minLength": 1, "maxLength": 100},
        description=_("A related-party group: its rows and its partners'."),
    ),
    OpenApiParameter(
        "period",
        {"type": "string", "pattern": PERIOD_PATTERN},
        description=_("The month to check, YYYY-MM (default: the latest month with exposure up to today)."),
    ),
]

bank_limits_schema = extend_schema(
    summary=_("A bank's joint-lending limits"),
    description=_(
        "Current utilisation of every limit that applies to the bank — the regulator's and the bank's own — per "
        "partner, related-party group or the bank as a whole: value, threshold, utilisation, status (within, "
        "warning, breach, unknown) and the figures used. A limit whose figures are missing is unknown, never "
        "within. Filters: partner, group, period."
    ),
    parameters=LIMITS_PARAMETERS,
    responses={200: BankLimitsSerializer, **errors(400)},
    filters=False,
)


def _query(request) -> dict:
    params = request.query_params
    errors: dict[str, list[str]] = {}
    out: dict = {}
    period = params.get("period")
    if period is not None:
        if not _MONTH.fullmatch(period):  # fullmatch: "$" alone would let a trailing newline through
            errors["period"] = [str(_("Give a month as YYYY-MM, for example 2025-06."))]
        else:
            year, month = period.split("-")
            out["period"] = datetime.date(int(year), int(month), 1)
    partner = params.get("partner")
    if partner is not None:
        if not partner or len(partner) > 64 or not TechPartner.objects.filter(key=partner).exists():
            errors["partner"] = [str(_("No partner has this key."))]
        else:
            out["partner"] = partner
    group = params.get("group")
    if group is not None:
        if not group:
            errors["group"] = [str(_("This field may not be blank."))]
        elif len(group) > 100:
            errors["group"] = [str(_("At most 100 characters."))]
        else:
            out["group"] = group
    if errors:
        raise ValidationError(errors)
    return out


def bank_limits(request, bank) -> Response:
    """The body of ``GET banks/{id}/limits/`` for a bank the caller may see."""
    query = _query(request)
    as_of = timezone.localdate()
    result = limit_utilisation([bank.pk], as_of=as_of, **query)[bank.pk]
    rows = result.row_dicts()
    counts = {status: 0 for status in LimitStatus.values}
    for row in rows:
        counts[row["status"]] += 1
    body = {
        "bank": bank.pk,
        "as_of": as_of.isoformat(),
        "period_end": result.month_end.isoformat() if result.month_end else None,
        "figures": result.figures or None,
        "counts": counts,
        "results": rows,
    }
    return Response(body)


# --- the limits ----------------------------------------------------------------------------------------------
class LimitRuleSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField(help_text=_("In the language of the request."))
    regulatory = serializers.SerializerMethodField(help_text=_("A regulatory limit (false: a bank's own)."))
    products = serializers.ListField(
        child=serializers.ChoiceField(choices=LendingProduct.choices), help_text=_("Empty: every product.")
    )
    bank_types = serializers.ListField(
        child=serializers.ChoiceField(choices=BankType.choices), help_text=_("Empty: every bank.")
    )

    class Meta:
        model = LimitRule
        fields = [
            "id",
            "bank",
            "regulatory",
            "key",
            "version",
            "kind",
            "threshold_percent",
            "warning_percent",
            "products",
            "bank_types",
            "name",
            "name_zh_hans",
            "name_en",
            "source_zh_hans",
            "source_en",
            "valid_from",
            "valid_until",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_name(self, obj: LimitRule) -> str:
        from ..models.base import bilingual_name

        return bilingual_name(obj.name_zh_hans, obj.name_en)

    def get_regulatory(self, obj: LimitRule) -> bool:
        return obj.bank_id is None
