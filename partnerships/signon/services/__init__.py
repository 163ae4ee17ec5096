"""Every write of sign-on goes through these services: the audit, the mapping and the memberships that follow it,
directory accounts, and second factors."""
