"""The regulatory checklist on the initiative admin: a panel on the change page and a page to answer it.

The panel shows the level reached today and what stops the next one; its link opens
``<initiative>/checklist/``, which lists every item of the current checklist of the initiative's pillar with its
rule, the answer, the evidence, the expiry date and the note. Saving calls
``scoring.services.checklists.checklist_answers_set`` (the one door, shared with the API), whose refusals show on
the rows they concern; nothing is written unless every changed row passes. Viewers read the page; analysts and
managers of the initiative's bank answer; another bank's initiative is not found (404).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from partnerships.errors import NON_FIELD, ServiceError
from partnerships.models import Evidence

from ..choices import ChecklistAnswerValue
from ..services.checklists import MAX_NOTE, checklist_answers_set, initiative_checklist, level_label

FORM_FIELDS = ("answer", "evidence", "expires_on", "note")


class ChecklistAnswerForm(forms.Form):
    """One item's answer. Checks only the shape; the service decides what a valid answer is."""

    answer = forms.ChoiceField(label=pgettext_lazy("checklist", "Answer"), required=False)
    evidence = forms.TypedChoiceField(label=_("Evidence"), required=False, coerce=int, empty_value=None)
    expires_on = forms.DateField(
        label=_("Evidence expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=MAX_NOTE,
        widget=forms.TextInput(attrs={"size": 28}),
    )

    def __init__(self, *args, row, evidence_choices, editable: bool, **kwargs):
        answer = row.answer
        initial = (
            {
                "answer": answer.answer,
                "evidence": answer.evidence_id,
                "expires_on": answer.expires_on,
                "note": answer.note,
            }
            if answer
            else {}
        )
        super().__init__(*args, initial=initial, prefix=f"item-{row.item.pk}", **kwargs)
        self.row = row
        # An answer can be changed, never withdrawn: the blank choice is offered only while unanswered.
        blank = [] if answer else [("", _("— not answered —"))]
        self.fields["answer"].choices = [*blank, *ChecklistAnswerValue.choices]
        self.fields["evidence"].choices = [("", "—"), *evidence_choices]
        if not editable:
            for field in self.fields.values():
                field.disabled = True

    def service_row(self) -> dict | None:
        """The row for the service when the user changed this item, else None."""
        if not self.has_changed():
            return None
        data = self.cleaned_data
        if not data.get("answer"):
            return None  # left unanswered
        return {
            "item": self.row.item.key,
            "answer": data["answer"],
            "evidence": data.get("evidence"),
            "expires_on": data.get("expires_on"),
            "note": data.get("note") or "",
        }


def _evidence_choices(initiative) -> list[tuple[int, str]]:
    rows = Evidence.objects.filter(initiative_id=initiative.pk).order_by("-created_at", "-id")
    return [(e.pk, str(e)[:80] or f"#{e.pk}") for e in rows.only("pk", "note", "url", "file")]


class InitiativeChecklistAdminMixin:
    """For the initiative ModelAdmin: the checklist panel on its change page and the checklist page."""

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<path:object_id>/checklist/",
                self.admin_site.admin_view(self.checklist_view),
                name="{}_{}_checklist".format(*info),
            ),
            *super().get_urls(),
        ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append((_("Regulatory checklist"), {"fields": ["checklist_panel"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "checklist_panel"]

    @admin.display(description=_("level reached and what stops the next"))
    def checklist_panel(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        checklist = initiative_checklist(obj, as_of=timezone.localdate())
        return render_to_string(
            "scoring/admin/checklist_panel.html",
            {
                "checklist": checklist,
                "level_name": level_label(checklist.level) if checklist.level else "",
                "url": reverse("admin:partnerships_initiative_checklist", args=[obj.pk]),
                "answered": sum(1 for row in checklist.rows if row.answer),
            },
        )

    def checklist_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))  # scoped: another bank's initiative is None
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise Http404
        editable = self.has_change_permission(request, obj)
        if request.method == "POST" and not editable:
            raise PermissionDenied
        checklist = initiative_checklist(obj, as_of=timezone.localdate())
        choices = _evidence_choices(obj)
        data = request.POST if request.method == "POST" else None
        forms_ = [
            ChecklistAnswerForm(data, row=row, evidence_choices=choices, editable=editable)
            for row in checklist.rows
        ]
        if data is not None and checklist.version is not None:
            if all(form.is_valid() for form in forms_):
                pairs = [(form, row) for form in forms_ if (row := form.service_row()) is not None]
                if not pairs:
                    self.message_user(request, _("Nothing changed."), messages.INFO)
                    return HttpResponseRedirect(request.get_full_path())
                try:
                    checklist_answers_set(
                        user=request.user, initiative=obj, answers=[row for _form, row in pairs]
                    )
                except ServiceError as exc:
                    self._show_errors(request, exc, [form for form, _row in pairs])
                else:
                    after = initiative_checklist(obj, as_of=timezone.localdate())
                    self.message_user(
                        request,
                        ngettext(
                            "%(count)d answer saved; level reached: %(level)s.",
                            "%(count)d answers saved; level reached: %(level)s.",
                            len(pairs),
                        )
                        % {"count": len(pairs), "level": _level_text(after.level)},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(request.get_full_path())
        levels = []
        for form in forms_:
            if not levels or levels[-1]["level"] != form.row.item.level:
                levels.append(
                    {"level": form.row.item.level, "name": level_label(form.row.item.level), "forms": []}
                )
            levels[-1]["forms"].append(form)
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "original": obj,
            "title": _("Regulatory checklist: %(initiative)s") % {"initiative": obj},
            "checklist": checklist,
            "level_name": level_label(checklist.level) if checklist.level else "",
            "levels": levels,
            "editable": editable and checklist.version is not None,
            "change_url": reverse("admin:partnerships_initiative_change", args=[obj.pk]),
            "errors": any(form.errors for form in forms_),
        }
        return TemplateResponse(request, "scoring/admin/checklist.html", context)

    def _show_errors(self, request, exc: ServiceError, forms_: list[ChecklistAnswerForm]) -> None:
        """A refusal on the rows it names (``answers[i].field``), anything else as a message."""
        for name, texts in (exc.fields or {NON_FIELD: [exc.message]}).items():
            head, _sep, field = name.partition(".")
            index = head[len("answers[") : -1] if head.startswith("answers[") and head.endswith("]") else ""
            if index.isdigit() and int(index) < len(forms_):
                form = forms_[int(index)]
                form.add_error(field if field in FORM_FIELDS else None, texts)
            else:
                for text in texts:
                    self.message_user(request, text, messages.ERROR)


def _level_text(level: int) -> str:
    return f"{level} · {level_label(level)}" if level else "0"
