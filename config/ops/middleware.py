"""/healthz, /readyz and /metrics, answered before the rest of the middleware.

They are for load balancers, orchestrators and Prometheus, which call the process by its address over plain HTTP:
answered here, after the request id (so each answer carries X-Request-ID) and django-prometheus' counting, and
before Django checks the Host header against ALLOWED_HOSTS, SecurityMiddleware redirects to HTTPS, sessions,
the language, the request guard and the ``ATOMIC_REQUESTS`` transaction (which would fail before any check when
the database is down, turning "not ready" into a 500). No login, no throttle: /healthz does no I/O, /readyz
keeps its one costly part (the worker ping) in the cache, /metrics asks for its bearer token.
"""

from __future__ import annotations

import json

from django.http import HttpResponse

from .health import readiness
from .metrics import metrics_response


def _json(body: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def healthz(request) -> HttpResponse:
    return _json({"status": "ok"})


def readyz(request) -> HttpResponse:
    ready, body = readiness()
    response = _json(body, 200 if ready else 503)
    # Not one "Service Unavailable" error line per poll from django.request: the failing part's check has
    # logged a warning naming it and why.
    response._has_been_logged = True
    return response


ENDPOINTS = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics_response}


class OpsEndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = ENDPOINTS.get(request.path_info.rstrip("/") or "/")
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = HttpResponse(status=405)
            response["Allow"] = "GET, HEAD"
        else:
            response = view(request)
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
