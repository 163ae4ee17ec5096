"""Assessment entry: each criterion's anchored levels beside its rating; submit, approve and return as buttons.

A door to ``scoring.services.assessments`` like the API: the ratings form asks the service whether the ratings
can be written (a draft, the analyst role) and saving writes them through it; the buttons and the list actions
call the lifecycle's services, which lock the assessment and check its state again. Buttons show only to whom
the service would allow them.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from partnerships.admin.base import ServiceAdminMixin, TenantScopedAdmin, adopt
from partnerships.admin.filters import TenantBankFilter
from partnerships.models.base import bilingual_name
from partnerships.tenancy import actor_has_bank_role

from ..choices import AssessmentStatus, CriterionSource
from ..models import Assessment, Criterion, Rating
from ..services.assessments import (
    RATE_ROLE,
    assessment_approve,
    assessment_check_create,
    assessment_check_ratings,
    assessment_create,
    assessment_return,
    assessment_set_ratings,
    assessment_submit,
    assessment_update_note,
    may_approve,
    may_return,
)

VALUE = "rating__%s"
RATIONALE = "rationale__%s"


def _number(value) -> str:
    return "" if value is None else f"{value.normalize():f}"


def criterion_help(c: Criterion) -> str:
    """The criterion's description and anchored levels, beside its rating."""
    description = bilingual_name(c.description_zh_hans, c.description_en)
    levels = format_html_join(
        "", "<li><b>{}</b> {}</li>", ((lvl, c.level_text(lvl)) for lvl in range(c.scale_min, c.scale_max + 1))
    )
    return format_html('{}<ul class="rating-levels">{}</ul>', description, levels)


class AssessmentAdminForm(forms.ModelForm):
    """The note, and for a saved assessment one rating and one rationale per rated criterion of its version."""

    class Meta:
        model = Assessment
        fields = ["initiative", "rubric_version", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria: list[Criterion] = []
        if self.instance.pk is None:
            return
        self.criteria = list(
            Criterion.objects.filter(version_id=self.instance.rubric_version_id, source=CriterionSource.RATED)
        )
        ratings = {r.criterion_id: r for r in Rating.objects.filter(assessment=self.instance)}
        frozen = self.instance.status != AssessmentStatus.DRAFT
        for c in self.criteria:
            rating = ratings.get(c.pk)
            label = c.name
            if c.is_gate:
                label = format_html(
                    "{} <strong>{}</strong>", c.name, _("gate ≥ %(t)s") % {"t": _number(c.gate_threshold)}
                )
            choices = [("", _("— not rated —"))] + [
                (str(level), f"{level} · {c.level_text(level)}")
                for level in range(c.scale_min, c.scale_max + 1)
            ]
            value = rating.value if rating else None
            if value is not None and _number(value) not in {str(v) for v, _label in choices[1:]}:
                choices.append((_number(value), _number(value)))  # a rating entered through the API, e.g. 2.5
            self.fields[VALUE % c.key] = forms.ChoiceField(
                label=label,
                choices=choices,
                required=False,
                initial=_number(value),
                disabled=frozen,
                help_text=criterion_help(c),
                widget=forms.Select(attrs={"class": "rating-select"}),
            )
            self.fields[RATIONALE % c.key] = forms.CharField(
                label=_("rationale"),
                required=False,
                max_length=5000,
                initial=rating.rationale if rating else "",
                disabled=frozen,
                widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
            )

    def changed_ratings(self) -> list[dict]:
        """The ratings this post changes, as the service takes them."""
        out = []
        for c in self.criteria:
            value_field, rationale_field = VALUE % c.key, RATIONALE % c.key
            if value_field in self.changed_data or rationale_field in self.changed_data:
                raw = self.cleaned_data.get(value_field) or None
                out.append(
                    {
                        "criterion": c.key,
                        "value": raw,
                        "rationale": self.cleaned_data.get(rationale_field, ""),
                    }
                )
        return out


@admin.register(Assessment)
class AssessmentAdmin(ServiceAdminMixin, TenantScopedAdmin):
    form = AssessmentAdminForm
    change_form_template = "scoring/admin/assessment_change_form.html"
    list_display = ["initiative", "rubric_version", "status", "author", "approved_by", "updated_at"]
    list_filter = ["status", "initiative__pillar", ("initiative__bank", TenantBankFilter)]
    search_fields = ["initiative__title", "initiative__code"]
    autocomplete_fields = ["initiative"]
    list_select_related = ["initiative", "rubric_version__rubric", "author", "approved_by"]
    readonly_fields = [
        "status",
        "author",
        "submitted_at",
        "approved_by",
        "approved_at",
        "returned_reason",
        "returned_by",
        "returned_at",
        "computed_criteria",
    ]
    actions = ["submit", "approve"]

    # --- the page -----------------------------------------------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = ["initiative", "rubric_version", "note"] if obj is None else ["note"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["initiative", "rubric_version", "note"]})]
        fieldsets = [
            (
                None,
                {
                    "fields": [
                        "initiative",
                        "rubric_version",
                        ("status", "author"),
                        ("submitted_at", "approved_by", "approved_at"),
                        "note",
                    ]
                },
            )
        ]
        if obj.returned_reason:
            fieldsets.append(
                (_("Returned to draft"), {"fields": ["returned_reason", ("returned_by", "returned_at")]})
            )
        criteria = Criterion.objects.filter(version_id=obj.rubric_version_id, source=CriterionSource.RATED)
        fieldsets.append(
            (
                _("Ratings"),
                {
                    "fields": [(VALUE % c.key, RATIONALE % c.key) for c in criteria],
                    "description": _(
                        "Choose each criterion's level by its anchored description; ratings change only while "
                        "the assessment is a draft."
                    ),
                },
            )
        )
        fieldsets.append((_("Computed from data"), {"fields": ["computed_criteria"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*self.readonly_fields, "initiative", "rubric_version"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "rubric_version":
            kwargs["queryset"] = db_field.related_model.objects.filter(status="published").select_related(
                "rubric"
            )
            kwargs["required"] = False
            kwargs["help_text"] = _("Empty: the published rubric of the initiative's pillar.")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("computed from data"))
    def computed_criteria(self, obj: Assessment):
        rows = Criterion.objects.filter(version_id=obj.rubric_version_id, source=CriterionSource.COMPUTED)
        return (
            format_html_join(
                "",
                "<div><strong>{}</strong> — {}</div>",
                ((c.name, bilingual_name(c.description_zh_hans, c.description_en)) for c in rows),
            )
            or "—"
        )

    # --- the door: checks and writes by the assessment services -------------------------------------------
    def service_validate(self, request, form, cleaned) -> None:
        if form.instance.pk is None:
            assessment_check_create(
                user=request.user,
                initiative=getattr(cleaned.get("initiative"), "pk", None),
                rubric_version=getattr(cleaned.get("rubric_version"), "pk", None),
            )
            return
        ratings = form.changed_ratings()
        if ratings:
            assessment_check_ratings(user=request.user, assessment=form.instance, ratings=ratings)

    def save_model(self, request, obj, form, change):
        if not change:
            saved = assessment_create(
                user=request.user,
                initiative=form.cleaned_data["initiative"].pk,
                rubric_version=getattr(form.cleaned_data.get("rubric_version"), "pk", None),
                note=form.cleaned_data.get("note", ""),
            )
            adopt(obj, saved)
            return
        if "note" in form.changed_data:
            assessment_update_note(user=request.user, assessment=obj.pk, note=form.cleaned_data["note"])
        ratings = form.changed_ratings()
        if ratings:
            assessment_set_ratings(user=request.user, assessment=obj.pk, ratings=ratings)
        adopt(obj, Assessment.objects.get(pk=obj.pk))

    def has_delete_permission(self, request, obj=None):
        return False  # an assessment is history; a wrong draft is returned or left, never deleted

    # --- buttons ------------------------------------------------------------------------------------------
    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/submit/", view(self.submit_view), name=f"{info[0]}_{info[1]}_submit"),
            path("<path:object_id>/approve/", view(self.approve_view), name=f"{info[0]}_{info[1]}_approve"),
            path("<path:object_id>/return/", view(self.return_view), name=f"{info[0]}_{info[1]}_return"),
            *super().get_urls(),
        ]

    def _visible(self, request, object_id) -> Assessment:
        obj = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if obj is None:
            raise Http404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def _back(self, obj) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:scoring_assessment_change", args=[obj.pk]))

    def submit_view(self, request, object_id):
        return self._button(request, object_id, assessment_submit, _("Submitted for approval."))

    def approve_view(self, request, object_id):
        obj = self._visible(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        result = self.run_service(request, assessment_approve, user=request.user, assessment=obj)
        if result:
            self._approved(request, obj, job=result[1])
        return self._back(obj)

    def _approved(self, request, assessment: Assessment, *, job) -> None:
        """Say what approving started, with a link to the score job to follow."""
        self.message_user(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                _("%(initiative)s: approved. The initiative is being scored:")
                % {"initiative": assessment.initiative},
                reverse("admin:scoring_scorejob_change", args=[job.pk]),
                _("follow the score job"),
            ),
            messages.SUCCESS,
        )

    def return_view(self, request, object_id):
        obj = self._visible(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self.run_service(
            request,
            assessment_return,
            user=request.user,
            assessment=obj,
            reason=request.POST.get("return_reason", ""),
            success=_("Returned to draft; the reason is shown on the assessment."),
        )
        return self._back(obj)

    def _button(self, request, object_id, service, success):
        obj = self._visible(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self.run_service(request, service, user=request.user, assessment=obj, success=success)
        return self._back(obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            user = request.user
            context.update(
                may_submit=obj.status == AssessmentStatus.DRAFT
                and actor_has_bank_role(user, obj.initiative.bank_id, min_role=RATE_ROLE),
                may_approve=may_approve(user, obj),
                may_return=may_return(user, obj),
                submit_url=reverse("admin:scoring_assessment_submit", args=[obj.pk]),
                approve_url=reverse("admin:scoring_assessment_approve", args=[obj.pk]),
                return_url=reverse("admin:scoring_assessment_return", args=[obj.pk]),
                completeness=self._completeness(obj),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @staticmethod
    def _completeness(obj: Assessment) -> dict:
        """How much of the rubric is rated: all rated criteria, and the gates (submit needs every gate)."""
        criteria = list(
            Criterion.objects.filter(
                version_id=obj.rubric_version_id, source=CriterionSource.RATED
            ).values_list("pk", "is_gate", "name_zh_hans", "name_en")
        )
        rated = set(
            Rating.objects.filter(assessment=obj, value__isnull=False).values_list("criterion_id", flat=True)
        )
        gates = [c for c in criteria if c[1]]
        return {
            "rated": sum(1 for c in criteria if c[0] in rated),
            "total": len(criteria),
            "gates_missing": [bilingual_name(c[2], c[3]) for c in gates if c[0] not in rated],
        }

    # --- list actions (several at once) --------------------------------------------------------------------
    def _run_each(self, request, queryset, service, done_message):
        for assessment in queryset.select_related("initiative"):
            result = self.run_service(request, service, user=request.user, assessment=assessment)
            if result:
                self.message_user(
                    request, done_message % {"initiative": assessment.initiative}, messages.SUCCESS
                )

    @admin.action(description=_("Submit for approval"), permissions=["change"])
    def submit(self, request, queryset):
        self._run_each(request, queryset, assessment_submit, _("%(initiative)s: submitted for approval."))

    @admin.action(
        description=_("Approve (a manager who neither wrote nor rated it)"), permissions=["approve"]
    )
    def approve(self, request, queryset):
        for assessment in queryset.select_related("initiative"):
            result = self.run_service(request, assessment_approve, user=request.user, assessment=assessment)
            if result:
                self._approved(request, assessment, job=result[1])

    def has_approve_permission(self, request):
        from partnerships.tenancy import bank_ids_for

        ids = bank_ids_for(request.user, min_role="manager")
        return ids is None or bool(ids)
