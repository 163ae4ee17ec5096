"""The REST API under /api/v1/: the router over both apps' viewsets, token sign-in, the schema and offline docs.

Routes (``api`` namespace for the resources)::

    auth/token/            POST {username, password} → {token}; DELETE revokes your token
    auth/login/, logout/   session sign-in for the browsable API
    banks/ partners/ pillars/ initiatives/ kpis/ evidence/ assessments/ rubrics/ rubric-versions/ criteria/ score-jobs/
    reports/ exposures/ bank-figures/ (each with import/)
    kpis/ kpi-observations/  read and written (JSON) through the KPI services; observations filter by kpi,
                           initiative, observed_since/observed_until
    evidence/              GET; POST a link (JSON); PATCH its note/link; DELETE; evidence/upload/ POST a file
                           (multipart, the only multipart route); evidence/{id}/download/ the file
    banks/{id}/limits/ limit-rules/   joint-lending limits: a bank's utilisation, and the limits themselves
    scoring/preview/       POST what-if scoring
    webhooks/ webhook-deliveries/   integrators' webhook endpoints (managers; rotate-secret/) and their delivery log
                           (redeliver/), docs/webhooks.md
    monitoring-events/ contracts/ reassessment-policies/ reassessments/   the partnership lifecycle: events and the
                           contract register (analysts), policies (managers), next re-assessment dates (read),
                           docs/lifecycle.md
    schema/ docs/ redoc/   OpenAPI 3 (YAML, or JSON with ?format=json), Swagger UI, Redoc — assets served locally

The initiatives route serves ``scoring.api.views.ScoredInitiativeViewSet``: partnerships' initiative viewset
extended by scoring (current score, score filters, score actions), since partnerships never imports scoring.
Any other path under /api/v1/ answers a JSON 404.
"""

from __future__ import annotations

import base64
import hashlib
import json

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpResponse
from django.template import engines
from django.urls import include, path, re_path
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import APIException, NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from config.api_errors import errors
from partnerships.api.exposure import BankPeriodFiguresViewSet, PartnerExposureViewSet
from partnerships.api.lifecycle import (
    ContractViewSet,
    MonitoringEventViewSet,
    ReassessmentPolicyViewSet,
    ReassessmentViewSet,
)
from partnerships.api.limit_rules import LimitRuleViewSet
from partnerships.api.views import (
    BankViewSet,
    EvidenceViewSet,
    KPIObservationViewSet,
    KPIViewSet,
    PartnerDueDiligenceViewSet,
    PillarViewSet,
    TechPartnerViewSet,
    ThrottleRefusalsMixin,
)
from partnerships.api.webhooks import WebhookDeliveryViewSet, WebhookEndpointViewSet
from partnerships.signon.services.tokens import token_issued_record, token_sign_in_check
from scoring.api.views import (
    AssessmentViewSet,
    CriterionViewSet,
    ReportViewSet,
    RubricVersionViewSet,
    RubricViewSet,
    ScoredInitiativeViewSet,
    ScoreJobViewSet,
    ScorePreviewView,
)


# --- Token sign-in -------------------------------------------------------------------------------------
class SignInLockedOut(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = _("Too many failed sign-ins for this username from your address; try again later.")
    default_code = "locked_out"


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    otp_token = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text=_(
            "The current code of your authenticator app (or a recovery code): needed by superusers and managers "
            "who sign in with a local password (docs/sign-on.md)."
        ),
    )

    def validate(self, attrs):
        request = self.context.get("request")
        user = authenticate(request=request, username=attrs["username"], password=attrs["password"])
        # django-axes (when installed) refuses a username + address after repeated failures and flags the request
        # it was given — DRF's request here, so its middleware leaves this answer alone: a 429 in the API's shape.
        if user is None and getattr(request, "axes_locked_out", False):
            raise SignInLockedOut()
        if user is None or not user.is_active:
            raise serializers.ValidationError(
                _("Unable to sign in with the username and password given."), code="authorization"
            )
        # Sign-on (partnerships.signon): a directory user with no role gets no token; a second factor when needed.
        token_sign_in_check(request=request, user=user, otp_token=attrs.get("otp_token"))
        attrs["user"] = user
        return attrs


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("Send it as: Authorization: Token <token>"))


# Outside the request's transaction: a refused sign-in answers 400, and ATOMIC_REQUESTS would roll back with it
# the failed attempt django-axes records — the lockout would never come.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class TokenView(ThrottleRefusalsMixin, APIView):
    """Exchange a username and password for an API token (one per user), or revoke yours."""

    throttle_scope = "auth"
    public_methods = ("POST",)
    atomic_request = False  # see the decorator: errors must not roll back what django-axes recorded

    def get_permissions(self):
        if self.request.method in self.public_methods:
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        summary=_("Get an API token"),
        request=TokenRequestSerializer,
        responses={200: TokenResponseSerializer, **errors(400, 429)},
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        token_issued_record(request=request, user=token.user, created=created)  # the sign-in audit
        return Response({"token": token.key})

    @extend_schema(summary=_("Revoke your API token"), request=None, responses={204: None}, tags=["auth"])
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Docs that work with no internet ---------------------------------------------------------------------
_REDOC_PAGE = engines["django"].from_string(
    """<!DOCTYPE html>
<html>
  <head>
    <title>{{ title }}</title>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <div id="redoc-container"></div>
    <script src="{{ redoc_standalone }}"></script>
    <script>{{ init_script|safe }}</script>
  </body>
</html>
"""
)


class OfflineRedocView(SpectacularRedocView):
    """drf-spectacular's Redoc page without its web fonts from fonts.googleapis.com: only local assets.

    ReDoc's bundle also draws the "API docs by Redocly" logo from cdn.redoc.ly, with no option to turn it off; the
    page's Content-Security-Policy lets the browser fetch only from this server, so that request is never made
    (ReDoc hides the image when it fails to load). tests/e2e/test_api_docs.py watches Chromium's requests.
    """

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        # JSON, with "<" escaped, is safe inside a script element.
        schema_url = json.dumps(self._get_schema_url(request)).replace("<", "\\u003c")
        init_script = f'Redoc.init({schema_url}, {{}}, document.getElementById("redoc-container"));'
        digest = base64.b64encode(hashlib.sha256(init_script.encode()).digest()).decode()
        html = _REDOC_PAGE.render(
            {"title": self.title, "redoc_standalone": self._redoc_standalone(), "init_script": init_script}
        )
        response = HttpResponse(html)
        response["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'sha256-{digest}'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
        )
        return response


class ApiNotFoundView(APIView):
    """Every other path under /api/v1/: a JSON 404, whatever the method, signed in or not."""

    authentication_classes = []
    permission_classes = [AllowAny]
    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        hint = ""
        if not request.path.endswith("/"):
            hint = " " + str(_("Paths end with a slash: %(path)s/") % {"path": request.path})
        raise NotFound(str(_("No such API endpoint.")) + hint)


router = DefaultRouter()
router.register("banks", BankViewSet, basename="bank")
router.register("partners", TechPartnerViewSet, basename="partner")
router.register("due-diligence", PartnerDueDiligenceViewSet, basename="due-diligence")
router.register("pillars", PillarViewSet, basename="pillar")
router.register("initiatives", ScoredInitiativeViewSet, basename="initiative")
router.register("kpis", KPIViewSet, basename="kpi")
router.register("kpi-observations", KPIObservationViewSet, basename="kpi-observation")
router.register("evidence", EvidenceViewSet, basename="evidence")
router.register("exposures", PartnerExposureViewSet, basename="exposure")
router.register("bank-figures", BankPeriodFiguresViewSet, basename="bank-figures")
router.register("limit-rules", LimitRuleViewSet, basename="limit-rule")
router.register("assessments", AssessmentViewSet, basename="assessment")
router.register("rubrics", RubricViewSet, basename="rubric")
router.register("rubric-versions", RubricVersionViewSet, basename="rubric-version")
router.register("criteria", CriterionViewSet, basename="criterion")
router.register("score-jobs", ScoreJobViewSet, basename="score-job")
router.register("reports", ReportViewSet, basename="report")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("monitoring-events", MonitoringEventViewSet, basename="monitoring-event")
router.register("contracts", ContractViewSet, basename="contract")
router.register("reassessment-policies", ReassessmentPolicyViewSet, basename="reassessment-policy")
router.register("reassessments", ReassessmentViewSet, basename="reassessment")

resource_patterns = [
    path("scoring/preview/", ScorePreviewView.as_view(), name="score-preview"),
    *router.urls,
]

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/", include("rest_framework.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", OfflineRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("", include((resource_patterns, "api"))),
    re_path(r"^.*$", ApiNotFoundView.as_view()),
]
