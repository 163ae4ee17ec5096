"""Every admin page in Simplified Chinese, for a superuser and for a bank's analyst: no English left in the UI.

The pages come from tests/admin_pages.py (the admin registry and URL resolver), the database from the demo seed
plus a row of every registered model. Each page must answer as the route matrix (tests/test_admin_route_matrix.py)
says for that visitor — 200, or a deliberate 403 / 404 for the analyst — and its UI text (tests/ui_text.py) must
hold no English word that is not the data shown or a word of the short allow-list.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.admin_pages import (
    SKIPPED_VIEWS,
    admin_pages,
    named_admin_views,
    seed_admin_data,
)
from tests.test_admin_route_matrix import ACTORS, CUSTOM, MODELS, ROUTES, expected_profile
from tests.ui_text import EnglishFinder, data_strings

pytestmark = pytest.mark.django_db

STATUS = {"ok": 200, "denied": 403, "404": 404, "login": 302}
MAX_QUERIES = 70  # one admin page; the bank delete page collects every related table (~62 with exposures and sign-on), a page above it queries row by row


@pytest.fixture
def seeded(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return seed_admin_data()


def expected_status(page, actor: str) -> int:
    """The status the route matrix gives ``actor`` on this page (200 where it says nothing)."""
    if page.anonymous:
        return 200
    if page.kind == "model":
        return STATUS[expected_profile(page.model, actor)[ROUTES.index(page.route)]]
    app_label = page.url.rstrip("/").rsplit("/", 1)[-1]
    for _name, method, url_name, args, outcomes in CUSTOM:
        same_app = page.kind == "app" and args == f"app:{app_label}"
        if url_name == page.url_name and method == "GET" and (page.kind != "app" or same_app):
            return STATUS[outcomes[ACTORS.index(actor)]]
    if page.kind == "app":  # an app the matrix does not name: open to whoever may see one of its models
        models = [m for m in MODELS if m.startswith(f"{app_label}.")]
        return 404 if all(MODELS[m][ACTORS.index(actor) - 1] == "none" for m in models) else 200
    return 200


def test_the_list_covers_every_registered_model_and_view(seeded):
    pages = admin_pages()
    by_model: dict[str, set[str]] = {}
    for page in pages:
        if page.kind == "model":
            by_model.setdefault(page.model, set()).add(page.route)
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert set(by_model) == registered
    for label in registered:
        assert {"changelist", "change", "history"} <= by_model[label], label
    listed = {page.url_name.split(":", 1)[1] for page in pages}
    unlisted = named_admin_views() - listed - set(SKIPPED_VIEWS)
    # add / delete pages the admin does not allow anyone are the only views left out
    left = {name for name in unlisted if not any(name.endswith(f"_{suffix}") for suffix in ("add", "delete"))}
    assert not left, f"admin views neither listed nor skipped: {sorted(left)}"


@pytest.mark.parametrize("actor", ["superuser", "analyst"])
def test_every_admin_page_speaks_chinese(seeded, actor):
    user = getattr(seeded, actor)
    pages = admin_pages(viewer=user)
    signed_in = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", raise_request_exception=False)
    signed_in.force_login(user)
    finder = EnglishFinder(data_strings())  # after the login, which django-axes records
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", raise_request_exception=False)
    problems, english = [], []
    for page in pages:
        client = anonymous if page.anonymous else signed_in
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page.url)
        expected = expected_status(page, actor)
        if response.status_code != expected:
            problems.append(f"{page.slug} {page.url}: expected {expected}, got {response.status_code}")
            continue
        if response.status_code == 302:
            continue
        html = response.content.decode()
        if 'lang="zh-hans"' not in html:  # the error pages (403, 404) too
            problems.append(f"{page.slug} {page.url}: not in Chinese")
        for found in finder.in_html(html):
            english.append(f"{page.slug}: {found}")
        if len(queries) > MAX_QUERIES:
            problems.append(f"{page.slug} {page.url}: {len(queries)} queries")
    report = "\n".join(problems + sorted(set(english)))
    assert not problems and not english, f"{len(problems)} problem(s), {len(english)} English:\n{report}"


def test_the_finder_tells_ui_text_from_data():
    """The check itself: English UI text is found wherever a reader meets it; data, code and the language
    switch's own names are not."""
    html = """<html lang="zh-hans"><head><title>Change 合作项目</title><script>var msg = "Hello";</script></head>
    <body><p>保存</p><p>Save and continue</p><td>Demo City Bank · 示例</td><td>Demo City Banks</td>
    <img alt="Search"><input type="submit" value="Delete"><input type="text" value="typed words">
    <select><option lang="en">English</option></select><div lang="en-us">Only in English</div><code>bank, code</code><td>KPI 达成率</td>
    <a href="/admin/">demo_analyst@example.com</a><span title="rubric keys">ecosystem_breadth</span></body></html>"""
    found = {(f.word, f.where) for f in EnglishFinder(["Demo City Bank"]).in_html(html)}
    assert found == {
        ("Change", "<title>"),
        ("Save", "<p>"),
        ("and", "<p>"),
        ("continue", "<p>"),
        ("Demo", "<td>"),  # "Demo City Banks" is not the datum "Demo City Bank"
        ("City", "<td>"),
        ("Banks", "<td>"),
        ("Search", "<img alt>"),
        ("Delete", "<input value>"),
        ("rubric", "<span title>"),
        ("keys", "<span title>"),
    }
    # A page in English (Django's own error pages) is not "marked as another language": it is the failure.
    page = EnglishFinder([]).in_html('<html lang="en"><body><h1>Not Found</h1></body></html>')
    assert {f.word for f in page} == {"Not", "Found"}


def test_a_uuid_shown_by_its_letters_is_data_not_english():
    import uuid

    from scoring.models import ScoreJob

    job = ScoreJob.objects.create(id=uuid.UUID("accabcda-0000-4000-8000-000000000000"), total=0)
    strings = data_strings()
    assert str(job.pk)[:8] == "accabcda" and "accabcda" in strings
    assert not EnglishFinder(strings).in_html('<a href="/admin/scoring/scorejob/x/">accabcda</a>')
