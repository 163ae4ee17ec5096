"""The bench URLconf (config.settings.bench): the project's URLs plus one plain Django JSON view — the ceiling."""

from django.db import transaction
from django.http import JsonResponse
from django.urls import include, path


@transaction.non_atomic_requests  # plain: no database round trip at all (ATOMIC_REQUESTS would add BEGIN/COMMIT)
def plain_json_view(request):
    """What a request costs with no DRF, no auth, no database: the project's middleware and JSON encoding."""
    return JsonResponse({"id": 1, "code": "bench-ping", "title": "plain Django JSON", "ok": True})


urlpatterns = [
    path("bench/ping/", plain_json_view),
    path("", include("config.urls")),
]
