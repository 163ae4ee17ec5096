"""The OpenAPI schema validates with no warning, documents errors everywhere, and the docs work offline."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

from tests.api.conftest import API

pytestmark = pytest.mark.django_db

ROUTES = [
    "/api/v1/auth/token/",
    "/api/v1/banks/",
    "/api/v1/partners/",
    "/api/v1/pillars/",
    "/api/v1/initiatives/",
    "/api/v1/initiatives/{id}/",
    "/api/v1/initiatives/{id}/score/",
    "/api/v1/initiatives/{id}/scores/",
    "/api/v1/assessments/",
    "/api/v1/assessments/{id}/ratings/",
    "/api/v1/assessments/{id}/submit/",
    "/api/v1/assessments/{id}/approve/",
    "/api/v1/rubrics/",
    "/api/v1/rubric-versions/{id}/",
    "/api/v1/criteria/{id}/",
    "/api/v1/score-jobs/",
    "/api/v1/score-jobs/{id}/",
    "/api/v1/scoring/preview/",
    "/api/v1/reports/",
    "/api/v1/reports/{id}/",
    "/api/v1/reports/{id}/download/",
]


def test_the_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert schema["openapi"].startswith("3.")
    assert set(ROUTES) <= set(schema["paths"])


@pytest.fixture
def schema(client):
    response = client.get(f"{API}schema/?format=json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_every_operation_documents_its_errors_in_the_one_shape(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        assert "429" in responses, where
        if path == "/api/v1/auth/token/" and method == "post":
            assert not {"401", "403"} & set(responses), where  # signing in needs no sign-in
        else:
            assert {"401", "403"} <= set(responses), where
        if "{" in path:
            assert "404" in responses, where
        if method in ("post", "put", "patch"):
            assert {"400", "413", "415"} <= set(responses), where
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", where
        assert operation.get("summary") or operation.get("description"), where


def test_documented_specifics(schema):
    paths = schema["paths"]
    assert "202" in paths["/api/v1/initiatives/{id}/score/"]["post"]["responses"]
    assert "202" in paths["/api/v1/score-jobs/"]["post"]["responses"]
    assert "409" in paths["/api/v1/rubric-versions/{id}/"]["patch"]["responses"]
    assert "409" in paths["/api/v1/assessments/{id}/approve/"]["post"]["responses"]
    names = {p["name"] for p in paths["/api/v1/initiatives/"]["get"]["parameters"]}
    assert {"pillar", "status", "bank", "partner", "tier", "min_score", "max_score", "updated_since"} <= names
    assert {"search", "ordering", "page", "page_size", "pagination", "cursor"} <= names
    error = schema["components"]["schemas"]["ErrorDetail"]["properties"]
    assert {"status", "code", "message", "fields"} <= set(error)
    initiative = schema["components"]["schemas"]["ScoredInitiative"]["properties"]
    assert "current_score" in initiative and "pillar" in initiative
    assert schema["components"]["securitySchemes"]["tokenAuth"]["in"] == "header"


def test_the_preview_documents_what_would_change_the_tier(schema):
    components = schema["components"]["schemas"]
    tier_changes = components["PreviewResult"]["properties"]["tier_changes"]
    assert (
        tier_changes["type"] == "array" and tier_changes["items"]["$ref"] == "#/components/schemas/TierChange"
    )
    row = components["TierChange"]["properties"]
    for name, target in (("up", "RatingChange"), ("down", "RatingChange"), ("weight_up", "WeightChange")):
        assert row[name]["nullable"] is True and row[name]["allOf"][0]["$ref"].endswith(target), name
    assert {"rating", "change", "tier", "total", "gate_passed", "confidence"} <= set(
        components["RatingChange"]["properties"]
    )
    assert {"weight", "relative_change", "tier", "total"} <= set(components["WeightChange"]["properties"])
    assert "tier_changes" in components["PreviewResult"]["required"]


def test_the_yaml_schema_is_served(client):
    response = client.get(f"{API}schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"] == "Partnership Scorecard API"


_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["docs/", "redoc/"])
def test_the_docs_load_with_no_internet(client, page):
    response = client.get(f"{API}{page}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html
    assets = _ASSET.findall(html)
    assert assets, html[:500]
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a local static file"
    assert "/api/v1/schema/" in html


def test_swagger_ui_does_not_call_the_online_validator(client):
    html = client.get(f"{API}docs/").content.decode()
    assert '"validatorUrl": null' in html
