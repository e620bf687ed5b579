"""Assemble the finished songs into the dataset files and ``manifest.json``."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from musicflamingo.skills import export
from musicflamingo.skills.records import RECORD_VERSION, SongRecord, Usage
from musicflamingo.util import atomic_write

JSON_FILE = "skills.json"
DATA_DIR = "data"
MANIFEST_FILE = "manifest.json"


def _usage_by_model(records: list[SongRecord]) -> dict[str, dict[str, int]]:
    totals: dict[str, Usage] = {}
    for r in records:
        name = r.provenance.llm or "unknown"
        totals[name] = totals.get(name, Usage()) + r.provenance.usage
    return {k: v.model_dump() for k, v in sorted(totals.items())}


def manifest(
    records: list[SongRecord],
    errors: dict[str, str],
    executor: str,
    shards: list[Path],
    n_rows: int,
    prices: tuple[float, float] | None,
) -> dict:
    ok = [r for r in records if r.status == "ok"]
    usage = sum((r.provenance.usage for r in records), Usage())
    cost = usage.cost(prices)
    prompts = sorted({f"{k}={v}" for r in records for k, v in r.provenance.prompts.items()})
    return {
        "record_version": RECORD_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "executor": executor,
        "songs": {
            "total": len(records) + len(errors),
            "ok": len(ok),
            "failed": len(records) - len(ok),
            "errors": len(errors),
        },
        "rows": {
            "total": n_rows,
            "caption": sum(r.caption is not None for r in ok),
            "qa": sum(len(r.qa) for r in ok),
        },
        "qa_types": dict(Counter(q.type for r in ok for q in r.qa).most_common()),
        "qa_skills": dict(Counter(q.skill for r in ok for q in r.qa).most_common()),
        "drops": dict(Counter(d.reason for r in records for d in r.drops).most_common()),
        "flags": dict(Counter(d.reason for r in records for d in r.flags).most_common()),
        "usage": {"total": usage.model_dump(), "by_model": _usage_by_model(records)},
        "cost_usd": cost,
        "prices_usd_per_million_tokens": list(prices) if prices else None,
        "models": {
            "llm": sorted({r.provenance.llm for r in records if r.provenance.llm}),
            "captioner": sorted(
                {r.provenance.captioner for r in records if r.provenance.captioner}
            ),
            "judge": sorted({r.provenance.judge for r in records if r.provenance.judge}),
        },
        "prompts": prompts,
        "failures": [{"song": r.path, "reason": r.failure} for r in records if r.failure]
        + [{"song": s, "reason": why} for s, why in errors.items()],
        "files": {"json": JSON_FILE, "parquet": [str(p.relative_to(p.parents[1])) for p in shards]},
    }


def write_dataset(
    records: list[SongRecord],
    out: Path,
    errors: dict[str, str],
    executor: str,
    rows_per_shard: int,
    prices: tuple[float, float] | None,
) -> dict:
    """``skills.json``, the Parquet shards and ``manifest.json`` (written last) in ``out``."""
    records = sorted(records, key=lambda r: r.id)
    all_rows = [row for r in records for row in export.rows(r)]
    export.write_json(all_rows, out / JSON_FILE)
    shards = export.write_shards(all_rows, out / DATA_DIR, rows_per_shard)
    data = manifest(records, errors, executor, shards, len(all_rows), prices)
    atomic_write(out / MANIFEST_FILE, json.dumps(data, indent=2))
    return data
