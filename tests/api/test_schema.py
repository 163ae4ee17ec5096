"""The OpenAPI schema validates with no warning, documents errors everywhere, and the docs work offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

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
    "/api/v1/kpis/",
    "/api/v1/kpis/{id}/",
    "/api/v1/kpi-observations/",
    "/api/v1/kpi-observations/{id}/",
    "/api/v1/evidence/",
    "/api/v1/evidence/{id}/",
    "/api/v1/evidence/upload/",
    "/api/v1/evidence/{id}/download/",
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
        assert row[name]["oneOf"] == [{"$ref": f"#/components/schemas/{target}"}, {"type": "null"}], name
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


# --- The schema is a contract: what a client generator and a strict validator read ------------------------------
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _schema_bytes(client, language: str) -> bytes:
    response = client.get(f"{API}schema/?format=json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content


def test_the_schema_is_the_same_english_text_whatever_the_language(client):
    english = _schema_bytes(client, "en")
    assert _schema_bytes(client, "zh-hans") == english
    assert client.get(f"{API}schema/?format=json&lang=zh-hans").content == english  # drf-spectacular's ?lang=
    schema = json.loads(english)
    # Chinese stays only where it is data: the values of an enum (units such as 万元 are stored as written).
    text = json.dumps(schema, ensure_ascii=False)
    values = {
        value
        for component in schema["components"]["schemas"].values()
        for value in component.get("enum") or []
        if isinstance(value, str) and CJK.search(value)
    }
    for value in sorted(values, key=len, reverse=True):  # 万台 before 万
        text = text.replace(value, "")
    assert not CJK.findall(text), sorted(set(CJK.findall(text)))


def test_the_generation_command_writes_english_under_a_chinese_language(tmp_path, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    target = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(target))
    assert "Get an API token" in target.read_text(encoding="utf-8")


_PYTHON_NAME = re.compile(r"``[A-Za-z_][\w.]*``|`[A-Za-z_]+[A-Z_.][\w.]*`|`[a-z]+_[a-z_]+\(\)`")


def test_no_operation_description_is_an_internal_docstring(schema):
    for path, method, operation in _operations(schema):
        description = operation.get("description", "")
        where = f"{method.upper()} {path}: {description[:80]}"
        for word in ("ApiViewMixin", "write_role", "viewset", "Viewset", "ViewSet"):
            assert word not in description, where
        assert not _PYTHON_NAME.search(description), where


def test_request_bodies_are_json_except_file_uploads(schema):
    multipart = set()
    for path, method, operation in _operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        if not content:
            continue
        if "multipart/form-data" in content:
            assert list(content) == ["multipart/form-data"], f"{method} {path}"
            properties = content["multipart/form-data"]["schema"]
            multipart.add(path)
        else:
            assert list(content) == ["application/json"], f"{method} {path}: {list(content)}"
    assert {"/api/v1/exposures/import/", "/api/v1/bank-figures/import/"} <= multipart
    assert properties


def test_the_server_takes_json_bodies_only_outside_uploads(world, client_as):
    client = client_as(world.user("analyst"))
    response = client.post(
        f"{API}initiatives/", "title=x&pillar=scenario", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type"
    response = client.post(f"{API}exposures/import/", {}, content_type="application/json")
    assert response.status_code == 415


def test_nullable_objects_are_one_of_a_reference_and_null(schema):
    """OpenAPI 3.1: no "nullable" keyword (3.0's, which strict validators refuse beside an allOf) anywhere."""
    assert schema["openapi"] == "3.1.0"
    text = json.dumps(schema)
    assert '"nullable"' not in text
    current = schema["components"]["schemas"]["ScoredInitiative"]["properties"]["current_score"]
    assert current["oneOf"] == [{"$ref": "#/components/schemas/CurrentScore"}, {"type": "null"}]


def test_file_downloads_are_typed_as_bytes(schema):
    download = schema["paths"]["/api/v1/reports/{id}/download/"]["get"]["responses"]["200"]["content"]
    assert set(download) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    evidence = schema["paths"]["/api/v1/evidence/{id}/download/"]["get"]["responses"]["200"]["content"]
    assert next(iter(evidence)) == "application/octet-stream"  # what client generators read as bytes
    for content in (download, evidence):
        for media in content.values():
            assert media["schema"] == {"type": "string", "format": "binary"}


def _parameters(schema, path, name):
    return next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name)["schema"]


def test_the_schema_states_the_bounds_and_enums_of_queries(schema):
    assert _parameters(schema, "/api/v1/initiatives/", "page_size") == {
        "type": "integer",
        "minimum": 1,
        "maximum": 200,
    }
    for path, name in (
        ("/api/v1/initiatives/", "bank"),
        ("/api/v1/assessments/", "initiative"),
        ("/api/v1/criteria/", "version"),
        ("/api/v1/reports/", "bank"),
        ("/api/v1/limit-rules/", "bank"),
    ):
        bank = _parameters(schema, path, name)
        assert (bank["type"], bank["minimum"]) == ("integer", 1), (path, name)
    score = _parameters(schema, "/api/v1/initiatives/", "min_score")
    assert (score["minimum"], score["maximum"]) == (0, 100)
    partner = _parameters(schema, "/api/v1/initiatives/", "partner")
    assert (partner["minLength"], partner["maxLength"]) == (1, 64)
    ordering = next(
        p for p in schema["paths"]["/api/v1/initiatives/"]["get"]["parameters"] if p["name"] == "ordering"
    )
    assert (ordering["style"], ordering["explode"]) == ("form", False)
    assert {"title", "-title", "score_total", "-score_total", "id", "-id"} <= set(
        ordering["schema"]["items"]["enum"]
    )


@pytest.mark.parametrize(
    "query",
    [
        "page_size=201",
        "page_size=0",
        "page_size=x",
        "pagination=",
        "updated_since=",
        "bank=",
        "bank=0",
        "status=",
        "ordering=",
        "ordering=title,",
        "ordering=nope",
        "ordering=%20title",
        "partner=",
    ],
)
def test_a_query_outside_the_schema_is_a_400_naming_the_parameter(world, client_as, query):
    response = client_as(world.user("analyst")).get(f"{API}initiatives/?{query}")
    assert response.status_code == 400, response.content
    assert query.split("=")[0] in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "query",
    [
        "page_size=200",
        "page_size=1",
        "ordering=-title,code",
        "ordering=title&ordering=-code",
        "search=",
        "bank=1",
    ],
)
def test_a_query_inside_the_schema_is_answered(world, client_as, query):
    assert client_as(world.user("analyst")).get(f"{API}initiatives/?{query}").status_code == 200


def test_the_schema_is_read_by_openapi_core_and_a_client_generator(tmp_path, schema):
    from openapi_core import OpenAPI  # strict validation of the document itself (3.1, JSON Schema 2020-12)

    OpenAPI.from_dict(schema)  # raises on an invalid document
    target = tmp_path / "schema.json"
    target.write_text(json.dumps(schema), encoding="utf-8")
    # The downloads are typed under their real media types; openapi-python-client reads text/* as text and
    # knows no spreadsheet type, so an integrator maps both to bytes (its documented content_type_overrides).
    config = tmp_path / "client.yaml"
    config.write_text(
        "content_type_overrides:\n"
        "  text/csv: application/octet-stream\n"
        "  application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: application/octet-stream\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(target),
            "--output-path",
            str(tmp_path / "client"),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = result.stdout + result.stderr
    assert "Unable to parse" not in warnings and "Could not" not in warnings, warnings
    for module in ("reports/reports_download_retrieve.py", "evidence/evidence_download_retrieve.py"):
        code = (tmp_path / "client" / "api" / module).read_text(encoding="utf-8")
        assert "BytesIO(response.content)" in code and "response.text" not in code, module  # bytes


def test_openapi_core_accepts_an_unscored_initiative_and_its_null_score(world, client_as, schema):
    """What 3.0's "nullable: true" beside an allOf failed: a strict validator reading current_score: null."""
    from openapi_core import OpenAPI
    from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse

    response = client_as(world.user("analyst")).get(f"{API}initiatives/{world.initiatives['A'].pk}/")
    assert response.status_code == 200 and response.json()["current_score"] is None
    schema = {**schema, "servers": [{"url": "http://testserver"}]}
    OpenAPI.from_dict(schema).validate_response(
        DjangoOpenAPIRequest(response.wsgi_request), DjangoOpenAPIResponse(response)
    )
