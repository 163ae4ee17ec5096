"""Assessment entry: each criterion's anchored levels beside its rating; submit and four-eyes approval."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from partnerships.admin.base import TenantScopedAdmin, TenantScopedMixin

from ..choices import AssessmentStatus, CriterionSource
from ..errors import ApplicationError
from ..models import Assessment, Criterion, Rating
from ..services.assessments import assessment_approve, assessment_submit, published_version_for


class RatingForm(forms.ModelForm):
    """The rating is chosen among the criterion's anchored levels, each with its description."""

    class Meta:
        model = Rating
        fields = ["value", "rationale"]
        widgets = {"rationale": forms.Textarea(attrs={"rows": 2, "cols": 50})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        criterion = getattr(self.instance, "criterion", None) if self.instance.criterion_id else None
        if criterion is not None:
            choices = [("", _("— not rated —"))] + [
                (f"{level}", f"{level} · {criterion.level_text(level)}")
                for level in range(criterion.scale_min, criterion.scale_max + 1)
            ]
            self.fields["value"] = forms.TypedChoiceField(
                label=_("rating"),
                choices=choices,
                required=False,
                coerce=int,
                empty_value=None,
                widget=forms.Select(attrs={"style": "max-width:20em"}),
            )


class RatingInline(TenantScopedMixin, admin.TabularInline):
    model = Rating
    form = RatingForm
    fields = ["criterion_info", "value", "rationale"]
    readonly_fields = ["criterion_info"]
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("criterion").order_by("criterion__position")

    def has_add_permission(self, request, obj=None):
        return False  # one row per rated criterion is created with the assessment

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != AssessmentStatus.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description=_("criterion"))
    def criterion_info(self, rating: Rating):
        c = rating.criterion
        gate = (
            format_html(" <strong>{}</strong>", _("gate ≥ %(t)s") % {"t": c.gate_threshold})
            if c.is_gate
            else ""
        )
        levels = format_html_join(
            "",
            "<li><b>{}</b> {}</li>",
            ((lvl, c.level_text(lvl)) for lvl in range(c.scale_min, c.scale_max + 1)),
        )
        english = (get_language() or "").startswith("en")
        description = (c.description_en if english else c.description_zh_hans) or c.description_zh_hans
        return format_html(
            '<div style="max-width:38em"><strong>{}</strong> <small>({}, {} {})</small>{}<br><small>{}</small>'
            '<ul style="margin:.3em 0 0 1em;padding:0;font-size:.85em">{}</ul></div>',
            c.name,
            c.key,
            _("weight"),
            c.weight,
            gate,
            description,
            levels,
        )


@admin.register(Assessment)
class AssessmentAdmin(TenantScopedAdmin):
    inlines = [RatingInline]
    list_display = ["initiative", "rubric_version", "status", "author", "approved_by", "updated_at"]
    list_filter = ["status", "initiative__pillar", "initiative__bank"]
    search_fields = ["initiative__title", "initiative__code"]
    autocomplete_fields = ["initiative"]
    list_select_related = ["initiative", "rubric_version__rubric", "author", "approved_by"]
    readonly_fields = ["status", "author", "submitted_at", "approved_by", "approved_at", "computed_criteria"]
    actions = ["submit", "approve"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # rating rows exist once the assessment is saved

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["initiative", "rubric_version", "note"]
        return [
            "initiative",
            "rubric_version",
            "status",
            "author",
            "note",
            "submitted_at",
            "approved_by",
            "approved_at",
            "computed_criteria",
        ]

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
                "", "<div><strong>{}</strong> — {}</div>", ((c.name, c.description_zh_hans) for c in rows)
            )
            or "—"
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.author = request.user
            if obj.rubric_version_id is None:
                try:
                    obj.rubric_version = published_version_for(obj.initiative)
                except ApplicationError as exc:
                    raise ValidationError(exc.message) from exc
        super().save_model(request, obj, form, change)
        if not change:  # a row per rated criterion, so the page lists every criterion with its levels
            Rating.objects.bulk_create(
                Rating(assessment=obj, criterion=c)
                for c in Criterion.objects.filter(
                    version_id=obj.rubric_version_id, source=CriterionSource.RATED
                )
            )

    def _run(self, request, queryset, service, done_message):
        for assessment in queryset.select_related("initiative"):
            try:
                with transaction.atomic():
                    result = service(assessment=assessment, user=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{assessment}: {exc.message}", messages.ERROR)
                continue
            job = result[1] if isinstance(result, tuple) else None
            self.message_user(
                request,
                done_message % {"assessment": assessment, "job": job.pk if job else ""},
                messages.SUCCESS,
            )

    @admin.action(description=_("Submit for approval"), permissions=["change"])
    def submit(self, request, queryset):
        self._run(request, queryset, assessment_submit, _("%(assessment)s submitted for approval."))

    @admin.action(description=_("Approve (a manager who is not the author)"), permissions=["change"])
    def approve(self, request, queryset):
        self._run(
            request, queryset, assessment_approve, _("%(assessment)s approved; score job %(job)s queued.")
        )
