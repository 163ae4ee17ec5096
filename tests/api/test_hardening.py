"""Request hardening: deep JSON, NUL characters, oversized and chunked bodies — 4xx with a clear message, never a 500
and never a half-written record. Chunked bodies are sent to gunicorn, the server that reads them."""

from __future__ import annotations

import http.client
import json
import socket
from wsgiref.util import is_hop_by_hop

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from partnerships.models import Initiative
from scoring.models import Rating
from tests.api.conftest import API
from tests.processes import GunicornProcess, service_env

pytestmark = pytest.mark.django_db


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [settings.API_MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_json_nested_deeper_than_the_limit_is_400_even_anonymously(api_client, depth):
    body = '{"username": ' + nested(depth) + ', "password": "x"}'
    response = api_client.post(
        f"{API}auth/token/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "nested deeper" in response.json()["error"]["message"]


def test_json_within_the_limit_is_read(api_client):
    body = json.dumps({"username": "nobody", "password": "x", "extra": json.loads(nested(20))})
    response = api_client.post(f"{API}auth/token/", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"  # wrong password


@pytest.mark.parametrize(
    "path", ["partners/%00/", "initiatives/?search=%00", "initiatives/?ordering=ti%00tle", "banks/%00"]
)
def test_nul_in_path_or_query_is_400(world, client_as, path):
    response = client_as(world.user("analyst")).get(f"{API}{path}")
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]["message"]
    if "?" in path:  # the query parameter is named
        assert list(response.json()["error"]["fields"]) == [path.split("?")[1].split("=")[0]]
    assert_wsgi_headers(response)


def assert_wsgi_headers(response) -> None:
    # A WSGI application may not set hop-by-hop headers (PEP 3333): wsgiref, behind `manage.py runserver`,
    # turns such a response into a 500.
    assert not [name for name in response.headers if is_hop_by_hop(name)], dict(response.headers)


def test_nul_in_the_admin_path_is_400(client_for, world):
    response = client_for(world.user("analyst")).get("/admin/partnerships/initiative/%00/change/")
    assert response.status_code == 400


def test_nul_in_a_json_body_is_400_and_nothing_is_written(world, client_as, draft):
    before = list(Rating.objects.filter(assessment=draft).values_list("criterion__key", "value", "rationale"))
    response = client_as(world.user("analyst")).patch(
        f"{API}assessments/{draft.pk}/ratings/",
        {"ratings": [{"criterion": "acquisition_cost", "value": 1, "rationale": "bad\u0000text"}]},
        format="json",
    )
    assert response.status_code == 400 and "NUL" in response.json()["error"]["message"]
    after = list(Rating.objects.filter(assessment=draft).values_list("criterion__key", "value", "rationale"))
    assert after == before


def test_nul_in_a_json_key_or_a_multipart_field_is_400(world, client_as):
    client = client_as(world.user("analyst"))
    response = client.post(f"{API}initiatives/", '{"ti\\u0000tle": "x"}', content_type="application/json")
    assert response.status_code == 400
    # Multipart is parsed only where a file is uploaded (the imports); a form body elsewhere is 415.
    response = client.post(
        f"{API}exposures/import/",
        {"file": SimpleUploadedFile("e.csv", b"bank,partner\n"), "format": "c\x00sv"},
        format="multipart",
    )
    assert response.status_code == 400 and "format" in response.json()["error"]["fields"]
    response = client.post(
        f"{API}initiatives/", "title=ab&pillar=scenario", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


def test_a_ratings_list_naming_a_criterion_twice_is_400(world, client_as, draft):
    response = client_as(world.user("analyst")).patch(
        f"{API}assessments/{draft.pk}/ratings/",
        {
            "ratings": [
                {"criterion": "acquisition_cost", "value": 1},
                {"criterion": "acquisition_cost", "value": 4},
            ]
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["ratings[1]"] == ["“acquisition_cost” is rated more than once."]
    assert Rating.objects.get(assessment=draft, criterion__key="acquisition_cost").value == 3


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "banks/"),
        ("post", "assessments/{draft}/submit/"),
        ("delete", "auth/token/"),
        ("get", "no-such/"),
    ],
)
def test_bodies_over_the_limit_are_413_on_every_route_even_where_the_body_is_unread(
    world, client_as, draft, method, path
):
    body = b"x" * (settings.REQUEST_MAX_BYTES + 1)
    response = client_as(world.user("analyst")).generic(
        method.upper(), f"{API}{path.format(draft=draft.pk)}", body, content_type="application/octet-stream"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert_wsgi_headers(response)
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_a_body_over_the_limit_is_413_in_the_admin_too(world, client_for):
    response = client_for(world.user("analyst")).generic(
        "POST",
        "/admin/partnerships/initiative/add/",
        b"x" * (settings.REQUEST_MAX_BYTES + 1),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413


# --- chunked bodies, through gunicorn ------------------------------------------------------------------------
@pytest.fixture
def server(transactional_db, tmp_path):
    import os

    gunicorn = GunicornProcess(
        service_env(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")),
        tmp_path / "gunicorn.log",
        workers=1,
    ).start()
    try:
        yield gunicorn
    finally:
        gunicorn.stop()


def _chunked(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """A raw HTTP/1.1 request with a chunked body (64 KiB chunks); the status and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
        )
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        try:
            for start in range(0, len(body), 65536):
                chunk = body[start : start + 65536]
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered 413 and closed before the whole body was sent
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def test_a_chunked_body_is_read_not_ignored(server, world):
    analyst = world.user("analyst")
    token = Token.objects.get_or_create(user=analyst)[0].key
    body = json.dumps({"bank": world.banks["A"].pk, "title": "分块请求体", "pillar": "scenario"}).encode()
    status, reply = _chunked(
        server.port,
        "/api/v1/initiatives/",
        body,
        {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert status == 201, reply
    assert Initiative.objects.filter(title="分块请求体").exists()


def test_a_chunked_body_over_the_limit_is_413(server, world):
    body = b'{"username": "' + b"x" * (settings.REQUEST_MAX_BYTES + 10) + b'", "password": "x"}'
    status, reply = _chunked(server.port, "/api/v1/auth/token/", body, {"Content-Type": "application/json"})
    assert status == 413
    assert json.loads(reply)["error"]["code"] == "request_too_large"
