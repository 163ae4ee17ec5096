"""``GET /api/v1/limit-rules/``: the exposure limits — the regulator's (every version, with its source and validity)
and the own limits of the banks the user belongs to. Read-only; limits change through files (regulatory) and the
admin (a bank's own, its managers)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from ..choices import LimitKind
from ..models import LimitRule
from ..tenancy import bank_ids_for
from .filters import ApiFilterBackend, IdFilter, StrictBooleanFilter, StrictOrderingFilter
from .limits import LimitRuleSerializer
from .views import ApiViewMixin


class LimitRuleFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=LimitKind.choices)
    # An id, not a choice among all banks: another bank's id finds nothing, it is not "invalid".
    bank = IdFilter(field_name="bank_id", label=_("Bank id (a bank's own limits)"))
    regulatory = StrictBooleanFilter(
        field_name="bank", lookup_expr="isnull", label=_("Regulatory limits only")
    )

    class Meta:
        model = LimitRule
        fields = ["kind", "bank", "regulatory"]


@extend_schema_view(
    list=extend_schema(
        summary=_("Exposure limits"),
        description=_(
            "The regulator's limits (every version, with its source and validity) and the own limits of the banks "
            "you belong to. A bank's own limit applies beside the regulatory ones, never instead of them."
        ),
    ),
    retrieve=extend_schema(summary=_("An exposure limit")),
)
class LimitRuleViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = LimitRuleSerializer
    filter_backends = [ApiFilterBackend, StrictOrderingFilter]
    filterset_class = LimitRuleFilter
    ordering_fields = ["key", "version", "valid_from", "id"]
    ordering = ["key", "-version"]

    def base_queryset(self):
        return LimitRule.objects.select_related("bank")

    def get_queryset(self):
        queryset = self.base_queryset()
        ids = bank_ids_for(self.request.user)
        if ids is None:
            return queryset
        return queryset.filter(Q(bank__isnull=True) | Q(bank_id__in=ids))
