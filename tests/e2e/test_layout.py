"""Every admin page fits the window: at 1440×900 and 1024×768 nothing makes the page scroll sideways.

The pages come from tests/admin_pages.py; Chromium opens each in Chinese (the index, a changelist and a change
form in English too) and checks ``document.documentElement.scrollWidth <= window.innerWidth``: a wide table may
scroll inside its own box, a long word wrap, a wide widget shrink, but the page itself never scrolls sideways.
Each page is saved as test-artifacts/layout/<width>/<page>.png, so a person can look at all of them.

At 1440 px the Chinese pages are also read as their scripts left them (calendar and clock shortcuts, the
two-list pickers, the crontab's words), with the English check of tests/test_zh_admin_crawl.py: the crawl reads
the HTML the server sent, this reads what the browser shows.

One browser, one context per width, signed in once through the login form (the login page is checked first).
"""

from __future__ import annotations

import subprocess

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Page

from partnerships.models import Evidence, Initiative
from tests.admin_pages import admin_pages, seed_admin_data
from tests.e2e.conftest import TIMEOUT_MS, second_factor
from tests.ui_text import ALLOWED_WORDS, EnglishFinder, data_strings

pytestmark = [pytest.mark.services, pytest.mark.slow]

VIEWPORTS = {1440: 900, 1024: 768}
# A title and a note with nowhere to break: each page that shows them must wrap them, not widen.
LONG_WORD = "Unbroken" * 20
STRESS_WORDS = {"Unbroken" * n for n in range(1, 21)}  # and as a widget cuts it short
ENGLISH_TOO = {"index", "partnerships-initiative-changelist", "partnerships-initiative-change"}

# What sticks out past the right edge, deepest elements first: the report names them when a page overflows.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    if ([...el.children].some(child => child.getBoundingClientRect().right > width + 1)) continue;
    let hidden = false;  // inside a box that scrolls or clips: it does not widen the page
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) { hidden = true; break; }
    }
    if (hidden) continue;
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    out.push(`${name} (right edge ${Math.round(box.right)})`);
    if (out.length >= 5) break;
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, culprits: out};
}"""


def _chinese_font() -> bool:
    """Chromium draws Chinese with a font fontconfig offers for zh; without one every character is a box of
    another width, and the layout measured is not the one people see (.ci/run installs fonts-wqy-microhei)."""
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def _check(page: Page, url: str, path, problems: list[str], label: str, finder=None, english=None) -> None:
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        problems.append(f"{label} {url}: HTTP {response.status if response else '—'}")
        return
    if finder is not None:  # the page as its scripts left it (calendars, pickers, select boxes)
        english.extend(f"{label}: {found}" for found in finder.in_html(page.content()))
    found = page.evaluate(OVERFLOW)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    if found["scrollWidth"] > found["innerWidth"]:
        problems.append(
            f"{label} {url}: {found['scrollWidth']} px wide in a {found['innerWidth']} px window; "
            f"sticking out: {', '.join(found['culprits']) or '?'}"
        )


def _set_language(context: BrowserContext, base_url: str, language: str) -> None:
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base_url}])


def test_every_admin_page_fits_1440_and_1024(
    transactional_db, private_broker, live_server, browser, artifacts_root, settings
):
    assert _chinese_font(), "no Chinese font installed (apt-get install fonts-wqy-microhei)"
    settings.MEDIA_ROOT = str(artifacts_root / "layout" / "media")
    seeded = seed_admin_data()
    # The objects the change pages show (the first of each), with the longest unbroken strings people type.
    initiative = Initiative.objects.order_by("pk").first()
    Initiative.objects.filter(pk=initiative.pk).update(title=f"长标题{LONG_WORD}")
    Evidence.objects.filter(pk=Evidence.objects.order_by("pk").values("pk")[:1]).update(note=LONG_WORD)
    pages = admin_pages()
    english: list[str] = []
    login_page = next(page for page in pages if page.anonymous and page.url_name == "admin:login")
    assert ENGLISH_TOO <= {page.slug for page in pages}, "a page to check in English is no longer listed"
    problems: list[str] = []
    for width, height in VIEWPORTS.items():
        folder = artifacts_root / "layout" / str(width)
        context = browser.new_context(
            base_url=live_server.url,
            locale="zh-CN",
            extra_http_headers={"Accept-Language": "zh-hans"},
            viewport={"width": width, "height": height},
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = context.new_page()
            _check(
                page,
                login_page.url,
                folder / f"{login_page.slug}.png",
                problems,
                f"{width} {login_page.slug}",
            )
            page.fill("#id_username", seeded.superuser.username)
            page.fill("#id_password", seeded.password)
            page.click("#login-form [type=submit]")
            # The demo superuser's second factor (seed_admin_data sets one up): its code, as the person would type it.
            second_factor(page, seeded.superuser.username)
            page.wait_for_selector("#user-tools")
            # The scripted UI is read in Chinese at the first width, once the login (which axes records) is in.
            finder = EnglishFinder(data_strings(), STRESS_WORDS | ALLOWED_WORDS) if width == 1440 else None
            for admin_page in pages:
                if admin_page.anonymous:
                    continue
                label = f"{width} {admin_page.slug}"
                path = folder / f"{admin_page.slug}.png"
                _check(page, admin_page.url, path, problems, label, finder, english)
            _set_language(context, live_server.url, "en")
            for admin_page in pages:
                if admin_page.slug in ENGLISH_TOO:
                    path = folder / f"{admin_page.slug}-en.png"
                    _check(page, admin_page.url, path, problems, f"{width} {admin_page.slug} (en)")
                    assert page.locator("html").get_attribute("lang") == "en"
        finally:
            context.close()
    assert not problems, f"{len(problems)} page(s) wider than the window:\n" + "\n".join(problems)
    assert not english, f"{len(english)} English word(s) in the pages' scripted UI:\n" + "\n".join(english)
