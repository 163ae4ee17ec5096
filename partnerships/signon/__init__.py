"""Sign-on: directory (LDAP / Active Directory) and OIDC sign-in, group → bank role mapping, a second factor for
local accounts and the sign-in audit (issue 18, docs/sign-on.md).

The models live in the ``partnerships`` app (``partnerships.models`` imports them); the rest is here: ``conf``
(is a directory or an identity provider configured), ``backends`` (the authentication backends), ``services``
(every write: mappings, memberships that follow the groups, directory accounts, second factors, the audit),
``middleware`` (the second-factor gate and the directory re-check), ``views`` / ``urls`` (the pages under
/admin/signon/), ``admin`` and ``receivers`` (Django's sign-in signals into the audit).
"""
