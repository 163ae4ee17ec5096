"""English left in a Chinese page: the page's UI text, minus the data people typed or seeded, minus a short
allow-list.

UI text is what a reader sees or hears of the page: the text nodes (outside <script> and <style>) and the
``title``, ``placeholder``, ``aria-label`` and ``alt`` attributes, and the labels of input buttons. Text marked
as another language (``lang="en"``, as the language switch labels each language in its own) is not UI text,
except the page itself (``<html lang="en">`` is an English page). Literal code (``<code>``) is not either.

Data is not UI text either: record names, codes, keys, usernames, e-mail addresses, URLs and numbers may be in
English in a Chinese page. ``data_strings()`` collects the database's own strings, and only those exact strings
(whole words) are ignored where they occur, so a Latin-letter record name hides nothing but itself.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser

from django.apps import apps
from django.contrib import admin
from django.db import models

# Latin words a Chinese reader expects to see as they are (each one a deliberate choice, not a gap).
ALLOWED_WORDS = {
    # business terms written in Latin letters in Chinese banking text as in English
    "KPI",
    "HHI",  # the Herfindahl–Hirschman index of the portfolio report
    # file formats, named by their own names (the downloads, the import and export forms)
    "CSV", "csv", "XLSX", "xlsx", "JSON",
    # technical names Chinese software writes as they are (operators' pages: users, Celery, login logs)
    "ID", "IP", "URN", "LDAP", "AMQP",
    "Request",  # the X-Request-ID header, named as HTTP names it
    "API", "OIDC", "DN",  # sign-on's pages: the API, OpenID Connect, an LDAP entry's distinguished name
    # products
    "Celery", "RabbitMQ", "Redis",
    # keys and platforms as printed on the keyboard (Django: “按住 Control 键或 Mac 上的 Command 键”)
    "Control", "Command", "Mac",
}  # fmt: skip

# Not prose: addresses, identifiers and literals a reader types or reads as they are.
NOT_TEXT = re.compile(
    r"[\w.+-]+@[\w-]+(\.[\w-]+)+"  # e-mail addresses
    r"|\b(https?|ftp)://\S+"  # URLs
    r"|(?<![\w/])/[\w./?=&%#:-]*/[\w./?=&%#:-]*"  # paths
    r"|\b[\w-]+\.(pdf|png|jpe?g|csv|xlsx|docx?|txt|zip)\b"  # file names
    r"|\b[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\b"  # UUIDs (score jobs)
    r"|\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b"  # hexadecimal ids and hashes
    r"|\b[A-Za-z0-9]+(_[A-Za-z0-9]+)+\b"  # snake_case names: settings, fields, keys
    r"|\b[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+\b"  # dotted Python paths: proj.tasks.import_contacts
    r'|\{\s*"[^{}]*\}|\[\s*"[^\[\]]*\]'  # JSON literals: {"value": 0}, ["arg1", "arg2"]
    r"|\b(?=[\w-]*\d)[a-z0-9]+(-[a-z0-9]+)+\b"  # codes with a number: sc-202611-004
    r"|\w*\*{6,}"  # secrets shown masked (a password hash's salt)
    r"|\b(md5|sha\d+|pbkdf2|argon2|bcrypt|scrypt)\w*"  # password hashers' names (the password's summary)
)
WORD = re.compile(r"[A-Za-z]{2,}")
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
BUTTON_TYPES = {"submit", "button", "reset"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SKIPPED_TAGS = {"script", "style", "code", "kbd", "samp"}  # not read, or literal code to type as it is


class _UIText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.found: list[tuple[str, str]] = []  # (where, text)

    @property
    def skipped(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # The page's own language (<html lang>) is what is checked, not a reason to skip it.
        lang = (attrs.get("lang") or "").lower() if tag != "html" else ""
        skipped = self.skipped or tag in SKIPPED_TAGS or bool(lang and not lang.startswith("zh"))
        if not skipped:
            for name in ATTRIBUTES:
                if attrs.get(name):
                    self.found.append((f"<{tag} {name}>", attrs[name]))
            if tag == "input" and (attrs.get("type") or "").lower() in BUTTON_TYPES and attrs.get("value"):
                self.found.append(("<input value>", attrs["value"]))
        if tag not in VOID:
            self.stack.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        if not self.skipped and data.strip():
            where = f"<{self.stack[-1][0]}>" if self.stack else "text"
            self.found.append((where, " ".join(data.split())))


def ui_text(html: str) -> list[tuple[str, str]]:
    """(where, text) for each piece of UI text of the page, in document order."""
    parser = _UIText()
    parser.feed(html)
    parser.close()
    return parser.found


# --- data ----------------------------------------------------------------------------------------------------

# Stored text that is not data people typed or seeded: Django's own bookkeeping, shown (translated) otherwise.
NOT_DATA = {
    "contenttypes.contenttype",  # model names, shown by their verbose names
    "auth.permission",  # "Can add …", stored in English by Django's migrations and shown translated
    "sessions.session",
}
NOT_DATA_FIELDS = {("admin.logentry", "change_message")}  # a JSON description, translated when shown
PROJECT_APPS = {"partnerships", "scoring"}  # their records' names are translated; other apps' are not
IDENTIFIER = re.compile(r"[a-z0-9_]+")


def _leaves(value) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str):
        yield value


def data_strings() -> set[str]:
    """Every stored string people typed or seeded (those with Latin letters), and each line of a longer one.

    Fields with choices hold codes (their labels are UI text), so they are not data here. JSON values are
    taken whole (as the admin shows a JSON field) and by their string leaves, except leaves that are bare
    codes (``live``, ``rated``): a template should show those by their translated labels.
    """
    found: set[str] = set()
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in NOT_DATA:
            continue
        text_fields, json_fields = [], []
        for f in model._meta.concrete_fields:
            if (label, f.name) in NOT_DATA_FIELDS or f.choices:
                continue
            if isinstance(f, models.JSONField):
                json_fields.append(f.name)
            elif isinstance(f, models.CharField | models.TextField | models.FileField):
                text_fields.append(f.name)
        for name in text_fields:
            found.update(v for v in model._default_manager.values_list(name, flat=True).distinct() if v)
        for name in json_fields:
            for value in model._default_manager.values_list(name, flat=True):
                if value in (None, "", [], {}):
                    continue
                found.add(json.dumps(value, ensure_ascii=False))
                found.update(v for v in _leaves(value) if not IDENTIFIER.fullmatch(v))
    # Other apps' records are named by their own __str__, in English whatever the language ("Access Log for
    # someone @ …", "<Task: … (PENDING)>"): a record's name, like the rows' own strings.
    for model in admin.site._registry:
        if model._meta.app_label not in PROJECT_APPS:
            found.update(str(obj) for obj in model._default_manager.all()[:100])
    # Ids shown by their hex digits (a score job's UUID, or its first eight in a list): data, even when every
    # digit shown is a letter ("accabcda", which the finder took for a word once in a CI run).
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if isinstance(f, models.UUIDField):
                for value in model._default_manager.values_list(f.name, flat=True):
                    if value is not None:
                        found.update({str(value), str(value)[:8], value.hex})
    # Time-zone names (a schedule's zone) are identifiers, also as a list of zones writes them (“New York”).
    zones = zoneinfo.available_timezones()
    found.update(zones | {zone.replace("_", " ") for zone in zones})
    lines = {line.strip() for text in found if "\n" in text for line in text.splitlines()}
    return {s for s in found | lines if WORD.search(s)}


# --- the check -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class English:
    word: str
    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.word!r} in {self.where} «{self.text[:160]}»"


class EnglishFinder:
    """Finds English words in UI text that are neither data (``data``) nor allowed (``ALLOWED_WORDS``)."""

    def __init__(self, data: Iterable[str], allowed: Iterable[str] = ALLOWED_WORDS):
        self.allowed = set(allowed)
        # Each data string, by the Latin words it holds (longest first): only those can explain a word.
        self.by_word: dict[str, list[str]] = defaultdict(list)
        for text in sorted(set(data), key=len, reverse=True):
            for word in set(WORD.findall(text)):
                self.by_word[word].append(text)

    @staticmethod
    def _whole(text: str, start: int, end: int) -> bool:
        """The span is not part of a longer Latin word."""
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        return not (before.isascii() and before.isalpha()) and not (after.isascii() and after.isalpha())

    def _covered_by_data(self, text: str, start: int, end: int, word: str) -> bool:
        for data in self.by_word.get(word, ()):
            at = text.find(data)
            while at != -1:
                if at <= start and end <= at + len(data) and self._whole(text, at, at + len(data)):
                    return True
                at = text.find(data, at + 1)
        return False

    def words(self, text: str) -> list[str]:
        masked = NOT_TEXT.sub(lambda m: " " * len(m.group()), text)
        return [
            m.group()
            for m in WORD.finditer(masked)
            if m.group() not in self.allowed and not self._covered_by_data(text, *m.span(), m.group())
        ]

    def in_html(self, html: str) -> list[English]:
        return [English(word, where, text) for where, text in ui_text(html) for word in self.words(text)]
