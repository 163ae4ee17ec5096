"""A tiny OpenID Connect provider for the tests: django-oauth-toolkit with OIDC, served by gunicorn on its own port
with its own SQLite file (tests/signon/conftest.py starts it). Authorization-code flow with PKCE required.

``PROVIDER_FAULT_FILE`` names a file whose content makes the provider misbehave on the next ID tokens, as a broken
or hostile provider would: ``forged`` signs them with a key that is not the published one (same key id),
``expired`` issues them already expired. Empty: a correct provider.
"""
