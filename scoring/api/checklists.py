"""The regulatory checklist in the API: ``GET / PUT /api/v1/initiatives/{id}/checklist/``.

``InitiativeChecklistMixin`` adds the ``checklist`` action to the initiative viewset the router serves. Reading
needs the viewer role in the initiative's bank, answering the analyst role; the answers are written by
``scoring.services.checklists.checklist_answers_set`` (the one door, shared with the admin's checklist page), whose
refusals the API's error handler answers as 400 (``answers[i].<field>``), 403, 404 or 409. Texts and rules come
in the request's language (``Accept-Language``).

Also here: the schema of the ``warnings`` an initiative's create / update answer carries (prohibited or
restricted scenario types, from ``partnerships.services.initiatives.initiative_warnings``).
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api_errors import errors
from partnerships.api.filters import MAX_ID
from partnerships.choices import ScenarioStatus
from partnerships.models import Initiative
from partnerships.models.base import bilingual_name

from ..choices import ChecklistAnswerValue
from ..services.checklists import (
    MAX_ANSWERS,
    MAX_NOTE,
    InitiativeChecklist,
    checklist_answers_set,
    initiative_checklist,
    level_label,
)
from .serializers import ScoredInitiativeSerializer


# --- Reading --------------------------------------------------------------------------------------------------
class ChecklistVersionSerializer(serializers.Serializer):
    urn = serializers.CharField()
    version = serializers.IntegerField()
    pillar = serializers.CharField()
    name = serializers.CharField(help_text=_("In the request's language."))


REASON_HELP = _("Why the item does not count: missing (not answered), not met, expired or no evidence.")


class ChecklistBlockingSerializer(serializers.Serializer):
    key = serializers.CharField()
    level = serializers.IntegerField()
    reason = serializers.CharField(help_text=REASON_HELP)
    text = serializers.CharField()


class ChecklistItemAnswerSerializer(serializers.Serializer):
    key = serializers.CharField()
    level = serializers.IntegerField(min_value=1, max_value=4)
    text = serializers.CharField(help_text=_("What must hold, in the request's language."))
    rule = serializers.CharField(help_text=_("The rule the item rests on, in the request's language."))
    answer = serializers.ChoiceField(
        choices=ChecklistAnswerValue.choices, allow_null=True, help_text=_("null: not answered yet.")
    )
    evidence = serializers.IntegerField(allow_null=True, help_text=_("Id of the initiative's evidence."))
    expires_on = serializers.DateField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    answered_by = serializers.CharField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    counts = serializers.BooleanField(
        help_text=_("Met with evidence that has not expired, or not applicable.")
    )
    reason = serializers.CharField(
        allow_null=True,
        help_text=_(
            "Why the item does not count: missing (not answered), not met, expired or no evidence; null when it "
            "counts."
        ),
    )


class InitiativeChecklistSerializer(serializers.Serializer):
    initiative = serializers.IntegerField()
    as_of = serializers.DateField()
    checklist = ChecklistVersionSerializer(
        allow_null=True, help_text=_("The current checklist of the pillar; null when none is loaded.")
    )
    level = serializers.IntegerField(
        min_value=0,
        max_value=4,
        help_text=_(
            "The highest level whose items, and those of every lower level, all count; it caps compliance "
            "readiness in rubric version 2."
        ),
    )
    level_name = serializers.CharField(allow_blank=True)
    blocking = ChecklistBlockingSerializer(many=True, help_text=_("The items that stop the next level."))
    items = ChecklistItemAnswerSerializer(many=True)


def checklist_payload(initiative: Initiative, checklist: InitiativeChecklist) -> dict:
    """The API's representation of an initiative's checklist (texts in the active language)."""
    version = checklist.version
    items = []
    for row in checklist.rows:
        answer = row.answer
        items.append(
            {
                "key": row.item.key,
                "level": row.item.level,
                "text": bilingual_name(row.item.text_zh_hans, row.item.text_en),
                "rule": bilingual_name(row.item.rule_zh_hans, row.item.rule_en),
                "answer": answer.answer if answer else None,
                "evidence": answer.evidence_id if answer else None,
                "expires_on": answer.expires_on if answer else None,
                "note": answer.note if answer else "",
                "answered_by": answer.answered_by.get_username() if answer and answer.answered_by else None,
                "answered_at": answer.answered_at if answer else None,
                "counts": row.reason is None,
                "reason": row.reason,
            }
        )
    return {
        "initiative": initiative.pk,
        "as_of": checklist.as_of,
        "checklist": None
        if version is None
        else {
            "urn": version.urn,
            "version": version.number,
            "pillar": version.pillar_id,
            "name": bilingual_name(version.name_zh_hans, version.name_en),
        },
        "level": checklist.level,
        "level_name": level_label(checklist.level) if checklist.level else "",
        "blocking": [
            {
                "key": b["key"],
                "level": b["level"],
                "reason": b["reason"],
                "text": bilingual_name(b["text_zh_hans"], b["text_en"]),
            }
            for b in checklist.blocking
        ],
        "items": items,
    }


# --- Answering ------------------------------------------------------------------------------------------------
class ChecklistAnswerWriteSerializer(serializers.Serializer):
    """The shape of one answer; the service checks the rules (evidence, expiry, note, the item's checklist)."""

    item = serializers.CharField(max_length=64, help_text=_("The item's key."))
    answer = serializers.ChoiceField(choices=ChecklistAnswerValue.choices)
    evidence = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text=_("Id of evidence recorded for this initiative; required for met."),
    )
    expires_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=_("When the evidence expires; after today, required for met."),
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_NOTE,
        trim_whitespace=True,
        help_text=_("Required for na: why the item does not apply."),
    )


class ChecklistWriteSerializer(serializers.Serializer):
    answers = ChecklistAnswerWriteSerializer(
        many=True,
        allow_empty=False,
        max_length=MAX_ANSWERS,
        help_text=_("The items to answer; items not listed keep their answers. All are written, or none."),
    )


class InitiativeChecklistMixin:
    """Adds ``checklist`` (GET / PUT) to an initiative viewset."""

    def base_queryset(self):
        if getattr(self, "action", None) == "checklist":
            return Initiative.objects.all()  # scoped to the user's banks by ApiViewMixin.get_queryset
        return super().base_queryset()

    @extend_schema(
        methods=["GET"],
        summary=_("The initiative's regulatory checklist"),
        description=_(
            "The items of the current checklist of the initiative's pillar, each with its rule and answer, and "
            "the level reached today: every item of that level and the levels below is met with evidence that "
            "has not expired, or does not apply. Unanswered items count as not met."
        ),
        responses={200: InitiativeChecklistSerializer},
        filters=False,
    )
    @extend_schema(
        methods=["PUT"],
        summary=_("Answer items of the checklist"),
        description=_(
            "Needs the analyst role in the initiative's bank. met needs evidence of this initiative and an expiry "
            "date after today; na needs a note. Items not listed keep their answers; all answers are written, or "
            "none. Answers with the checklist as GET shows it."
        ),
        request=ChecklistWriteSerializer,
        responses={200: InitiativeChecklistSerializer, **errors(409)},
        filters=False,
    )
    @action(
        detail=True,
        methods=["get", "put"],
        filter_backends=[],
        pagination_class=None,
        serializer_class=ChecklistWriteSerializer,  # the browsable API's form
    )
    def checklist(self, request, pk=None):
        initiative = self.get_object()
        if request.method == "PUT":
            serializer = ChecklistWriteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            checklist_answers_set(
                user=request.user, initiative=initiative, answers=serializer.validated_data["answers"]
            )
        checklist = initiative_checklist(initiative, as_of=timezone.localdate())
        return Response(InitiativeChecklistSerializer(checklist_payload(initiative, checklist)).data)


# --- The warnings of an initiative's create / update answer -----------------------------------------------
class InitiativeWarningSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[f"scenario_type_{ScenarioStatus.PROHIBITED}", f"scenario_type_{ScenarioStatus.RESTRICTED}"]
    )
    scenario_type = serializers.CharField()
    status = serializers.ChoiceField(choices=[ScenarioStatus.PROHIBITED, ScenarioStatus.RESTRICTED])
    message = serializers.CharField()
    rule = serializers.CharField()


class SavedInitiativeSerializer(ScoredInitiativeSerializer):
    """The answer to a create or an update: the initiative, and what it is warned about (it was saved)."""

    warnings = InitiativeWarningSerializer(
        many=True,
        read_only=True,
        help_text=_(
            "Prohibited or restricted scenario types, each with its rule. A prohibited type (P2P) may be recorded "
            "as history, but caps compliance readiness at 0."
        ),
    )

    class Meta(ScoredInitiativeSerializer.Meta):
        fields = [*ScoredInitiativeSerializer.Meta.fields, "warnings"]
