"""What Django's admin and the apps it uses leave in English, put into the reader's language.

- The yes / no / unknown icons: Django writes ``alt="True"`` whatever the language (a screen reader says it).
- History diffs (django-simple-history): a choice shows as its label, not its key (“草稿 → 已提交”, not
  “draft → submitted”); an empty value as “—”, not “None” or “Deleted 用户 (pk=None)”; a date as the locale
  writes it.
- The delete page: the rows that only link two records (an initiative's scenario types) are not listed as
  “Initiative-scenariotype关系: Initiative_scenario_types object (145)”; deleting a record removes its links.
- Permission pickers (users, groups): Django stores permission names in English (“Can add initiative”); they
  read in the reader's language, and only the models the admin manages are offered (plus any already given).
"""

from __future__ import annotations

import datetime

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.templatetags.static import static
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

EMPTY = "—"

BOOLEAN_TEXT = {True: _("Yes"), False: _("No"), None: _("Unknown")}


def boolean_icon(field_val):
    """Django's yes / no / unknown icon, with its text in the reader's language."""
    icon = {True: "yes", False: "no", None: "unknown"}[field_val]
    icon_url = static(f"admin/img/icon-{icon}.svg")
    return format_html('<img src="{}" alt="{}">', icon_url, BOOLEAN_TEXT[field_val])


def install() -> None:
    """Every admin page draws its boolean icons through this one function (lists, read-only fields)."""
    admin_list._boolean_icon = boolean_icon


# --- history ------------------------------------------------------------------------------------------------


class ReadableHistoryHelper(HistoricalRecordContextHelper):
    """The history page's “field: old → new” lines, as a reader of the page says them."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if isinstance(value, DeletedObject) and value.pk is None:
            return EMPTY  # simple-history names an empty foreign key as a deleted object
        if value is None or value == "" or value == []:
            return EMPTY
        if getattr(field, "flatchoices", None) and not isinstance(value, list | dict):
            return dict(field.flatchoices).get(value, value)
        if isinstance(value, bool):
            return BOOLEAN_TEXT[value]
        if isinstance(value, datetime.datetime):
            return formats.localize(timezone.localtime(value) if timezone.is_aware(value) else value)
        if isinstance(value, datetime.date):
            return formats.localize(value)
        return super().prepare_delta_change_value(change, value)


class ReadableHistoryMixin:
    """For a SimpleHistoryAdmin: its history page's diffs through ``ReadableHistoryHelper``."""

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryHelper(self.model, historical_record)


# --- the delete page ----------------------------------------------------------------------------------------


def _link_row_prefixes() -> tuple[set[str], set[str]]:
    """How the delete page names the rows of Django's own many-to-many tables (“Verbose: …”) and counts them."""
    rows, counts = set(), set()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.auto_created:
            rows.add(f"{capfirst(model._meta.verbose_name)}: ")
            counts.add(str(model._meta.verbose_name_plural))
    return rows, counts


def _without_link_rows(items: list, prefixes: set[str]) -> list:
    kept = []
    for item in items:
        if isinstance(item, list):
            nested = _without_link_rows(item, prefixes)
            if nested:
                kept.append(nested)
        elif not any(str(item).startswith(prefix) for prefix in prefixes):
            kept.append(item)
    return kept


class HideLinkRowsMixin:
    """The delete page lists the records that go, not the rows that only linked them to others."""

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        rows, counts = _link_row_prefixes()
        to_delete = _without_link_rows(to_delete, rows)
        model_count = {name: n for name, n in model_count.items() if str(name) not in counts}
        return to_delete, model_count, perms_needed, protected


# --- permissions --------------------------------------------------------------------------------------------

ACTIONS = {
    "add": _("Can add %(name)s"),
    "change": _("Can change %(name)s"),
    "delete": _("Can delete %(name)s"),
    "view": _("Can view %(name)s"),
}


def permission_label(permission: Permission) -> str:
    """“科技合作 | 合作项目 | 可添加合作项目”: Django's “app | model | name”, the name in the reader's language."""
    model = permission.content_type.model_class()
    if model is None:
        return str(permission)
    opts = model._meta
    action, _sep, model_name = permission.codename.partition("_")
    name = permission.name
    if action in ACTIONS and model_name == opts.model_name:
        name = ACTIONS[action] % {"name": opts.verbose_name}
    return f"{opts.app_config.verbose_name} | {capfirst(opts.verbose_name)} | {name}"


def managed_permissions(*, keep=()) -> Q:
    """The permissions of the models this admin manages, and ``keep`` (those already given: never dropped)."""
    wanted = Q(pk__in=list(keep))
    for model in admin.site._registry:
        wanted |= Q(content_type__app_label=model._meta.app_label, content_type__model=model._meta.model_name)
    return wanted


class PermissionLabelsMixin:
    """For the user and group admins: the permissions picker in the reader's language."""

    permission_fields = ("permissions", "user_permissions")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        for name in self.permission_fields:
            field = form.base_fields.get(name)
            if field is None:
                continue
            given = getattr(obj, name).values_list("pk", flat=True) if obj is not None else ()
            field.queryset = (
                Permission.objects.filter(managed_permissions(keep=given))
                .select_related("content_type")
                .order_by("content_type__app_label", "content_type__model", "codename")
            )
            field.label_from_instance = permission_label
        return form
