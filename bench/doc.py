"""The bench's table (rows with a value, a ceiling, a ratio, a target and a verdict), the machine it ran on, and
the Markdown blocks it writes: every figure in docs/performance.md and docs/load.md is written by the code that
measured it, between markers (``write_block``); the prose around the markers carries no figures."""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    figure: str
    value: str
    ceiling: str = "—"
    ratio: str = "—"
    target: str = "—"
    status: str = ""  # "met", "MISSED", "FAIL" (structural), "" (no target)


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if row.status == "MISSED":
            self.missed.append(row.figure)
        elif row.status == "FAIL":
            self.failures.append(row.figure)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}/s"


def table_markdown(rows: list[Row]) -> str:
    header = ["figure", "value", "ceiling", "ratio", "target", ""]
    cells = [header] + [[r.figure, r.value, r.ceiling, r.ratio, r.target, r.status] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = []
    for i, c in enumerate(cells):
        lines.append("| " + " | ".join(v.ljust(widths[j]) for j, v in enumerate(c)) + " |")
        if i == 0:
            lines.append("| " + " | ".join("-" * widths[j] for j in range(len(header))) + " |")
    return "\n".join(lines)


def machine_info(args) -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    info = {
        "nproc": os.cpu_count(),
        "memory": f"{mem_gib:.1f} GiB",
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    try:
        import django
        from django.db import connection

        info["django"] = django.get_version()
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
        import redis

        info["redis"] = redis.Redis.from_url(args.redis_url).info("server")["redis_version"]
    except Exception:
        pass
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        info["wrk"] = (out.stdout or out.stderr).split("[")[0].strip()
    return info


DOC_BEGIN = "<!-- bench:begin (written by python -m bench.run --write-doc; edit outside these markers) -->"
DOC_END = "<!-- bench:end -->"


def write_doc(
    path: Path, args, machine: dict, table: str, extra: list[str], wall_s: float, profiles: dict
) -> None:
    command = " ".join(["python -m bench.run", *sys.argv[1:]])
    body = "\n".join(
        [
            DOC_BEGIN,
            f"Run on {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} with `{command}` "
            f"(`make bench`), {wall_s / 60:.1f} minutes in all.",
            "",
            f"Machine: {machine.get('nproc')} CPUs ({machine.get('cpu')}), {machine.get('memory')} memory, "
            f"Linux {machine.get('kernel')}; Python {machine.get('python')}, Django {machine.get('django', '?')}, "
            f"PostgreSQL {machine.get('postgresql', '?')}, Redis {machine.get('redis', '?')}, "
            f"{machine.get('wrk', 'wrk ?')}.",
            "",
            table,
            "",
            *extra,
            *(
                [""]
                + [f"Profile — {t}:\n\n```\n" + "\n".join(lines) + "\n```\n" for t, lines in profiles.items()]
                if profiles
                else []
            ),
            DOC_END,
        ]
    )
    if path.exists() and DOC_BEGIN.split(" (")[0] in (text := path.read_text()) and DOC_END in text:
        head = text[: text.index(DOC_BEGIN.split(" (")[0])]
        tail = text[text.index(DOC_END) + len(DOC_END) :]
        path.write_text(head + body + tail)
    else:
        path.write_text("# Performance\n\n" + body + "\n")


def write_block(path: Path, begin: str, end: str, lines: list[str], *, title: str = "") -> None:
    """Replace the block between the markers ``begin`` … ``end`` in ``path`` (appended when absent; a new file
    starts with ``title``). ``begin`` is matched up to its first " (", so its explanation may change."""
    body = "\n".join([begin, *lines, end])
    key = begin.split(" (")[0]
    text = path.read_text() if path.exists() else (f"# {title}\n" if title else "")
    if key in text and end in text[text.index(key) :]:
        start = text.index(key)
        stop = text.index(end, start) + len(end)
        text = text[:start] + body + text[stop:]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    path.write_text(text)
