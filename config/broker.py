"""The embedded broker: kombu's filesystem transport with whole-file writes.

kombu's filesystem transport (``filesystem://``) creates a message file, *then* locks and writes it; a consumer
polling the folder may move and read the file in between, finds it empty, and ``json.loads("")`` raises
``JSONDecodeError`` inside the worker's consumer — an unrecoverable error that stops the worker (kombu issue
#1551, open; `make run` died this way after about 30 minutes). The same gap exists when an exchange's binding
file is first created.

This is fixed here at the point of writing rather than by catching the error: each message is written to a
temporary name in the same folder — a name no queue matches — and renamed into place, which POSIX makes atomic,
so a consumer only ever sees whole files; a binding file is created the same way, with ``os.link`` so that two
processes creating it at once cannot overwrite each other. Should an undecodable file still turn up (a disk
filled mid-write, a file copied in by hand), the consumer moves it to ``<processed folder>/undecodable/`` and
logs an error naming it, instead of dying.

Registered as the ``scorecardfs`` transport (``CELERY_BROKER_URL = "scorecardfs://"``) when the Celery app is
imported; every option of ``filesystem://`` applies unchanged. A subclass of kombu's own transport rather than
another library: the embedded default keeps kombu's folder layout, options and tests, and changes two writes.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

ALIAS = "scorecardfs"
UNDECODABLE = "undecodable"


def write_whole(folder: str | os.PathLike, name: str, data: bytes, *, replace: bool = True) -> bool:
    """Write ``data`` as ``folder/name`` so that a reader sees nothing or the whole file.

    With ``replace`` False the file is only created when absent (returns False when it already existed).
    """
    tmp = Path(folder) / f".tmp-{uuid.uuid4().hex}"  # "." first: matched by no queue and no exchange name
    with open(tmp, "wb", buffering=0) as f:
        f.write(data)
    try:
        if replace:
            os.replace(tmp, Path(folder) / name)
            return True
        try:
            os.link(tmp, Path(folder) / name)
        except FileExistsError:
            return False
        return True
    finally:
        if tmp.exists():
            tmp.unlink()


def _age(name: str) -> tuple[int, str]:
    """Sort key for message files, oldest first: the millisecond prefix as a number. (kombu sorts the names as
    strings, so "10000_…" came before "9999_…", and a message written once the clock gained a digit jumped the
    queue.)"""
    stamp, _, rest = name.partition("_")
    return (int(stamp), rest) if stamp.isdigit() else (-1, name)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put ``payload`` onto ``queue``: the same file name as kombu's, written whole."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        try:
            write_whole(self.data_folder_out, name, str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        if not file.exists():
            row = [filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")]
            if write_whole(self.control_folder, file.name, str_to_bytes(dumps(row)), replace=False):
                return
        # The file exists (or another process has just created it): kombu's locked read-modify-write.
        super()._queue_bind(exchange, routing_key, pattern, queue)

    def _get(self, queue):
        """kombu's ``_get`` (oldest file of the queue first, moved out before it is read), except that a file
        that does not decode is moved to ``undecodable/`` and logged, and the next one is taken."""
        suffix = f"{queue}.msg"
        folder = self.processed_folder if self.store_processed else tempfile.gettempdir()
        names = [name for name in os.listdir(self.data_folder_in) if name.partition(".")[2] == suffix]
        for name in sorted(names, key=_age):
            try:
                shutil.move(os.path.join(self.data_folder_in, name), folder)
            except OSError:
                continue  # taken by another consumer meanwhile
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    payload = f.read()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {path!r} from queue.") from exc
            try:
                message = loads(bytes_to_str(payload))
            except (ValueError, UnicodeDecodeError) as exc:
                self._quarantine(path, queue, exc)
                continue
            if not self.store_processed:
                os.remove(path)
            return message
        raise Empty()

    def _quarantine(self, path: str, queue: str, exc: Exception) -> None:
        target = Path(self.processed_folder) / UNDECODABLE
        target.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target / Path(path).name)
        logger.error(
            "embedded broker: message file %s on queue %s does not decode (%s); moved to %s",
            Path(path).name,
            queue,
            exc,
            target,
        )


class Transport(filesystem.Transport):
    Channel = Channel
    driver_type = "filesystem"
    driver_name = ALIAS


def register() -> None:
    TRANSPORT_ALIASES.setdefault(ALIAS, f"{__name__}:Transport")
