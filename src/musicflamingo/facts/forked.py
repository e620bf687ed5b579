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
        try:
            ok, value = self._recv.recv()
        except EOFError:
            self._proc.join()
            code = self._proc.exitcode
            self._proc = None
            raise RuntimeError(f"the forked stage died (exit code {code})") from None
        finally:
            self._recv.close()
        self._proc.join()
        self._proc = None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.join()
            self._recv.close()
            self._proc = None


def _run(fn: Callable[[], object], send) -> None:
    try:
        value = (True, fn())
    except BaseException as e:  # sent back and raised in the parent
        value = (False, e)
    send.send(value)
    send.close()
