"""The API's docs pages (Swagger UI and ReDoc) work with no internet: Chromium loads each from the live server and
no request it makes — scripts, styles, fonts, images, the schema, logos — leaves the live server's host.

The static-HTML check in tests/api/test_schema.py reads the page the server sends; this one sees what the page's
scripts fetch once they run (ReDoc, for one, draws a logo and may pull fonts).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _outside(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS


@pytest.mark.parametrize(
    ("page_path", "rendered"),
    [
        ("/api/v1/docs/", ".swagger-ui .opblock"),  # an operation is drawn: the schema was fetched and read
        ("/api/v1/redoc/", "[data-section-id^='tag/']"),  # ReDoc's menu of tags: likewise
    ],
)
def test_the_docs_pages_fetch_nothing_from_outside(new_page, page_path, rendered):
    page = new_page("en")
    requested: list[str] = []
    sent_out: list[str] = []  # requests the browser really tried to send elsewhere (stopped here)
    blocked: dict[str, str] = {}

    def route(route) -> None:
        if _outside(route.request.url):
            sent_out.append(route.request.url)
            route.abort()  # never wait on a network, and never reach one
        else:
            route.continue_()

    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: blocked.update({request.url: request.failure or ""}))
    page.route("**/*", route)
    response = page.goto(page_path)
    assert response is not None and response.status == 200
    page.wait_for_selector(rendered)
    page.wait_for_load_state("networkidle")
    assert any("/api/v1/schema/" in url for url in requested), requested
    assert not sent_out, sent_out
    # What the page's scripts ask for elsewhere (ReDoc's logo) the page's Content-Security-Policy stops in the
    # browser, before any connection: Chromium reports it as a request that failed with the reason "csp".
    for url in (url for url in requested if _outside(url)):
        assert blocked.get(url) == "csp", (url, blocked.get(url))
