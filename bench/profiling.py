"""Profiles for ``python -m bench.run --profile DIR``: py-spy on a process and its children, and a summary of
its collapsed stacks (where the samples fall in project code)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench.common import BIN, log
from bench.procs import Proc


class PySpy:
    """``py-spy record`` on a process and its children (optional, --profile DIR): raw collapsed stacks."""

    def __init__(self, pid: int, out: Path, label: str):
        self.pid, self.out, self.label = pid, out, label
        self.proc: Proc | None = None

    def __enter__(self) -> PySpy:
        exe = BIN / "py-spy" if (BIN / "py-spy").exists() else shutil.which("py-spy")
        if exe is None:
            log("  (py-spy not installed: `pip install py-spy`; no profile)")
            return self
        cmd = [str(exe), "record", "--pid", str(self.pid), "--subprocesses", "--nonblocking"]
        cmd += ["--rate", "200", "--format", "raw", "--output", str(self.out)]
        self.proc = Proc(f"py-spy {self.label}", cmd, dict(os.environ), self.out.with_suffix(".log")).start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is None:
            return
        if self.proc.alive():
            os.kill(self.proc.pid, signal.SIGINT)  # py-spy writes its output on Ctrl-C
            try:
                self.proc.popen.wait(30)
            except subprocess.TimeoutExpired:
                pass
        self.proc.stop()


PROJECT_PREFIXES = ("scoring/", "partnerships/", "config/", "bench/")


def summarize_stacks(path: Path, top: int = 12) -> list[str]:
    """Shares of py-spy samples (busy threads): by the deepest project line on the stack (project code and the
    library calls it made), by function on the stack (scaffolding seen in ≥ 90 % of samples left out), by leaf."""
    if not path.exists():
        return [f"(no profile at {path})"]
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    project_line: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += n
        names, deepest = [], "(outside project code)"
        for frame in frames:
            name, _, where = frame.partition(" (")
            where = where.rstrip(")")
            file = where.rsplit(":", 1)[0]
            if file.startswith(PROJECT_PREFIXES):
                deepest = f"{where} {name}"
            names.append(f"{name} ({'/'.join(file.split('/')[-2:]) or '?'})")
        for name in set(names):
            inclusive[name] = inclusive.get(name, 0) + n
        leaf[names[-1]] = leaf.get(names[-1], 0) + n
        project_line[deepest] = project_line.get(deepest, 0) + n
    if not total:
        return ["(empty profile)"]

    def block(title: str, counts: dict[str, int], skip_above: float = 1.01) -> list[str]:
        rows = [(v / total, k) for k, v in counts.items() if v / total < skip_above]
        return [title] + [f"  {share:6.1%}  {k}" for share, k in sorted(rows, reverse=True)[:top]]

    out = [f"{total:,} samples"]
    out += block("by deepest project line (inclusive of the library calls below it):", project_line)
    out += block("by function on the stack (inclusive; scaffolding ≥ 90 % left out):", inclusive, 0.90)
    out += block("by leaf function (self):", leaf)
    return out
