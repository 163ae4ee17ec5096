"""Token authentication that reads the user's bank roles in the same query as the token and the user.

Every API request needs both: the token to know who calls, the roles for tenancy (``partnerships.tenancy``).
DRF's ``TokenAuthentication`` reads the token with its user; the roles then cost a second round trip on every
request. On PostgreSQL the memberships (and the directory account, partnerships.signon) ride along as two aligned arrays and are put where ``user_bank_roles``
caches them for the request; elsewhere (the embedded SQLite default) DRF's query stands and the roles are
read with it. The answer is kept between requests in the token cache (partnerships/api/token_cache.py), which
every write to a token, user, membership or directory account forgets; the checks on the user (active, its
directory account) run on every request, cached or not.
"""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request):
        self._request = request  # DRF makes an authenticator per request
        return super().authenticate(request)

    def _cached(self, key):
        """The token cache's answer; when this process knows the token's user and the view counts that user's
        requests (``UserRateThrottle``), the throttle's counter is incremented in the same round trip and the
        throttle takes the count from the request (``partnerships.api.throttling``). A request refused after
        authentication (403, 404) is then counted too: the throttle guards against abuse, it is not a quota."""
        from .throttling import UserRateThrottle
        from .token_cache import token_cache_get, token_cache_get_counting, token_user_hint

        request = getattr(self, "_request", None)
        user_id = token_user_hint(key)
        view = (getattr(request, "parser_context", None) or {}).get("view")
        window = None
        if user_id is not None and view is not None:
            if any(issubclass(c, UserRateThrottle) for c in getattr(view, "throttle_classes", ())):
                window = UserRateThrottle.window_of(user_id)
        if window is None:
            return token_cache_get(key)
        counter_key, expiry = window
        cached, count = token_cache_get_counting(key, counter_key, expiry)
        if count is not None:
            request._throttle_counted = {counter_key: count}
        return cached

    def authenticate_credentials(self, key):
        from .token_cache import token_cache_put, token_user_remember

        cached = self._cached(key)
        if cached is not None:
            token, roles = cached
            user = token.user
            user._scorecard_bank_roles = roles
        else:
            token = self._read(key)
            user = token.user
            token_cache_put(key, token, user._scorecard_bank_roles)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user = self._signon_checked(user)
        token_user_remember(key, user.pk)
        return user, token

    def _read(self, key):
        """The token with its user, the user's directory account and {bank_id: role} on the user."""
        if connection.vendor != "postgresql":
            from partnerships.signon.services.accounts import directory_account_of
            from partnerships.tenancy import user_bank_roles

            model = self.get_model()
            try:
                token = model.objects.select_related("user").get(key=key)
            except model.DoesNotExist:
                raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
            directory_account_of(token.user)  # read now, so the cached token carries it
            token.user._scorecard_bank_roles = (
                dict(user_bank_roles(token.user)) if token.user.is_active else {}
            )
            return token
        from django.contrib.postgres.aggregates import ArrayAgg

        model = self.get_model()
        order = "user__bank_memberships__id"
        try:
            token = (
                model.objects.select_related("user", "user__directory_account")
                .annotate(
                    _bank_ids=ArrayAgg("user__bank_memberships__bank_id", order_by=order),
                    _roles=ArrayAgg("user__bank_memberships__role", order_by=order),
                )
                .get(key=key)
            )
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        # A user with no membership gets one row of NULLs from the outer join.
        token.user._scorecard_bank_roles = {
            bank_id: role for bank_id, role in zip(token._bank_ids, token._roles, strict=True) if bank_id
        }
        return token

    @staticmethod
    def _signon_checked(user):
        """A directory account disabled in the directory gets nothing for its token (partnerships.signon): known
        from the account row read with the token, or found by a re-check when that row's check is stale."""
        from partnerships.signon.services.tokens import token_user_allowed

        if not token_user_allowed(user):
            raise exceptions.AuthenticationFailed(_("This directory account is disabled."))
        return user
