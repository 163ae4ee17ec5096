"""Chinese as a native reads it: the zh catalogues use full-width punctuation next to Chinese text.

A half-width comma, colon, semicolon or parenthesis touching a Chinese character reads as a typo to a Chinese
reader (“强化场景合作,完善…” instead of “强化场景合作，完善…”). URLs, times and %(name)s placeholders are not text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOGUES = sorted((ROOT / "locale" / "zh_Hans" / "LC_MESSAGES").glob("*.po"))
CJK = "\u3400-\u9fff\u3000-\u303f\uff00-\uffef\u2018-\u201d"
HALF_WIDTH = re.compile(rf"(?<=[{CJK}])[,:;()]|[,;()](?=[{CJK}])|(?<![\w/]):(?=[{CJK}])")


def translations(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every msgstr, its continuation lines joined."""
    found: list[tuple[int, str]] = []
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("msgstr"):
            if current is not None:
                found.append((start, "".join(current)))
            current, start = [line.partition('"')[2][:-1]], number
        elif current is not None and line.startswith('"'):
            current.append(line[1:-1])
        elif current is not None:
            found.append((start, "".join(current)))
            current = None
    if current is not None:
        found.append((start, "".join(current)))
    return found


def test_the_catalogues_are_found():
    assert {p.name for p in CATALOGUES} >= {"django.po", "djangojs.po"}


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.name)
def test_chinese_translations_use_full_width_punctuation(path):
    placeholder = re.compile(r"%\([a-z_]+\)[sdf]")
    bad = [
        f"{path.name}:{line}: {text}"
        for line, text in translations(path)
        if HALF_WIDTH.search(placeholder.sub("X", text))
    ]
    assert not bad, "half-width punctuation next to Chinese text:\n" + "\n".join(bad[:40])
