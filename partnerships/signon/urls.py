"""/admin/signon/: the second factor, "no access yet", and the OIDC sign-in (config/urls.py includes these)."""

from django.urls import path

from . import views

app_name = "signon"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("enrol/", views.enrol, name="enrol"),
    path("recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("second-factor/", views.status, name="status"),
    path("no-access/", views.no_access, name="no-access"),
    path("oidc/start/", views.OIDCStartView.as_view(), name="oidc-start"),
    path("oidc/callback/", views.OIDCCallbackView.as_view(), name="oidc-callback"),
]
