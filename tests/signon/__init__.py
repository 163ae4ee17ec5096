"""Sign-on against real parts: Debian's slapd and a django-oauth-toolkit OIDC provider, both started here."""
