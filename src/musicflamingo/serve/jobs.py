"""The page's analysis jobs: one uploaded song each, measured in a worker process.

A job's song is saved in its own folder, measured there by `analyze.write_outputs`'s
pipeline (facts.json, report.md, plots) in a spawned worker process, so the server's
event loop never runs numeric code and a crashing decoder cannot take the server down.
The worker reports each stage of `facts.extract.analyze` as it starts and ends over one
queue; the server turns those into `JobView` snapshots and wakes the waiting event streams.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any, Literal

from musicflamingo.analyze import FACTS_FILE, REPORT_FILE, write_outputs
from musicflamingo.facts.extract import FactsConfig, Timings, analyze
from musicflamingo.facts.harmony import short_name
from musicflamingo.facts.schema import SongFacts
from musicflamingo.report.markdown import summary_rows
from musicflamingo.runner import failure_reason
from musicflamingo.util import Record

STAGES = (
    "decode",
    "loudness",
    "features",
    "beats",
    "key",
    "chords",
    "meter",
    "sections",
    "lyrics",
    "report",
)
PLOTS = ("chords.png", "loudness.png", "tempo.png")
LISTEN_POLL = 0.2  # seconds: how soon a retired pool's listener notices, once its queue is empty
DOWNLOADS = (FACTS_FILE, REPORT_FILE, *PLOTS)
Status = Literal["queued", "running", "done", "failed"]
StageState = Literal["waiting", "running", "done", "failed", "skipped"]


class Stage(Record):
    name: str
    state: StageState = "waiting"
    seconds: float | None = None


class JobView(Record):
    """What the page sees of a job (the body of the job routes and of each event):
    once done, the facts table's rows and the chords' short names ("A:min" -> "Am")."""

    id: str
    name: str
    status: Status
    stages: list[Stage]
    error: str | None = None
    files: list[str] = []
    summary: list[tuple[str, str]] = []
    chord_names: dict[str, str] = {}
    seconds: float | None = None


class Busy(Exception):
    """The job queue is full."""


# --- the worker process --------------------------------------------------------------

_progress: Any = None  # the worker's end of the progress queue (set by `_init`)


def _init(queue: Any) -> None:
    global _progress
    _progress = queue


class _Reporting(Timings):
    """`Timings` that also tells the server when each stage starts and ends."""

    def __init__(self, job_id: str):
        super().__init__()
        self.job_id = job_id

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        _progress.put((self.job_id, name, "running", None))
        with super().stage(name):
            yield
        _progress.put((self.job_id, name, "done", round(self.stages[name], 3)))


def _measure(job_id: str, song: str, folder: str, config: FactsConfig, outputs: bool) -> None:
    """Run in the worker: facts (and, with ``outputs``, report and plots) into ``folder``;
    the last message on the queue says how it ended."""
    try:
        timings = _Reporting(job_id)
        facts = analyze(song, config, timings)
        if outputs:
            with timings.stage("report"):
                write_outputs(facts, Path(folder))
        else:
            (Path(folder) / FACTS_FILE).write_text(facts.to_json(), encoding="utf-8")
    except Exception as e:  # noqa: BLE001 - any failure is the job's one-line error
        _progress.put((job_id, None, "failed", failure_reason(e)))
    else:
        _progress.put((job_id, None, "done", None))


# --- the server side -------------------------------------------------------------------


def _update(stages: dict[str, Stage], stage: Stage) -> dict[str, Stage]:
    """The stages with ``stage`` set, listed in the order they started, then those waiting
    (a new dict: readers on other threads see the old one or the new one, whole)."""
    stages = {**stages, stage.name: stage}
    started = {k: v for k, v in stages.items() if v.state != "waiting"}
    return started | {k: v for k, v in stages.items() if v.state == "waiting"}


@dataclass
class Job:
    id: str
    name: str
    folder: Path
    song: Path
    status: Status = "queued"
    stages: dict[str, Stage] = field(default_factory=lambda: {s: Stage(name=s) for s in STAGES})
    error: str | None = None
    crashed: bool = False  # the worker died (the server's failure, not the song's)
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None
    summary: list[tuple[str, str]] = field(default_factory=list)
    chord_names: dict[str, str] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    future: Future | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def view(self) -> JobView:
        status = self.status  # once: another thread may finish the job meanwhile
        finished = status in ("done", "failed")
        files = [f for f in DOWNLOADS if (self.folder / f).is_file()] if finished else []
        return JobView(
            id=self.id,
            name=self.name,
            status=status,
            stages=list(self.stages.values()),
            error=self.error,
            files=files,
            summary=self.summary,
            chord_names=self.chord_names,
            seconds=self.seconds,
        )


class Jobs:
    """At most ``capacity`` unfinished jobs (uploading, queued or running), measured by
    ``workers`` processes; the newest ``keep`` finished jobs stay downloadable."""

    def __init__(
        self, root: Path, config: FactsConfig, capacity: int = 8, workers: int = 1, keep: int = 32
    ):
        self.root, self.config = root, config
        self.capacity, self.workers, self.keep = capacity, workers, keep
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._queue: Any = None
        self._retired: threading.Event | None = None  # set: the pool's listener may stop
        self._loop: asyncio.AbstractEventLoop | None = None

    # creation: a slot is taken before the upload is read, so a full queue costs nothing
    def reserve(self, name: str) -> Job:
        """A new job in its own folder; `Busy` when ``capacity`` jobs are unfinished.
        Must be called on the event loop (its events belong to it)."""
        self._loop = asyncio.get_running_loop()
        with self._lock:
            if sum(not j.finished for j in self.jobs.values()) >= self.capacity:
                raise Busy(f"busy: {self.capacity} songs are being analysed; try again later")
            job_id = uuid.uuid4().hex[:16]
            folder = self.root / job_id
            folder.mkdir(parents=True)
            suffix = "".join(c for c in Path(name).suffix[:9] if c.isalnum() or c == ".")
            job = Job(job_id, Path(name).name[:200] or "song", folder, folder / f"song{suffix}")
            self.jobs[job_id] = job
        return job

    def drop(self, job: Job) -> None:
        """Forget a job and delete its folder."""
        with self._lock:
            self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def start(self, job: Job, outputs: bool = True) -> None:
        """Queue the job's song (already saved at ``job.song``) for the workers."""
        if not outputs:
            job.stages.pop("report")
        if self.config.lyrics_model is None:
            job.stages.pop("lyrics")
        job.started = time.monotonic()
        args = (job.id, str(job.song), str(job.folder), self.config, outputs)
        pool = self._executor()
        try:
            job.future = pool.submit(_measure, *args)
        except BrokenProcessPool:  # a worker died since: a new pool takes it
            self._retire(pool)
            pool = self._executor()
            job.future = pool.submit(_measure, *args)
        job.future.add_done_callback(lambda f: self._ended(job, pool, f))
        self._prune()

    def close(self) -> None:
        """Stop the workers now (a song being measured is abandoned) and the listener."""
        with self._lock:
            pool, retired, self._pool = self._pool, self._retired, None
        if pool is None or retired is None:
            return
        workers = list(getattr(pool, "_processes", {}).values())  # no public handle
        pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.terminate()
        retired.set()

    def _executor(self) -> ProcessPoolExecutor:
        """The pool, with its own progress queue (a worker killed while writing to a queue
        can leave it unusable, so a new pool gets a new queue and listener)."""
        with self._lock:
            if self._pool is None:
                ctx = mp.get_context("spawn")  # the server has threads: never fork it
                self._queue, self._retired = ctx.Queue(), threading.Event()
                listen = (self._queue, self._retired)
                threading.Thread(target=self._listen, args=listen, daemon=True).start()
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=ctx, initializer=_init, initargs=(self._queue,)
                )
            return self._pool

    def _retire(self, pool: ProcessPoolExecutor) -> None:
        """Forget a broken pool (and stop its listener); the next job starts a new one."""
        with self._lock:
            if self._pool is not pool:
                return
            retired, self._pool = self._retired, None
        pool.shutdown(wait=False, cancel_futures=True)
        if retired is not None:
            retired.set()

    def _listen(self, queue: Any, retired: threading.Event) -> None:
        """The progress messages of one pool's workers, in order, until it is retired and
        they are all read. Only the workers write to the queue: a worker killed mid-message
        holds the queue's write lock for ever, and a write of the server's own would then
        never be sent (and its flush would hang the server's exit)."""
        while True:
            try:
                msg = queue.get(timeout=LISTEN_POLL)
            except Empty:
                if retired.is_set():
                    return
                continue
            job_id, stage, state, value = msg
            job = self.jobs.get(job_id)
            if job is None or job.finished:
                continue
            if stage is None:
                self._finish(job, error=value if state == "failed" else None)
                continue
            job.status = "running"
            job.stages = _update(job.stages, Stage(name=stage, state=state, seconds=value))
            self._changed(job)

    def _ended(self, job: Job, pool: ProcessPoolExecutor, future: Future) -> None:
        """A job's future is done: only a dead worker (native crash, out of memory) or a
        cancelled job ends it here; the rest end by their last message."""
        if future.cancelled():
            self._finish(job, error="cancelled: the server is shutting down")
        elif (e := future.exception()) is not None:
            job.crashed = True
            reason = failure_reason(e)
            if isinstance(e, BrokenProcessPool):
                self._retire(pool)
                reason = "its worker process died"
            self._finish(job, error=f"the analysis crashed: {reason}")

    def _finish(self, job: Job, error: str | None) -> None:
        """Stages not reached are skipped; the one running failed with the job or is done.
        A running job that fails between two stages (its worker died after one ended, before
        the next was reported) failed in the next one."""
        with self._lock:
            if job.finished:
                return
            ended: StageState = "failed" if error else "done"
            states = [s.state for s in job.stages.values()]
            if error and job.status == "running" and "running" not in states:
                nxt = next((n for n, s in job.stages.items() if s.state == "waiting"), None)
                if nxt is not None:
                    job.stages = _update(job.stages, Stage(name=nxt, state="running"))
            for name, stage in job.stages.items():
                if stage.state in ("waiting", "running"):
                    state = ended if stage.state == "running" else "skipped"
                    job.stages[name] = Stage(name=name, state=state)
            if error is None and (job.folder / FACTS_FILE).is_file():
                facts = SongFacts.from_json((job.folder / FACTS_FILE).read_text(encoding="utf-8"))
                job.summary = summary_rows(facts)
                job.chord_names = {c.label: short_name(c.label) for c in facts.chords}
            job.error = error
            job.seconds = round(time.monotonic() - job.started, 3)
            job.status = "failed" if error else "done"
        self._changed(job)

    def _changed(self, job: Job) -> None:
        """Wake everything waiting on ``job`` (callable from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._pulse, job)

    @staticmethod
    def _pulse(job: Job) -> None:
        old, job.changed = job.changed, asyncio.Event()
        old.set()

    def _prune(self) -> None:
        with self._lock:
            done = [j for j in self.jobs.values() if j.finished]
            stale = done[: max(0, len(done) - self.keep)]
        for job in stale:
            self.drop(job)
