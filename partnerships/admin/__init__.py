"""Admin registrations for partnerships; every tenant model goes through TenantScopedAdmin."""

from . import bank, initiative, kpi, partner, taxonomy, users  # noqa: F401
from .site import configure_admin_site

configure_admin_site()
