"""Admin registrations for partnerships; every tenant model goes through TenantScopedAdmin.

``operations`` re-registers the other apps' admins (groups, Celery beat, django-axes) in the reader's language;
``localize`` puts what Django's admin leaves in English (yes/no icons, history diffs, permission names) into it.
"""

from ..signon import admin as signon_admin  # noqa: F401  (sign-on's admins and the login page)
from . import (  # noqa: F401
    bank,
    exposure,
    initiative,
    kpi,
    lifecycle,
    limits,
    localize,
    operations,
    partner,
    taxonomy,
    users,
    webhooks,
)
from .site import configure_admin_site

configure_admin_site()
localize.install()
