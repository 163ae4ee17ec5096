"""Token authentication that reads the user's bank roles in the same query as the token and the user.

Every API request needs both: the token to know who calls, the roles for tenancy (``partnerships.tenancy``).
DRF's ``TokenAuthentication`` reads the token with its user; the roles then cost a second round trip on every
request. On PostgreSQL the memberships ride along as two aligned arrays and are put where ``user_bank_roles``
caches them for the request; elsewhere (the embedded SQLite default) DRF's query stands and the roles are
read on first use, as before.
"""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        if connection.vendor != "postgresql":
            return super().authenticate_credentials(key)
        from django.contrib.postgres.aggregates import ArrayAgg

        model = self.get_model()
        order = "user__bank_memberships__id"
        try:
            token = (
                model.objects.select_related("user")
                .annotate(
                    _bank_ids=ArrayAgg("user__bank_memberships__bank_id", order_by=order),
                    _roles=ArrayAgg("user__bank_memberships__role", order_by=order),
                )
                .get(key=key)
            )
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # A user with no membership gets one row of NULLs from the outer join.
        user._scorecard_bank_roles = {
            bank_id: role for bank_id, role in zip(token._bank_ids, token._roles, strict=True) if bank_id
        }
        return user, token
