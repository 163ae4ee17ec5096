"""One JSON error shape for every failure, each status where it fits, bad input per field, and never a 500."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.throttling import SimpleRateThrottle

from partnerships.models import Initiative
from tests.api.conftest import API

pytestmark = pytest.mark.django_db

INITIATIVES = f"{API}initiatives/"


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert error["status"] == status and isinstance(error["message"], str) and error["message"]
    assert isinstance(error["code"], str)
    if code is not None:
        assert error["code"] == code
    return error


def new_initiative(world, **overrides) -> dict:
    data = {
        "bank": world.banks["A"].pk,
        "code": "new-1",
        "title": "新项目",
        "pillar": "scenario",
    }
    data.update(overrides)
    return data


# --- Status by status ------------------------------------------------------------------------------------
def test_400_for_json_that_does_not_parse(world, client_as):
    response = client_as(world.user("analyst")).post(
        INITIATIVES, data='{"title": ', content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


def test_400_names_nested_fields(world, client_as):
    response = client_as(world.user("analyst")).post(
        INITIATIVES, new_initiative(world, partners=[{"partner": "tencent", "role": "boss"}]), format="json"
    )
    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == ["partners[0].role"]
    assert error["message"].startswith("partners[0].role: ")


def test_401_for_anonymous_and_for_a_bad_token(world, client_as, api_client):
    anonymous = api_client.get(INITIATIVES)
    assert_error(anonymous, 401, "not_authenticated")
    assert anonymous["WWW-Authenticate"] == "Token"
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(api_client.get(INITIATIVES), 401, "authentication_failed")


def test_403_when_the_role_is_missing(world, client_as):
    response = client_as(world.user("viewer")).post(INITIATIVES, new_initiative(world), format="json")
    error = assert_error(response, 403, "permission_denied")
    assert "analyst" in error["message"]


@pytest.mark.parametrize(
    "path",
    [
        "initiatives/987654321/",
        "initiatives/abc/",
        "initiatives/99999999999999999999999999/",
        "initiatives/-1/",
        "score-jobs/not-a-uuid/",
        f"score-jobs/{uuid.uuid4()}/",
        "partners/no-such-partner/",
        "pillars/no-such-pillar/",
        "assessments/0/",
        "reports/12345/",
        "reports/12345/download/?format=csv",
        "nothing-here/",
        "initiatives?page=2",
        "initiatives/?page=99999999999999999999",
        "initiatives/?page=0",
        "initiatives/?page=abc",
        "initiatives/?cursor=garbage",
        "initiatives/?cursor=%E4%B8%AD",
    ],
)
def test_404_for_what_is_missing(world, client_as, path):
    assert_error(client_as(world.user("analyst")).get(f"{API}{path}"), 404, "not_found")


def test_404_for_another_banks_object_reads_like_a_missing_one(world, client_as):
    client = client_as(world.user("other"))
    foreign = client.get(f"{INITIATIVES}{world.initiatives['A'].pk}/")
    missing = client.get(f"{INITIATIVES}987654321/")
    assert assert_error(foreign, 404) == assert_error(missing, 404)
    assert_error(
        client.patch(f"{INITIATIVES}{world.initiatives['A'].pk}/", {"title": "x"}, format="json"), 404
    )
    assert_error(client.delete(f"{INITIATIVES}{world.initiatives['A'].pk}/"), 404)


def test_a_path_without_its_slash_gets_a_hint(world, client_as):
    error = assert_error(client_as(world.user("analyst")).get(f"{API}initiatives"), 404)
    assert "/api/v1/initiatives/" in error["message"]


def _cursor(position: str, offset: int = 0) -> str:
    return base64.b64encode(f"o={offset}&p={position}".encode()).decode()


@pytest.mark.parametrize(
    ("ordering", "position"),
    [
        ("", "not-a-date"),
        ("-score_total", "1e999999"),
        ("-score_total", "NaN-ish"),
        ("id", "abc"),
        ("id", "99999999999999999999999999"),
        ("title", "\u4e2d\u6587"),
    ],
)
def test_forged_cursors_are_a_404_not_a_500(world, client_as, ordering, position):
    client = client_as(world.user("analyst"))
    query = {"cursor": _cursor(position)}
    if ordering:
        query["ordering"] = ordering
    response = client.get(INITIATIVES, query)
    assert response.status_code in (200, 404)
    if response.status_code == 404:
        assert_error(response, 404, "not_found")
    # The request's transaction is still usable afterwards.
    assert client.get(INITIATIVES).status_code == 200


def test_405_for_a_method_the_route_does_not_have(world, client_as):
    client = client_as(world.user("manager"))
    response = client.delete(f"{API}banks/{world.banks['A'].pk}/")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]
    assert_error(client.put(f"{API}score-jobs/", {}, format="json"), 405)
    assert_error(client.post(f"{API}rubrics/", {}, format="json"), 405)  # rubrics are read-only in the API


def test_406_for_an_accept_header_nothing_satisfies(world, client_as):
    response = client_as(world.user("analyst")).get(INITIATIVES, HTTP_ACCEPT="application/xml")
    assert_error(response, 406, "not_acceptable")


def test_409_for_a_broken_rule(draft, world, client_as):
    client = client_as(world.user("analyst"))
    assert client.post(f"{API}assessments/{draft.pk}/submit/").status_code == 200
    error = assert_error(client.post(f"{API}assessments/{draft.pk}/submit/"), 409, "conflict")
    assert "draft" in error["message"]


def test_413_for_a_body_over_the_limit(world, client_as, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    client = client_as(world.user("analyst"))
    big = new_initiative(world, description="长" * 3_000)
    assert_error(client.post(INITIATIVES, big, format="json"), 413, "request_too_large")
    # Multipart only where a file is uploaded: a form field over the limit there is 413 too.
    upload = {"file": SimpleUploadedFile("e.csv", b"bank\n"), "format": "长" * 3_000}
    assert_error(client.post(f"{API}exposures/import/", upload, format="multipart"), 413, "request_too_large")
    assert_error(client.post(INITIATIVES, big, format="multipart"), 415, "unsupported_media_type")
    assert not Initiative.objects.filter(code="new-1").exists()


def test_413_at_the_default_limit(world, client_as):
    body = json.dumps(new_initiative(world, description="x" * (5 * 1024 * 1024 + 1)))
    response = client_as(world.user("analyst")).post(INITIATIVES, data=body, content_type="application/json")
    assert_error(response, 413, "request_too_large")


def test_415_for_a_body_type_the_api_does_not_read(world, client_as):
    response = client_as(world.user("analyst")).post(INITIATIVES, data="title=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


@pytest.fixture
def fresh_throttle_cache(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "cache", LocMemCache("api-throttle-test", {}))


def test_429_per_user_with_retry_after(world, client_as, monkeypatch, fresh_throttle_cache):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "2/minute")
    client = client_as(world.user("viewer"))
    assert [client.get(INITIATIVES).status_code for _ in range(2)] == [200, 200]
    response = client.get(INITIATIVES)
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # Another user has a budget of their own.
    assert client_as(world.user("analyst")).get(INITIATIVES).status_code == 200


def test_429_for_anonymous_callers(world, api_client, monkeypatch, fresh_throttle_cache):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/minute")
    statuses = [api_client.get(INITIATIVES).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_429_for_scoring_requests(world, client_as, monkeypatch, fresh_throttle_cache):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "scoring", "1/minute")
    client = client_as(world.user("analyst"))
    url = f"{INITIATIVES}{world.initiatives['A'].pk}/score/"
    assert client.post(url).status_code == 202
    assert_error(client.post(url), 429, "throttled")
    assert client.get(INITIATIVES).status_code == 200  # reads are not in that scope


def test_the_throttle_counts_in_redis_one_round_trip_a_request(world, client_as, monkeypatch):
    """The production path: the default cache is Redis; one counter per user and window, with an expiry."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    from partnerships.api.throttling import UserRateThrottle

    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    prefix = f"throttle-test-{uuid.uuid4().hex}"
    monkeypatch.setattr(UserRateThrottle, "cache_format", prefix + "_%(scope)s_%(ident)s")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/minute")
    window_start = 1_800_000_000 // 60 * 60
    monkeypatch.setattr(UserRateThrottle, "timer", lambda self: window_start + 20.5)
    client = client_as(world.user("viewer"))
    assert [client.get(INITIATIVES).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(INITIATIVES)
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) == 40  # the rest of the window (39.5 s), rounded up as DRF does
    viewer_id = world.user("viewer").pk
    key = cache.make_and_validate_key(f"{prefix}_user_{viewer_id}:{window_start // 60}")
    client_redis = cache._cache.get_client(key)
    assert int(client_redis.get(key)) == 4
    assert 0 < client_redis.ttl(key) <= 61
    # The next window starts afresh.
    monkeypatch.setattr(UserRateThrottle, "timer", lambda self: window_start + 60.5)
    assert client.get(INITIATIVES).status_code == 200


# --- Text in Chinese and emoji ---------------------------------------------------------------------------
def test_chinese_and_emoji_round_trip(world, client_as):
    title = "微信支付 🚀 场景合作"
    description = "第一行:获客成本↓\n第二行 👍🏽 «quotes» & <tags>"
    client = client_as(world.user("analyst"), language="zh-hans")
    created = client.post(
        INITIATIVES, new_initiative(world, title=title, description=description), format="json"
    )
    assert created.status_code == 201, created.json()
    assert "微信支付".encode() in created.content  # UTF-8, not \\u escapes
    pk = created.json()["id"]
    stored = Initiative.objects.get(pk=pk)
    assert (stored.title, stored.description) == (title, description)
    fetched = client.get(f"{INITIATIVES}{pk}/").json()
    assert (fetched["title"], fetched["description"]) == (title, description)
    found = client.get(INITIATIVES, {"search": "🚀"}).json()["results"]
    assert [row["id"] for row in found] == [pk]


def test_errors_speak_the_request_language(world, client_as):
    zh = client_as(world.user("other"), language="zh-hans").get(f"{INITIATIVES}{world.initiatives['A'].pk}/")
    en = client_as(world.user("other"), language="en").get(f"{INITIATIVES}{world.initiatives['A'].pk}/")
    assert assert_error(en, 404)["message"] == "Not found."
    assert not assert_error(zh, 404)["message"].isascii()
    zh_field = client_as(world.user("analyst"), language="zh-hans").post(INITIATIVES, {}, format="json")
    assert not assert_error(zh_field, 400)["fields"]["title"][0].isascii()


# --- Bad input, field by field ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "中文代码"}, "code"),
        ({"code": ""}, "code"),
        ({"code": "x" * 41}, "code"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "nul\x00byte"}, "title"),
        ({"title": None}, "title"),
        ({"title": ["a list"]}, "title"),
        ({"pillar": "bogus"}, "pillar"),
        ({"pillar": None}, "pillar"),
        ({"status": "bogus"}, "status"),
        ({"bank": "abc"}, "bank"),
        ({"bank": 10**30}, "bank"),
        ({"bank": -5}, "bank"),
        ({"bank": True}, "bank"),
        ({"start_date": "2024-13-01"}, "start_date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"personal_data_categories": ["bogus"]}, "personal_data_categories"),
        ({"personal_data_categories": "identity"}, "personal_data_categories"),
        ({"lawful_basis": "whatever"}, "lawful_basis"),
        ({"security_assessment_done": "perhaps"}, "security_assessment_done"),
        ({"scenario_types": "payment"}, "scenario_types"),
        ({"scenario_types": [{"key": "payment"}]}, "scenario_types"),
        ({"partners": "tencent"}, "partners"),
        ({"partners": [{"role": "lead"}]}, "partners[0].partner"),
        ({"partners": [{"partner": "tencent", "note": "n" * 201}]}, "partners[0].note"),
        ({"owner": 12}, "owner"),
        ({"description": "d" * 20001}, "description"),
    ],
)
def test_bad_input_per_field(world, client_as, overrides, field):
    response = client_as(world.user("analyst")).post(
        INITIATIVES, new_initiative(world, **overrides), format="json"
    )
    error = assert_error(response, 400, "invalid")
    assert any(key == field or key.startswith(f"{field}[") for key in error["fields"]), error


def test_a_body_that_is_not_an_object_is_a_400(world, client_as):
    client = client_as(world.user("analyst"))
    for body in ("[]", "42", '"text"', "null"):
        assert_error(client.post(INITIATIVES, data=body, content_type="application/json"), 400)


def test_text_that_is_not_valid_unicode_is_a_400(world, client_as):
    body = '{"bank": BANK, "code": "x1", "title": "\\ud800", "pillar": "scenario"}'.replace(
        "BANK", str(world.banks["A"].pk)
    )
    response = client_as(world.user("analyst")).post(INITIATIVES, data=body, content_type="application/json")
    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize(
    "query",
    [
        "bank=abc",
        "bank=99999999999999999999999",
        "min_score=abc",
        "min_score=1e999999",
        "max_score=NaN",
        "min_score=-5",
        "updated_since=garbage",
        "updated_since=2024-02-30T00:00:00",
        "pillar=bogus",
        "status=bogus",
        "tier=Z",
        "scored=perhaps",
        "ordering=bogus",
        "ordering=-password",
        "ordering=bank__name_en",
        "pagination=sideways",
        # page_size as the schema states it (1 to 200): no longer clamped or ignored.
        "page_size=abc",
        "page_size=0",
        "page_size=-1",
        "page_size=100000",
        "partner=" + "p" * 65,
        "search=%00",
    ],
)
def test_bad_filters_are_a_400(world, client_as, query):
    error = assert_error(client_as(world.user("analyst")).get(f"{INITIATIVES}?{query}"), 400, "invalid")
    assert query.split("=")[0] in error["fields"]


@pytest.mark.parametrize(
    "query",
    [
        "page_size=200",
        "updated_since=0001-01-01T00:00:00%2B14:00",
        "updated_since=9999-12-31T23:59:59-14:00",
        "updated_since=2024-01-01",
        "search=" + "搜" * 500,
        "search=%25_%5C",
        "ordering=-title,updated_at",
        "min_score=0&max_score=100",
    ],
)
def test_odd_but_valid_queries_answer(world, client_as, query):
    response = client_as(world.user("analyst")).get(f"{INITIATIVES}?{query}")
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["results"]) <= 200


@pytest.mark.parametrize(
    "path",
    [
        "banks/",
        "partners/",
        "pillars/",
        "initiatives/",
        "assessments/",
        "rubrics/",
        "rubric-versions/",
        "criteria/",
        "score-jobs/",
        "reports/",
    ],
)
@pytest.mark.parametrize(
    "query",
    [
        "page=-1",
        "page=last",
        "cursor=%FF",
        "pagination=cursor&cursor=bad",
        "ordering=%00",
        "search=%00",
        "page_size=1e3",
        "format=xml",
        "format=api",
    ],
)
def test_no_list_query_is_a_500(world, client_as, path, query):
    response = client_as(world.user("superuser")).get(f"{API}{path}?{query}")
    assert response.status_code < 500, response.content[:300]


def test_a_warm_token_and_its_throttle_count_are_one_redis_round_trip(world, client_as, monkeypatch):
    """The token cache's answer and the user's throttle counter travel in one pipeline once the process knows the
    token's user (partnerships/api/authentication.py); the throttle still refuses the request over the rate,
    counts in the same key, and a view without the user throttle is not counted."""
    from django.core.cache import caches
    from redis.connection import AbstractConnection

    from partnerships.api.throttling import UserRateThrottle

    cache = caches["default"]
    prefix = f"throttle-pipe-{uuid.uuid4().hex}"
    monkeypatch.setattr(UserRateThrottle, "cache_format", prefix + "_%(scope)s_%(ident)s")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "4/minute")
    window_start = 1_800_000_000 // 60 * 60
    monkeypatch.setattr(UserRateThrottle, "timer", lambda self: window_start + 20.5)
    sent = []
    real_send = AbstractConnection.send_packed_command

    def counting_send(self, command, check_health=True):
        sent.append(command)
        return real_send(self, command, check_health)

    client = client_as(world.user("viewer"))
    assert client.get(INITIATIVES).status_code == 200  # the token is read and cached; its user is known
    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting_send)
    assert [client.get(INITIATIVES).status_code for _ in range(3)] == [200, 200, 200]
    assert len(sent) == 3, sent  # one round trip a request: GET, INCR and EXPIRE in one pipeline
    for command in sent:
        payload = b"".join(command) if isinstance(command, list | tuple) else command
        assert b"GET" in payload and b"INCR" in payload and b"EXPIRE" in payload, payload
    assert_error(client.get(INITIATIVES), 429, "throttled")
    key = cache.make_and_validate_key(f"{prefix}_user_{world.user('viewer').pk}:{window_start // 60}")
    assert int(cache._cache.get_client(key).get(key)) == 5
    monkeypatch.setattr(UserRateThrottle, "timer", lambda self: window_start + 60.5)
    assert client.get(INITIATIVES).status_code == 200  # a new window


def test_the_token_user_hint_counts_only_where_the_user_throttle_applies(world, client_as, monkeypatch):
    from partnerships.api.throttling import UserRateThrottle
    from partnerships.api.views import InitiativeViewSet

    counted = []
    real = UserRateThrottle.window_of.__func__

    def spy(cls, user_id):
        counted.append(user_id)
        return real(cls, user_id)

    monkeypatch.setattr(UserRateThrottle, "window_of", classmethod(spy))
    client = client_as(world.user("viewer"))
    client.get(INITIATIVES)
    client.get(INITIATIVES)
    assert counted == [world.user("viewer").pk]  # the first request taught the process the token's user
    monkeypatch.setattr(InitiativeViewSet, "throttle_classes", [])
    assert client.get(INITIATIVES).status_code == 200
    assert counted == [
        world.user("viewer").pk
    ]  # no user throttle on the view: nothing counted with the token
