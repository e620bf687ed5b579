"""Small helpers every layer shares: clock strings, atomic file writes, the record base.

This module sits at the bottom of the package: it imports nothing from musicflamingo.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: os.umask is process-wide and not thread-safe


class Record(BaseModel):
    """Base of every typed record that crosses a boundary (files, processes, HTTP).

    Unknown fields are an error, so a record written by another version or another job
    is noticed instead of silently half-read.
    """

    model_config = ConfigDict(extra="forbid")


def clock(seconds: float, decimals: int = 0) -> str:
    """``m:ss`` (``h:mm:ss`` from one hour on) for a time in seconds.

    ``decimals`` adds tenths or hundredths of a second (``1:05.3``). Negative, NaN and
    infinite times are a ``ValueError``.
    """
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"a clock time must be finite and >= 0, not {seconds!r}")
    scale = 10**decimals
    ticks = int(round(seconds * scale))
    whole, frac = divmod(ticks, scale)
    h, m, s = whole // 3600, whole % 3600 // 60, whole % 60
    text = f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
    return f"{text}.{frac:0{decimals}d}" if decimals else text


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_partial_writes(folder: str | Path) -> list[Path]:
    """Delete, under ``folder`` (recursively), the temporary files of `atomic_write` calls
    whose process died mid-write (a killed build); returns them. Files of live processes,
    of other hosts and of other programs are left alone."""
    mine = re.compile(rf"^\..+\.{re.escape(socket.gethostname())}-(\d+)\.[^.]+\.tmp$")
    removed = []
    for p in Path(folder).rglob(".*.tmp"):
        m = mine.match(p.name)
        if m and p.is_file() and not _alive(int(m.group(1))):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def atomic_write(path: str | Path, data: str | bytes | Callable[[Path], object]) -> Path:
    """Write ``path`` so that readers see the old file or the whole new one, never a part.

    ``data`` is text (UTF-8), bytes, or a function that writes a given temporary path
    (e.g. a Parquet writer). The temporary file has a unique name in the same folder, so
    concurrent writers never share or delete each other's temporary files; the last
    ``os.replace`` wins. The name carries the writer's host and pid, by which
    `remove_partial_writes` tells a killed writer's leftovers from a live one's.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.{socket.gethostname()}-{os.getpid()}."
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # as a plain open() would create it
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
