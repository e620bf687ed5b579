"""`atomic_write` and `remove_partial_writes` with real writer processes killed mid-write."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from musicflamingo.util import atomic_write, remove_partial_writes

WRITER = """
import sys, time
from musicflamingo.util import atomic_write

def slow(tmp):
    tmp.write_text("half")
    time.sleep(600)

atomic_write(sys.argv[1], slow)
"""


def start_writer(path: Path) -> subprocess.Popen:
    """A process that stops inside `atomic_write` once its temporary file exists."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    deadline = time.monotonic() + 60
    while not list(path.parent.glob(f".{path.name}.*.tmp")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    return proc


def test_a_killed_writers_partial_file_goes_and_a_live_writers_stays(tmp_path):
    killed = start_writer(tmp_path / "a" / "killed.json")
    live = start_writer(tmp_path / "live.json")
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        foreign = tmp_path / ".other.json.someone-else.tmp"
        foreign.write_text("not ours")
        elsewhere = tmp_path / ".x.json.another-host-1.abcd1234.tmp"  # pid 1 is alive here
        elsewhere.write_text("not ours")
        (left,) = list((tmp_path / "a").glob(".killed.json.*.tmp"))

        assert remove_partial_writes(tmp_path) == [left]

        assert not left.exists() and not (tmp_path / "a" / "killed.json").exists()
        assert foreign.exists() and elsewhere.exists()
        assert list(tmp_path.glob(".live.json.*.tmp"))  # its writer is still running
    finally:
        live.kill()
        live.wait()


def test_the_written_file_replaces_the_old_one_whole(tmp_path):
    path = atomic_write(tmp_path / "f.txt", "old")
    atomic_write(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
