"""The Simplified Chinese catalogue is complete: every message has a translation and none is left fuzzy."""

import re
import shutil
import subprocess
from pathlib import Path

PO = Path(__file__).resolve().parents[1] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_catalogue_has_no_untranslated_or_fuzzy_entries():
    text = PO.read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]  # the first block is the header
    untranslated = [
        e
        for e in entries
        if re.search(r'^msgstr(\[0\])? ""\s*$', e, re.M) and not re.search(r'^msgstr(\[0\])? ""\n"', e, re.M)
    ]
    fuzzy = [e for e in entries if re.search(r"^#,.*\bfuzzy\b", e, re.M)]
    assert not untranslated, untranslated[:3]
    assert not fuzzy, fuzzy[:3]
    assert len(entries) > 500


def test_catalogue_compiles_cleanly():
    assert shutil.which("msgfmt"), "gettext (msgfmt) is needed to compile translations; .ci/run installs it"
    done = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(PO)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
