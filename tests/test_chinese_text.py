"""Chinese as a native reads it: the zh catalogues and the fixtures' Chinese texts use full-width punctuation next
to Chinese text.

A half-width comma, colon, semicolon or parenthesis touching a Chinese character reads as a typo to a Chinese
reader (“强化场景合作,完善…” instead of “强化场景合作，完善…”). URLs, times and %(name)s placeholders are not text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CATALOGUES = sorted(
    [
        *(ROOT / "locale" / "zh_Hans" / "LC_MESSAGES").glob("*.po"),
        *(ROOT / "locale_overrides" / "zh_Hans" / "LC_MESSAGES").glob("*.po"),
    ]
)
FIXTURES = sorted([*(ROOT / "fixtures").rglob("*.yaml"), *(ROOT / "fixtures").rglob("*.json")])
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


def chinese_strings(node, where: str = "", english: bool = False):
    """(path, text) of every string of a parsed fixture that is not an English text (under a key ``en`` or
    ``*_en``, where a Chinese term in half-width parentheses is right: "(断直连)")."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from chinese_strings(
                value, f"{where}.{key}", english or key == "en" or str(key).endswith("_en")
            )
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from chinese_strings(value, f"{where}[{i}]", english)
    elif isinstance(node, str) and not english:
        yield where, node


def test_the_fixtures_are_found():
    names = {p.name for p in FIXTURES}
    assert {"demo.yaml", "partners.yaml", "taxonomy.json", "core.yaml", "data_sharing.yaml"} <= names


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fixture_chinese_texts_use_full_width_punctuation(path):
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    strings = list(chinese_strings(data))
    assert strings
    bad = [f"{where}: {s}" for where, s in strings if HALF_WIDTH.search(s)]
    assert not bad, f"half-width punctuation next to Chinese text in {path.name}:\n" + "\n".join(bad[:40])
    # A folded YAML line break between two Chinese characters reads as a stray space ("联系方式、 消费").
    folded = [f"{where}: {s}" for where, s in strings if re.search(r"[、，。；：]\s[\u4e00-\u9fff]", s)]
    assert not folded, "a space after Chinese punctuation:\n" + "\n".join(folded[:40])


def test_the_fixture_check_catches_a_half_width_comma():
    assert HALF_WIDTH.search("强化场景合作,完善互联网经营生态圈")
    assert not HALF_WIDTH.search("强化场景合作，完善互联网经营生态圈")
    data = {"name": {"zh-hans": "示例银行 (演示)", "en": "Demo bank (演示)"}}
    assert [s for _w, s in chinese_strings(data) if HALF_WIDTH.search(s)] == ["示例银行 (演示)"]
