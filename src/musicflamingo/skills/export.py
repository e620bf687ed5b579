"""Dataset rows in the Audio Flamingo conversation layout, as JSON and Parquet shards.

A row: ``{"id", "sound", "duration", "conversations": [{"from": "human", "value":
"<sound>\\n..."}, {"from": "gpt", "value": ...}], "meta": {...}}``; ``meta`` says which song,
task, QA type/skill, model and prompt made it. The Parquet shards load with
``datasets.load_dataset("parquet", data_files=...)``. The requests are the runtime's own
(`musicflamingo.model.prompts`), so training and inference prompts cannot drift apart.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from musicflamingo.model.prompts import CAPTION, LETTERS, request_text
from musicflamingo.skills.records import QAItem, SongRecord
from musicflamingo.util import atomic_write


def _turns(human: str, gpt: str) -> list[dict[str, str]]:
    return [{"from": "human", "value": f"<sound>\n{human}"}, {"from": "gpt", "value": gpt}]


def qa_turns(q: QAItem) -> list[dict[str, str]]:
    """The question (with lettered options for MCQ) and the answer."""
    if q.type != "mcq":
        return _turns(q.question, q.answer)
    letter = LETTERS[next(i for i, o in enumerate(q.options) if o.strip() == q.answer.strip())]
    return _turns(request_text("choose", q.question, q.options), f"({letter}) {q.answer}")


def rows(record: SongRecord) -> list[dict[str, Any]]:
    """The conversation rows of one finished song: its caption, then each kept QA item."""
    if record.status != "ok":
        return []
    p = record.provenance
    base = {"sound": record.path, "duration": record.duration}
    meta = {"song_id": record.id, "llm": p.llm, "qa_type": None, "skill": None}
    out = []
    if record.caption is not None:
        out.append(
            {
                "id": f"{record.id}/caption",
                **base,
                "conversations": _turns(CAPTION, record.caption.text),
                "meta": {**meta, "task": "caption", "prompt": p.prompts.get("caption")},
            }
        )
    for i, q in enumerate(record.qa):
        out.append(
            {
                "id": f"{record.id}/qa{i:02d}",
                **base,
                "conversations": qa_turns(q),
                "meta": {
                    **meta,
                    "task": "qa",
                    "qa_type": q.type,
                    "skill": q.skill,
                    "prompt": p.prompts.get("qa"),
                },
            }
        )
    return out


def write_json(all_rows: list[dict[str, Any]], path: Path) -> Path:
    return atomic_write(path, json.dumps(all_rows, ensure_ascii=False, indent=1))


def write_shards(all_rows: list[dict[str, Any]], folder: Path, rows_per_shard: int) -> list[Path]:
    """``train-0000i-of-0000n.parquet`` shards, none without rows; each is written
    atomically, then shards of an earlier build that are not among them are removed."""
    chunks = [all_rows[i : i + rows_per_shard] for i in range(0, len(all_rows), rows_per_shard)]
    paths = []
    for i, chunk in enumerate(chunks or [[]]):
        path = folder / f"train-{i:05d}-of-{max(len(chunks), 1):05d}.parquet"
        table = (
            pa.Table.from_pylist(chunk) if chunk else pa.table({"id": pa.array([], pa.string())})
        )
        paths.append(atomic_write(path, partial(pq.write_table, table)))
    for old in set(folder.glob("*.parquet")) - set(paths):
        old.unlink()
    return paths
