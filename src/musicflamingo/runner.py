"""Run one job per input in worker processes: progress bar, resumable, failures recorded.

A job writes its outputs itself and is "done" when `is_done(item)` says so (e.g. its final
file exists, written last by atomic rename), so a killed run restarts where it stopped.
A failing item is recorded with its one-line reason and the others go on.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

T = TypeVar("T")


@dataclass
class RunSummary(Generic[T]):
    done: list[T] = field(default_factory=list)
    skipped: list[T] = field(default_factory=list)
    failed: list[tuple[T, str]] = field(default_factory=list)


def failure_reason(exc: BaseException) -> str:
    """The one line a failed item is recorded with: the error's ``reason`` or message."""
    text = (getattr(exc, "reason", None) or str(exc)).strip().splitlines()
    return (text[0] if text else "") or type(exc).__name__


def run_jobs(
    items: Sequence[T],
    job: Callable[[T], object],
    is_done: Callable[[T], bool],
    workers: int = 1,
    label: str = "working",
    on_result: Callable[[T, object], None] | None = None,
) -> RunSummary[T]:
    """Apply ``job`` to every item not yet done; ``job`` must be a picklable function."""
    summary: RunSummary[T] = RunSummary()
    todo: list[T] = []
    for item in items:
        (summary.skipped if is_done(item) else todo).append(item)
    columns = (
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}"),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(label, total=len(todo), current="")

        def finish(item: T, result: object = None, error: BaseException | None = None) -> None:
            if error is None:
                summary.done.append(item)
                if on_result is not None:
                    on_result(item, result)
            else:
                summary.failed.append((item, failure_reason(error)))
            progress.update(task, advance=1, current=str(item)[-60:])

        if workers <= 1 or len(todo) <= 1:
            for item in todo:
                try:
                    finish(item, job(item))
                except Exception as e:  # noqa: BLE001 - every item failure is recorded
                    finish(item, error=e)
        else:
            _run_pool(todo, job, workers, finish)
    return summary


def _run_pool(todo: list[T], job: Callable[[T], object], workers: int, finish) -> None:
    """Worker processes; if one dies (a native crash, out of memory), the rest go on in a
    one-worker pool where the item that was running when a worker died is the culprit."""
    ctx = mp.get_context("spawn")
    pending = list(todo)
    isolate = False
    while pending:
        with ProcessPoolExecutor(max_workers=1 if isolate else workers, mp_context=ctx) as pool:
            futures = {pool.submit(job, item): item for item in pending}
            done: set = set()
            try:
                for fut in as_completed(futures):
                    item = futures[fut]
                    try:
                        finish(item, fut.result())
                    except BrokenProcessPool:
                        raise
                    except Exception as e:  # noqa: BLE001
                        finish(item, error=e)
                    done.add(fut)
            except BrokenProcessPool:
                rest = [it for f, it in futures.items() if f not in done]
                if isolate:  # one worker, in order: the first unfinished item crashed it
                    finish(rest[0], error=RuntimeError("worker process crashed on this item"))
                    rest = rest[1:]
                isolate = True
                pending = rest
                continue
        pending = []
