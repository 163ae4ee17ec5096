"""URL configuration: the admin (with a language switch; `/` leads there) and the API under /api/v1/.

Uploaded files (MEDIA_ROOT) are never served by URL, in any settings: evidence is read only through the admin's
and the API's download views, which check the user's bank (partnerships.services.evidence.evidence_open).
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),  # people land on the admin
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/signon/", include("partnerships.signon.urls")),  # second factor, OIDC, "no access yet"
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
]
