"""The embedded broker (config/broker.py): a consumer never reads a half-written message, and an undecodable file
is moved aside instead of stopping the worker.

kombu's own filesystem transport creates a message file before writing it, so a consumer polling the folder can
read it empty and die with JSONDecodeError (kombu issue #1551); `make run` stopped that way after ~30 minutes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from kombu import Connection

from config.broker import ALIAS, UNDECODABLE, register

ROOT = Path(__file__).resolve().parents[1]

PRODUCER = """
import sys
from kombu import Connection
from config.broker import register
register()
transport, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
options = {"data_folder_in": folder, "data_folder_out": folder, "processed_folder": folder + "-done",
           "control_folder": folder + "-control"}
with Connection(transport + "://", transport_options=options) as conn:
    queue = conn.SimpleQueue("stress")
    for i in range(count):
        queue.put({"n": i, "pad": "x" * 2000})
    queue.close()
"""


def _options(folder: Path) -> dict:
    for path in (folder, folder.with_name(folder.name + "-done"), folder.with_name(folder.name + "-control")):
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(folder) + "-done",
        "control_folder": str(folder) + "-control",
        "polling_interval": 0.001,
    }


def _consume_while_producing(transport: str, folder: Path, *, producers: int, count: int) -> list[int]:
    """Producers in other processes write ``count`` messages each while this process takes them as they come."""
    register()
    options = _options(folder)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PRODUCER, transport, str(folder), str(count)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        for _ in range(producers)
    ]
    seen: list[int] = []
    deadline = time.monotonic() + 120
    try:
        with Connection(f"{transport}://", transport_options=options) as conn:
            queue = conn.SimpleQueue("stress")
            while len(seen) < producers * count and time.monotonic() < deadline:
                try:
                    message = queue.get(block=True, timeout=1)
                except queue.Empty:
                    continue
                seen.append(message.payload["n"])
                message.ack()
            queue.close()
    finally:
        for proc in procs:
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()
    return seen


def test_messages_written_while_a_consumer_polls_are_read_whole(tmp_path):
    producers, count = 3, 1500
    seen = _consume_while_producing(ALIAS, tmp_path / "queue", producers=producers, count=count)
    assert len(seen) == producers * count
    assert sorted(seen) == sorted(list(range(count)) * producers)
    assert not list((tmp_path / "queue").iterdir())  # nothing left behind, no temporary file either


def test_an_undecodable_file_is_moved_aside_and_the_next_message_is_read(tmp_path, caplog):
    register()
    options = _options(tmp_path / "queue")
    # A file that kombu's own transport would have left half-written, older than a good message. (Each test has
    # its own queue name: kombu's virtual transports keep exchange state per process.)
    (tmp_path / "queue" / "1_broken.aside.msg").write_bytes(
        b""
    )  # millisecond 1: older than any message put now
    with Connection(f"{ALIAS}://", transport_options=options) as conn:
        queue = conn.SimpleQueue("aside")
        queue.put({"n": 1})
        message = queue.get(block=True, timeout=5)
        assert message.payload == {"n": 1}
        message.ack()
        queue.close()
    moved = list((tmp_path / "queue-done" / UNDECODABLE).iterdir())
    assert [p.name for p in moved] == ["1_broken.aside.msg"]
    assert "1_broken.aside.msg" in caplog.text and "does not decode" in caplog.text


def test_messages_are_read_oldest_first_when_the_clock_gains_a_digit(tmp_path):
    """kombu orders the files by name as text; "10000_…" (newer) sorted before "9999_…" (older)."""
    register()
    options = _options(tmp_path / "queue")
    with Connection(f"{ALIAS}://", transport_options=options) as conn:
        queue = conn.SimpleQueue("digits")
        queue.put({"n": "older"})
        time.sleep(0.01)  # a later millisecond
        queue.put({"n": "newer"})
        first, second = sorted((tmp_path / "queue").iterdir(), key=lambda p: int(p.name.partition("_")[0]))
        first.rename(first.with_name("9999_" + first.name.partition("_")[2]))
        second.rename(second.with_name("10000_" + second.name.partition("_")[2]))
        got = [queue.get(block=True, timeout=5) for _ in range(2)]
        for message in got:
            message.ack()
        queue.close()
    assert [m.payload["n"] for m in got] == ["older", "newer"]


def test_kombu_filesystem_transport_dies_on_the_same_file(tmp_path):
    """What the subclass is for: the stock transport raises on that file (if this starts passing, kombu fixed
    #1551 and config/broker.py can go)."""
    options = _options(tmp_path / "queue")
    (tmp_path / "queue" / "1_broken.stock.msg").write_bytes(b"")
    with Connection("filesystem://", transport_options=options) as conn:
        queue = conn.SimpleQueue("stock")
        with pytest.raises(ValueError):
            queue.get(block=True, timeout=5)
        queue.close()
