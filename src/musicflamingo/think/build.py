"""Run the MF-Think engine over an MF-Skills output: `build(skills_out, out_dir, ...)`.

One job per finished MF-Skills song: stage 1 chooses its hard items, then each item goes
through stages 2-4 (`musicflamingo.think.stages.process`) and is written as
``items/<song id>/<item>.json`` (atomic rename); the song's ``songs/<song id>.json``
(the items chosen, why) is written last. A killed build restarts where it stopped: a song
with its file is done, and an item with its file is not redone, so nothing is lost or
duplicated. At the end the item files are assembled into the three sets
(`musicflamingo.think.export`) and ``manifest.json``. The output folder is locked for the
whole build (`musicflamingo.skills.build.locked`).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from musicflamingo.llm.base import TextLLM, Usage
from musicflamingo.runner import run_jobs
from musicflamingo.skills.build import locked
from musicflamingo.think import export
from musicflamingo.think.audio import AudioModel
from musicflamingo.think.jobs import collect, is_done, plan, run_song
from musicflamingo.think.records import RECORD_VERSION, ThinkRecord
from musicflamingo.think.select import SelectConfig
from musicflamingo.think.stages import Engine, ThinkConfig
from musicflamingo.util import atomic_write

MANIFEST_FILE = "manifest.json"


def manifest(
    records: list[ThinkRecord],
    picks: dict[str, int],
    songs: int,
    errors: dict[str, str],
    files: dict,
    executor: str,
    prices: tuple[float, float] | None,
) -> dict:
    usage = sum((r.provenance.usage for r in records), Usage())
    cost = usage.cost(prices)
    steps = Counter(s.verdict for r in records for s in r.steps)
    return {
        "record_version": RECORD_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "executor": executor,
        "songs": {"total": songs, "errors": len(errors)},
        "items": {
            "chosen": sum(picks.values()),
            "ok": sum(r.status == "ok" for r in records),
            "dropped": sum(r.status == "dropped" for r in records),
            "failed": sum(r.status == "failed" for r in records),
            "qa": sum(r.item.task == "qa" for r in records),
            "caption": sum(r.item.task == "caption" for r in records),
        },
        "picks": picks,
        "steps": dict(steps.most_common()),
        "step_reasons": dict(
            Counter(x for r in records for s in r.steps for x in s.reasons).most_common()
        ),
        "notes": dict(Counter(n.reason for r in records for n in r.notes).most_common()),
        "sets": files,
        "usage": usage.model_dump(),
        "tokens_per_item": {
            "prompt": round(usage.prompt_tokens / max(len(records), 1), 1),
            "completion": round(usage.completion_tokens / max(len(records), 1), 1),
        },
        "cost_usd": cost,
        "prices_usd_per_million_tokens": list(prices) if prices else None,
        "models": {
            "llm": sorted({r.provenance.llm for r in records if r.provenance.llm}),
            "audio": sorted(
                {r.provenance.audio_model for r in records if r.provenance.audio_model}
            ),
        },
        "prompts": sorted({f"{k}={v}" for r in records for k, v in r.provenance.prompts.items()}),
        "failures": [
            {"item": r.item.id, "reason": r.notes[0].detail if r.notes else ""}
            for r in records
            if r.status == "failed"
        ]
        + [{"song": s, "reason": why} for s, why in errors.items()],
    }


def build(
    skills_out: str | Path,
    out_dir: str | Path,
    *,
    llm: TextLLM | None = None,
    audio: AudioModel | None = None,
    executor: str = "local",
    workers: int = 1,
    config: ThinkConfig | None = None,
    select_config: SelectConfig | None = None,
    rows_per_shard: int = 5000,
    prices: tuple[float, float] | None = None,
    retry_failed: bool = False,
    ray_address: str | None = None,
) -> dict:
    """Build the three sets from an MF-Skills output; returns the manifest. ``llm``
    defaults to the embedded model; ``audio`` (optional) chooses the items it answers
    wrong and says Yes/No to every step. Raises `BuildLocked` when another build writes
    into ``out_dir`` and `ValueError` for a folder that is not an MF-Skills output."""
    if executor not in ("local", "ray"):
        raise ValueError(f"unknown executor {executor!r}; available: local, ray")
    skills, out = Path(skills_out), Path(out_dir)
    jobs = plan(skills, out)
    with locked(out):
        if llm is None:
            from musicflamingo.llm.embedded import EmbeddedLLM

            llm = EmbeddedLLM()
        llm.model_id  # noqa: B018 - an endpoint without a model name is asked now: dead is one error
        engine = Engine(llm=llm, audio=audio, config=config or ThinkConfig())
        run = partial(
            run_song,
            engine=engine,
            select_config=select_config or SelectConfig(),
            retry_failed=retry_failed,
        )
        done = partial(is_done, retry_failed=retry_failed)
        if executor == "ray":
            from musicflamingo.think.ray_executor import run_ray

            errors = run_ray([j for j in jobs if not done(j)], run, ray_address, workers)
        else:
            summary = run_jobs(jobs, run, done, workers=workers, label="think")
            errors = {str(job): why for job, why in summary.failed}
        if jobs and len(errors) == len(jobs):
            first = next(iter(errors.values()))
            raise ValueError(f"all {len(jobs)} songs failed; the first: {first}")
        records, picks = collect(jobs)
        files = export.write_sets(records, out, rows_per_shard)
        data = manifest(records, picks, len(jobs), errors, files, executor, prices)
        atomic_write(out / MANIFEST_FILE, json.dumps(data, indent=2))
        return data
