"""Run one function in a forked child process while this one carries on.

essentia and the Vamp host hold the GIL while they compute, so threads cannot overlap
them; a forked child can, and it reads the parent's arrays copy-on-write (an hour of
audio is not copied or pickled). Only the result travels back, pickled through a pipe.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Forked(Generic[T]):
    """``fn()`` started in a forked child; `result` waits for its value (or re-raises its
    exception); `close` ends the child if its result was never collected. Where a child
    cannot be forked (a daemonic worker, no ``fork`` on the platform) ``fn`` runs in
    `result`, in this process."""

    def __init__(self, fn: Callable[[], T]):
        self._fn = fn
        self._proc = None
        try:
            ctx = mp.get_context("fork")
            self._recv, send = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_run, args=(fn, send), daemon=True)
            self._proc.start()
            send.close()
        except (ValueError, AssertionError, OSError):  # no fork here / daemonic parent
            self._proc = None

    def result(self) -> T:
        if self._proc is None:
            return self._fn()
        proc, self._proc = self._proc, None
        return receive(self._recv, proc, "the forked stage")

    def close(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.join()
            self._recv.close()
            self._proc = None


def receive(conn, proc, what: str):  # noqa: ANN001, ANN201 - a Connection, a Process
    """What the child ``proc`` sent with `reply` through ``conn``: its value, or its exception
    raised here; `RuntimeError` naming ``what`` if it died first. Closes ``conn``, joins."""
    try:
        ok, value = conn.recv()
    except EOFError:
        proc.join()
        raise RuntimeError(f"{what} died (exit code {proc.exitcode})") from None
    finally:
        conn.close()
    proc.join()
    if not ok:
        raise value
    return value


def reply(conn, fn: Callable[[], object]) -> None:  # noqa: ANN001 - a Connection
    """In the child: send ``fn()``, or the exception it raised, for `receive`."""
    try:
        value = (True, fn())
    except BaseException as e:  # sent back and raised in the parent
        value = (False, e)
    conn.send(value)


def _run(fn: Callable[[], object], send) -> None:
    reply(send, fn)
    send.close()
