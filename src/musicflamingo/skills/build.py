"""Run the MF-Skills engine over a folder of songs: `build(songs, out_dir, ...)`.

Each song goes through stages 1-4 (`musicflamingo.skills.song`) and is written as
``songs/<id>.json`` (atomic rename, so a killed run restarts where it stopped, losing
nothing and duplicating nothing; ids are `musicflamingo.inputs.song_name`, unique per path).
At the end the per-song files are assembled into ``skills.json`` (Audio Flamingo
conversation layout), Parquet shards under ``data/`` and ``manifest.json`` (counts, drop
reasons, tokens, cost, model and prompt versions). Executor "local" uses
`musicflamingo.runner.run_jobs`, "ray" `musicflamingo.skills.ray_executor.run_ray`.

One build at a time per output folder: a build holds an exclusive lock on ``OUT/.lock``
for its whole run, and a second one fails at once with `BuildLocked` (it does not wait:
the first may run for hours, and the user should know now).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from musicflamingo.facts.extract import FactsConfig
from musicflamingo.inputs import expand_inputs, song_name
from musicflamingo.llm.base import TextLLM
from musicflamingo.runner import run_jobs
from musicflamingo.skills.captioner import SegmentCaptioner
from musicflamingo.skills.filter import FilterConfig
from musicflamingo.skills.manifest import write_dataset
from musicflamingo.skills.song import (
    Engine,
    SongJob,
    is_done,
    load_record,
    measure,
    owned,
    save,
    write,
)
from musicflamingo.skills.stages import WriteConfig
from musicflamingo.util import remove_partial_writes

SONGS_DIR = "songs"
LOCK_FILE = ".lock"
__all__ = ["BuildLocked", "Engine", "SONGS_DIR", "build", "load_record", "plan", "write"]


class BuildLocked(RuntimeError):
    """Another live build holds the output folder."""


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` (an OS file lock, released by the kernel when the holder dies,
    so a killed build never leaves a stale lock) or raise `BuildLocked` at once. Once
    held, the partial files of a killed build's unfinished writes are removed."""
    from filelock import FileLock, Timeout

    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise BuildLocked(
            f"{out}: another build (skills or think) is writing into this folder; "
            "wait for it to finish or choose another output folder"
        ) from None
    try:
        remove_partial_writes(out)
        yield
    finally:
        lock.release()


def run_song(job: SongJob, engine: Engine) -> str:
    """The local executor's job: stages 1-4 of one song, then its record file."""
    record = write(measure(job.song, job.song_id, engine), engine)
    save(record, job.out_file)
    return record.status


def plan(songs: str | Path | list[str | Path], out_dir: Path) -> list[SongJob]:
    """One job per song found (folders searched recursively), ids from relative paths."""
    inputs = [str(s) for s in songs] if isinstance(songs, list) else [str(songs)]
    paths, root = expand_inputs(inputs)
    jobs = []
    for p in paths:
        song_id = song_name(p, root)
        jobs.append(SongJob(p.resolve(), song_id, out_dir / SONGS_DIR / f"{song_id}.json"))
    return jobs


def build(
    songs: str | Path | list[str | Path],
    out_dir: str | Path,
    *,
    llm: TextLLM | None = None,
    captioner: SegmentCaptioner | None = None,
    executor: str = "local",
    workers: int = 1,
    facts_config: FactsConfig | None = None,
    write_config: WriteConfig | None = None,
    filter_config: FilterConfig | None = None,
    judge: TextLLM | None = None,
    rows_per_shard: int = 5000,
    prices: tuple[float, float] | None = None,
    retry_failed: bool = False,
    ray_address: str | None = None,
) -> dict:
    """Build the dataset; returns the manifest. ``llm`` defaults to the embedded SmolLM2;
    ``prices`` are USD per million prompt and completion tokens, for the cost estimate.
    ``executor="ray"`` runs the same stages on a Ray cluster (``ray_address``, else a local
    one with ``workers`` CPUs). ``retry_failed`` redoes songs whose writing failed.
    Raises `BuildLocked` when another build is writing into ``out_dir``."""
    if executor not in ("local", "ray"):
        raise ValueError(f"unknown executor {executor!r}; available: local, ray")
    out = Path(out_dir)
    with locked(out):
        if llm is None:
            from musicflamingo.llm.embedded import EmbeddedLLM

            llm = EmbeddedLLM()
        engine = Engine(
            llm=llm,
            captioner=captioner,
            facts=facts_config or FactsConfig(),
            write=write_config or WriteConfig(),
            filter=filter_config or FilterConfig(),
            judge=judge,
        )
        jobs = plan(songs, out)
        if executor == "ray":
            from musicflamingo.skills.ray_executor import run_ray

            todo = [j for j in jobs if not is_done(j, retry_failed)]
            errors = run_ray(todo, engine, address=ray_address, num_cpus=workers)
        else:
            summary = run_jobs(
                jobs,
                partial(run_song, engine=engine),
                partial(is_done, retry_failed=retry_failed),
                workers=workers,
                label="skills",
            )
            errors = {str(job.song): why for job, why in summary.failed}
        # a song that errored now is counted once, as an error, not also by an older record
        records = [r for j in jobs if str(j.song) not in errors and (r := owned(j)) is not None]
        return write_dataset(records, out, errors, executor, rows_per_shard, prices)
