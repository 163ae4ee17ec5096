"""Serializers of the partnerships API: shapes and field types only; rules and tenancy checks live in services.

Keys, not ids, name reference data in initiative payloads (``pillar``, ``scenario_types``, ``partners[].partner``),
so a payload reads the same in every deployment.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import (
    BankType,
    EvidenceKind,
    InitiativeStatus,
    LawfulBasis,
    PartnerRole,
    PersonalDataCategory,
    PillarKey,
    Province,
    RiskTier,
    Role,
    TransferMechanism,
)
from ..models import (
    KPI,
    Bank,
    Evidence,
    Initiative,
    InitiativeDataCategory,
    InitiativePartner,
    KPIObservation,
    PartnerDueDiligence,
    PartnerLicence,
    PartnerMetric,
    Pillar,
    ScenarioType,
    TechPartner,
)
from ..tenancy import user_bank_roles, user_has_bank_role
from .filters import MAX_ID
from .permissions import ROLE_LABELS, bank_id_of


class InputNamesMixin:
    """Validated data keyed by the field names clients send (``bank``), not by the model sources (``bank_id``)."""

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        for name, field in self.fields.items():
            if not field.read_only and field.source not in (name, "*") and field.source in values:
                values[name] = values.pop(field.source)
        return values


class TenantPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of a tenant object the user can see, and (``min_role``) may act on.

    Another bank's object answers exactly like a missing one ("does not exist"); a visible object in a bank where
    the user lacks the role says so.
    """

    default_error_messages = {"role": _("You need the {role} role in this object's bank.")}

    def __init__(self, *, model, min_role: str = "viewer", **kwargs):
        self.model = model
        self.min_role = min_role
        kwargs.setdefault("queryset", model.objects.all())
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return self.model.objects.for_user(getattr(request, "user", None))

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool) and not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        obj = super().to_internal_value(data)
        request = self.context.get("request")
        if self.min_role != "viewer" and not user_has_bank_role(
            getattr(request, "user", None), bank_id_of(obj), min_role=self.min_role
        ):
            self.fail("role", role=ROLE_LABELS[self.min_role])
        return obj


# --- Reference data ------------------------------------------------------------------------------------
class BankSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text=_("In the language of the request."))
    role = serializers.SerializerMethodField(help_text=_("Your role in this bank (null for superusers)."))
    # Declared: a read-only field built from the model loses allow_blank, and the schema would then refuse "".
    bank_type = serializers.ChoiceField(
        choices=BankType.choices,
        allow_blank=True,
        read_only=True,
        help_text=_("Blank when not recorded; managers change it with PATCH."),
    )
    home_region = serializers.ChoiceField(
        choices=Province.choices,
        allow_blank=True,
        read_only=True,
        help_text=_("GB/T 2260 province code (two digits); blank when not recorded."),
    )

    class Meta:
        model = Bank
        fields = [
            "id",
            "code",
            "name",
            "name_zh_hans",
            "name_en",
            "is_illustrative",
            "bank_type",
            "home_region",
            "limit_warning_percent",
            "role",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "limit_warning_percent": {
                "help_text": _("Share of a limit's threshold at which a figure is “approaching” it (%).")
            },
        }

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices, allow_null=True))
    def get_role(self, obj: Bank) -> str | None:
        request = self.context.get("request")
        return user_bank_roles(getattr(request, "user", None)).get(obj.pk)


class BankProfileSerializer(serializers.ModelSerializer):
    """What a bank's managers change: the lending profile the limits read (checked by ``bank_profile_update``)."""

    class Meta:
        model = Bank
        fields = ["bank_type", "home_region", "limit_warning_percent"]
        extra_kwargs = {
            "bank_type": {"help_text": _("Blank: not recorded.")},
            "home_region": {"help_text": _("GB/T 2260 province code (two digits); blank: not recorded.")},
            "limit_warning_percent": {"help_text": _("More than 0 and at most 100 (%).")},
        }


class PartnerMetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartnerMetric
        fields = ["metric", "segment", "part_of", "period", "period_end", "value", "unit", "source"]
        read_only_fields = fields
        extra_kwargs = {
            "part_of": {"help_text": _("The segment this one is inside (blank: a top-level figure).")}
        }


class PartnerLicenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartnerLicence
        fields = ["licence_type", "number", "issuer", "valid_until", "source"]
        read_only_fields = fields
        extra_kwargs = {"valid_until": {"help_text": _("Null: no expiry.")}}


class TechPartnerSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text=_("In the language of the request."))
    licences = PartnerLicenceSerializer(many=True, read_only=True)
    metrics = PartnerMetricSerializer(many=True, read_only=True)

    class Meta:
        model = TechPartner
        fields = [
            "id",
            "key",
            "name",
            "name_zh_hans",
            "name_en",
            "ticker",
            "kind",
            "related_party_group",
            "is_illustrative",
            "description_zh_hans",
            "description_en",
            "licences",
            "metrics",
        ]
        read_only_fields = fields


class ScenarioTypeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = ScenarioType
        fields = ["key", "name", "name_zh_hans", "name_en", "group", "position"]
        read_only_fields = fields


class PillarSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    scenario_types = ScenarioTypeSerializer(many=True, read_only=True)

    class Meta:
        model = Pillar
        fields = [
            "key",
            "name",
            "name_zh_hans",
            "name_en",
            "description_zh_hans",
            "description_en",
            "position",
            "scenario_types",
        ]
        read_only_fields = fields


# --- Initiatives ---------------------------------------------------------------------------------------
@extend_schema_field(OpenApiTypes.STR)
class PartnerKeyField(serializers.SlugField):
    """Reads a TechPartner as its key; takes a key."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value.key


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class ScenarioTypeKeysField(serializers.ListField):
    """Reads the related scenario types as their keys (from the prefetch cache); takes a list of keys."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.SlugField(max_length=64))
        kwargs.setdefault("max_length", 50)
        super().__init__(**kwargs)

    def to_representation(self, data):
        return [t.key for t in data.all()]


@extend_schema_field({"type": "string", "nullable": True})
class UsernameField(serializers.CharField):
    """Reads a user as their username; takes a username (checked against the bank's members by the service)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 150)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value.get_username()


class InitiativePartnerSerializer(serializers.ModelSerializer):
    partner = PartnerKeyField(help_text=_("The tech partner's key, e.g. tencent."))
    partner_name = serializers.CharField(source="partner.name", read_only=True)
    role = serializers.ChoiceField(choices=PartnerRole.choices, default=PartnerRole.TECHNOLOGY)
    note = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    # Checked by the initiative service (PartnerService values), which answers with a field error of its own.
    services = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        max_length=20,
        help_text=_(
            "What the partner does here that needs a licence: credit_enhancement, credit_data, payment, lending. "
            "Left out: the link keeps what it had."
        ),
    )

    class Meta:
        model = InitiativePartner
        fields = ["partner", "partner_name", "role", "note", "services"]

    def validate(self, attrs):
        # A PATCH makes nested fields optional too; a partner entry still needs its partner.
        if "partner" not in attrs:
            raise serializers.ValidationError(
                {"partner": [self.fields["partner"].error_messages["required"]]}
            )
        return attrs


@extend_schema_field({"type": "string", "nullable": True})
class AgencyKeyField(PartnerKeyField):
    """Reads the credit-reporting agency as its key (from the model or a ``values()`` column); takes a key or null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value if isinstance(value, str) else value.key


class InitiativeDataCategorySerializer(serializers.ModelSerializer):
    """One category of personal information with its lawful basis (PIPL Art. 13) and separate consent."""

    category = serializers.ChoiceField(choices=PersonalDataCategory.choices)
    category_name = serializers.CharField(
        source="get_category_display", read_only=True, help_text=_("In the language of the request.")
    )
    lawful_basis = serializers.ChoiceField(
        choices=LawfulBasis.choices, allow_blank=True, required=False, default=""
    )
    separate_consent = serializers.BooleanField(required=False, default=False)

    class Meta:
        model = InitiativeDataCategory
        fields = ["category", "category_name", "lawful_basis", "separate_consent"]

    def validate(self, attrs):
        # A PATCH makes nested fields optional too; a category entry still needs its category.
        if "category" not in attrs:
            raise serializers.ValidationError(
                {"category": [self.fields["category"].error_messages["required"]]}
            )
        return attrs


class InitiativeSerializer(InputNamesMixin, serializers.ModelSerializer):
    """An initiative with its pillar, scenario types and partners by key; writes go to initiative services."""

    bank = serializers.IntegerField(
        source="bank_id", min_value=1, max_value=MAX_ID, help_text=_("Id of one of your banks.")
    )
    bank_code = serializers.CharField(source="bank.code", read_only=True)
    bank_name = serializers.CharField(source="bank.name", read_only=True)
    pillar = serializers.ChoiceField(source="pillar_id", choices=PillarKey.choices)
    pillar_name = serializers.CharField(source="pillar.name", read_only=True)
    scenario_types = ScenarioTypeKeysField(required=False, help_text=_("Scenario type keys of the pillar."))
    partners = InitiativePartnerSerializer(
        source="partner_links",
        many=True,
        required=False,
        max_length=50,
        help_text=_("Replaces the list when given."),
    )
    status = serializers.ChoiceField(
        choices=InitiativeStatus.choices,
        required=False,
        help_text=_("idea when a new initiative leaves it out."),
    )
    owner = UsernameField(required=False, help_text=_("Username of a member of the bank."))
    description = serializers.CharField(allow_blank=True, required=False, max_length=20000)
    start_date = serializers.DateField(allow_null=True, required=False)
    end_date = serializers.DateField(allow_null=True, required=False)
    personal_data_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=PersonalDataCategory.choices),
        required=False,
        max_length=len(PersonalDataCategory.values),
    )
    lawful_basis = serializers.ChoiceField(choices=LawfulBasis.choices, allow_blank=True, required=False)
    transfer_mechanism = serializers.ChoiceField(
        choices=TransferMechanism.choices, allow_blank=True, required=False
    )
    # Personal data as facts (rubric version 2): null is "not recorded", which version 2 never scores as "no".
    data_categories = InitiativeDataCategorySerializer(
        many=True,
        required=False,
        max_length=len(PersonalDataCategory.values),
        help_text=_(
            "Personal-data categories, each with its lawful basis and separate consent; replaces the list when "
            "given."
        ),
    )
    cross_border_destination = serializers.CharField(
        max_length=100, allow_blank=True, allow_null=True, required=False
    )
    credit_route_agency = AgencyKeyField(
        required=False,
        help_text=_(
            "Credit routing (the direct-connection cut-off): key of the licensed credit-reporting agency the "
            "credit-related data passes through; null for none."
        ),
    )
    impact_assessment_on = serializers.DateField(
        allow_null=True, required=False, help_text=_("Date of the impact assessment (PIPL Art. 55).")
    )

    class Meta:
        model = Initiative
        fields = [
            "id",
            "bank",
            "bank_code",
            "bank_name",
            "code",
            "title",
            "description",
            "pillar",
            "pillar_name",
            "scenario_types",
            "partners",
            "status",
            "start_date",
            "end_date",
            "owner",
            "personal_data_categories",
            "lawful_basis",
            "security_assessment_done",
            "cross_border_transfer",
            "transfer_mechanism",
            "no_personal_data",
            "data_categories",
            "provided_to_partner",
            "provision_separate_consent",
            "cross_border_destination",
            "cross_border_separate_consent",
            "credit_use",
            "credit_route_agency",
            "impact_assessment_on",
            "processing_agreement",
            "is_illustrative",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "is_illustrative", "created_at", "updated_at"]
        extra_kwargs = {
            "code": {
                "required": False,
                "help_text": _(
                    "Short reference, unique within the bank; generated from the pillar and the month "
                    "(e.g. sc-202611-004) when a new initiative leaves it out."
                ),
            }
        }
        # Uniqueness of (bank, code) is the service's to check, with a message on "code".
        validators = []


# --- KPIs ----------------------------------------------------------------------------------------------
class KPIObservationSerializer(serializers.ModelSerializer):
    class Meta:
        model = KPIObservation
        fields = ["id", "observed_on", "value", "note"]
        read_only_fields = fields


class KPISerializer(InputNamesMixin, serializers.ModelSerializer):
    """A KPI with its observations (written at kpi-observations/); writes go to the KPI services."""

    initiative = serializers.IntegerField(
        source="initiative_id",
        min_value=1,
        max_value=MAX_ID,
        help_text=_("Id of an initiative of one of your banks (analyst role to write)."),
    )
    observations = KPIObservationSerializer(many=True, read_only=True, help_text=_("Newest first."))

    class Meta:
        model = KPI
        fields = [
            "id",
            "initiative",
            "name",
            "cost_driver",
            "unit",
            "baseline",
            "baseline_date",
            "target",
            "target_date",
            "weight",
            "observations",
        ]
        read_only_fields = ["id", "observations"]
        # Uniqueness of (initiative, name) is the service's to check, with a message on "name".
        validators = []


class KPIObservationRecordSerializer(InputNamesMixin, serializers.ModelSerializer):
    """One observation of a KPI, as the kpi-observations/ resource reads and writes it (through the services)."""

    kpi = serializers.IntegerField(
        source="kpi_id",
        min_value=1,
        max_value=MAX_ID,
        help_text=_("Id of a KPI of one of your banks' initiatives; an observation stays with its KPI."),
    )
    initiative = serializers.IntegerField(source="kpi.initiative_id", read_only=True)

    class Meta:
        model = KPIObservation
        fields = ["id", "kpi", "initiative", "observed_on", "value", "note"]
        read_only_fields = ["id", "initiative"]
        # One observation a date per KPI is the service's to check, with a message on "observed_on".
        validators = []


# --- Evidence ------------------------------------------------------------------------------------------
class EvidenceSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # Declared, not derived: a read-only model field loses allow_blank, and the schema would then promise a URI
    # where a file's evidence answers "".
    url = serializers.URLField(
        read_only=True, allow_blank=True, label=_("Link"), help_text=_("The link; empty for a file.")
    )
    download = serializers.SerializerMethodField(
        help_text=_("For file evidence: the address to download it (signed-in members of the bank only).")
    )

    class Meta:
        model = Evidence
        fields = [
            "id",
            "initiative",
            "kind",
            "filename",
            "url",
            "note",
            "uploaded_by",
            "created_at",
            "download",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download(self, obj: Evidence) -> str | None:
        if obj.kind != EvidenceKind.FILE:
            return None
        view = self.context.get("view")
        request = self.context.get("request")
        if view is None or request is None:
            return None
        return request.build_absolute_uri(view.reverse_action("download", args=[obj.pk]))


# Evidence writes. Lengths, the link's form and the file's size and type are the service's to check (the model's
# validators, run by partnerships.services.evidence), so the API says exactly what the admin says.
class EvidenceLinkCreateSerializer(serializers.Serializer):
    initiative = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("Id of an initiative of one of your banks.")
    )
    url = serializers.CharField(help_text=_("The link: an http(s) address, up to 500 characters."))
    note = serializers.CharField(
        required=False, allow_blank=True, help_text=_("What the evidence shows, up to 300 characters.")
    )


class EvidenceUploadSerializer(serializers.Serializer):
    initiative = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text=_("Id of an initiative of one of your banks.")
    )
    file = serializers.FileField(
        help_text=_(
            "The file: pdf, png, jpg, jpeg, xlsx, docx, pptx, csv or txt, 10 MB at most by default; its content "
            "must match its extension."
        )
    )
    note = serializers.CharField(
        required=False, allow_blank=True, help_text=_("What the evidence shows, up to 300 characters.")
    )


class EvidenceChangeSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, help_text=_("Up to 300 characters."))
    url = serializers.CharField(
        required=False, help_text=_("A link evidence's new address; a file evidence has none.")
    )


# --- Due diligence -------------------------------------------------------------------------------------
@extend_schema_field({"type": "object", "additionalProperties": {}})
class AnswersField(serializers.JSONField):
    """The questionnaire's answers: a mapping of question to answer (checked by the service)."""


class PartnerDueDiligenceSerializer(InputNamesMixin, serializers.ModelSerializer):
    """A bank's due diligence on a partner; writes go to the due-diligence services, which check bank and role."""

    bank = serializers.IntegerField(
        source="bank_id", min_value=1, max_value=MAX_ID, help_text=_("Id of one of your banks.")
    )
    partner = PartnerKeyField(help_text=_("The partner's key, e.g. tencent."))
    partner_name = serializers.CharField(source="partner.name", read_only=True)
    answers = AnswersField(
        required=False, help_text=_("Question → answer (text, a number, true/false or null).")
    )
    inherent_risk_tier = serializers.ChoiceField(choices=RiskTier.choices)
    performed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = PartnerDueDiligence
        fields = [
            "id",
            "bank",
            "partner",
            "partner_name",
            "inherent_risk_tier",
            "performed_on",
            "next_due",
            "answers",
            "performed_by",
        ]
        read_only_fields = ["id", "performed_by"]
        extra_kwargs = {"next_due": {"help_text": _("When the next review falls due (after performed_on).")}}
