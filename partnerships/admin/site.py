"""Admin site titles in both languages."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


def configure_admin_site() -> None:
    admin.site.site_header = _("Partnership Scorecard")
    admin.site.site_title = _("Partnership Scorecard")
    admin.site.index_title = _("Bank–technology partnerships")
