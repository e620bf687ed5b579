"""The three MF-Think sets as Audio Flamingo conversation rows (JSON and Parquet shards):

- ``cot_sft``: the question (lettered options for an MCQ) with the paper's think
  instruction appended; target ``<think>trace</think><answer>answer</answer>`` (verified
  traces only);
- ``grpo_qa``: the same question, the ground-truth ``answer`` and its normalised form
  (`musicflamingo.bench.normalize.normalise_text`) for the format and accuracy rewards;
- ``grpo_caption``: the caption request and the 11-key ``metadata`` record for the
  structured-thinking reward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from musicflamingo.bench.normalize import normalise_text
from musicflamingo.model.prompts import LETTERS, request_text, user_text
from musicflamingo.skills.export import write_json, write_shards
from musicflamingo.think.records import ThinkItem, ThinkRecord
from musicflamingo.think.stages import METADATA_KEYS

SETS = ("cot_sft", "grpo_qa", "grpo_caption")
DATA_DIR = "data"
GRPO_TYPES = ("mcq", "count", "time", "chord")  # answers a reward can check exactly
MAX_OPEN_ANSWER_WORDS = 4  # a short open answer is checkable too


def question(item: ThinkItem) -> str:
    """The human turn's text: the question with lettered options, then the think
    instruction (`musicflamingo.model.prompts.THINK`)."""
    text = request_text("choose", item.question, item.options) if item.options else item.question
    return f"<sound>\n{user_text(text, think=True)}"


def target_answer(item: ThinkItem) -> str:
    """The answer as the model should write it ("(B) D major" for an MCQ)."""
    if item.options and item.answer in item.options:
        return f"({LETTERS[item.options.index(item.answer)]}) {item.answer}"
    return item.answer


def _base(r: ThinkRecord) -> dict[str, Any]:
    i = r.item
    return {"id": i.id, "sound": i.path, "duration": i.duration}


def _meta(r: ThinkRecord) -> dict[str, Any]:
    i = r.item
    return {
        "song_id": i.song_id,
        "task": i.task,
        "qa_type": i.qa_type,
        "skill": i.skill,
        "pick": i.pick.reason,
        "llm": r.provenance.llm,
        "prompt": r.provenance.prompts.get("trace"),
    }


def cot_row(r: ThinkRecord) -> dict[str, Any]:
    trace = " ".join(r.trace)
    target = f"<think>{trace}</think><answer>{target_answer(r.item)}</answer>"
    return {
        **_base(r),
        "conversations": [
            {"from": "human", "value": question(r.item)},
            {"from": "gpt", "value": target},
        ],
        "meta": {**_meta(r), "rewritten": any(n.reason == "rewritten" for n in r.notes)},
    }


def grpo_qa_row(r: ThinkRecord) -> dict[str, Any]:
    i = r.item
    return {
        **_base(r),
        "conversations": [{"from": "human", "value": question(i)}],
        "answer": target_answer(i),
        "answer_normalised": normalise_text(i.answer, numbers=True),
        "options": i.options,
        "meta": _meta(r),
    }


def grpo_caption_row(r: ThinkRecord) -> dict[str, Any]:
    assert r.metadata is not None
    return {
        **_base(r),
        "conversations": [{"from": "human", "value": question(r.item)}],
        "metadata": {k: r.metadata.get(k, "") for k in METADATA_KEYS},
        "meta": _meta(r),
    }


def gradable(item: ThinkItem) -> bool:
    """A QA item whose answer a reward can check by normalised equality."""
    return item.qa_type in GRPO_TYPES or len(item.answer.split()) <= MAX_OPEN_ANSWER_WORDS


def rows(records: list[ThinkRecord]) -> dict[str, list[dict[str, Any]]]:
    """The rows of each set: verified traces for ``cot_sft``; every chosen, gradable QA item
    for ``grpo_qa`` (a prompt needs no trace); every caption with a metadata record."""
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SETS}
    for r in sorted(records, key=lambda r: r.item.id):
        if r.status == "ok":
            out["cot_sft"].append(cot_row(r))
        if r.item.task == "qa" and gradable(r.item):
            out["grpo_qa"].append(grpo_qa_row(r))
        if r.item.task == "caption" and r.metadata is not None:
            out["grpo_caption"].append(grpo_caption_row(r))
    return out


def write_sets(
    records: list[ThinkRecord], out: Path, rows_per_shard: int
) -> dict[str, dict[str, Any]]:
    """``<set>/<set>.json`` and ``<set>/data/*.parquet`` for each set; returns per set
    its row count and files (relative to ``out``)."""
    files = {}
    for name, set_rows in rows(records).items():
        folder = out / name
        write_json(set_rows, folder / f"{name}.json")
        shards = write_shards(set_rows, folder / DATA_DIR, rows_per_shard)
        files[name] = {
            "rows": len(set_rows),
            "json": f"{name}/{name}.json",
            "parquet": [str(p.relative_to(out)) for p in shards],
        }
    return files
