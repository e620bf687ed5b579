"""The Ray executor: the same stage functions as the local one, as a Ray Data pipeline.

Stages 1+2 (audio model + MIR facts) are a CPU stage with one CPU per song; stages 3+4
(text LLM writing + filter) are an endpoint-bound stage scheduled separately with a
fraction of a CPU per task, so many requests to a vLLM/OpenAI endpoint are in flight while
the CPUs measure. Each song is still saved as its own file, so resumption is the same.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from musicflamingo.runner import failure_reason
from musicflamingo.skills.records import SongRecord
from musicflamingo.skills.song import Engine, SongJob, measure, save, write


def _measure_row(row: dict[str, Any], engine: Engine) -> dict[str, Any]:
    try:
        record = measure(Path(row["song"]), row["song_id"], engine)
    except Exception as e:  # noqa: BLE001 - recorded per song, the run goes on
        return {**row, "record": "", "error": failure_reason(e)}
    return {**row, "record": record.model_dump_json(), "error": ""}


def _write_row(row: dict[str, Any], engine: Engine) -> dict[str, Any]:
    if row["error"]:
        return {"song": row["song"], "status": "", "error": row["error"]}
    try:
        record = write(SongRecord.model_validate_json(row["record"]), engine)
        save(record, Path(row["out_file"]))
    except Exception as e:  # noqa: BLE001
        return {"song": row["song"], "status": "", "error": failure_reason(e)}
    return {"song": row["song"], "status": record.status, "error": ""}


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at ``address``, or start a local one with ``num_cpus``
    (no dashboard, workers' logs kept off the terminal); a no-op when already joined."""
    import ray

    if not ray.is_initialized():
        ray.init(
            address=address,
            num_cpus=num_cpus if address is None else None,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
            runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false"}},
        )


def run_ray(
    jobs: list[SongJob],
    engine: Engine,
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    write_cpus: float = 0.25,
) -> dict[str, str]:
    """Run ``jobs`` on a Ray cluster (``address``; a local one when None).
    Returns song path -> error for the songs that failed."""
    import ray

    connect(address, num_cpus)
    if not jobs:
        return {}
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = True
    items = [{"song": str(j.song), "song_id": j.song_id, "out_file": str(j.out_file)} for j in jobs]
    threads = max(1, int(engine.facts.threads))
    ds = (
        ray.data.from_items(items, override_num_blocks=len(items))
        .map(partial(_measure_row, engine=engine), num_cpus=threads)
        .map(partial(_write_row, engine=engine), num_cpus=write_cpus)
    )
    rows = ds.take_all()
    return {r["song"]: r["error"] for r in rows if r["error"]}
