"""Stage 4: keep only what agrees with the measured facts.

Deterministic checks first (`musicflamingo.skills.checks`), each drop with its reason code;
then near-duplicate QA by sentence-embedding similarity (all-MiniLM-L6-v2, bundled); then,
optionally, an LLM judge with the versioned ``judge`` prompt. A stated tempo at half or
double the measured one is kept and flagged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from musicflamingo.llm.base import TextLLM
from musicflamingo.llm.embedders import Embedder, load_embedder
from musicflamingo.skills.ask import WriteFailed, ask_json
from musicflamingo.skills.checks import Finding, check_qa, check_text
from musicflamingo.skills.factsheet import facts_json, segments_text
from musicflamingo.skills.prompting import load_prompt
from musicflamingo.skills.records import ASPECTS, Drop, QAItem, SongRecord, Usage

FLAG_ONLY = {"tempo_half_double"}


@dataclass(frozen=True)
class FilterConfig:
    min_words: int = 200
    max_words: int = 900
    dedup_threshold: float | None = 0.93  # cosine of question+answer; None: no dedup
    judge_prompt: str = "v1"
    judge_attempts: int = 2
    judge_max_tokens: int = 1500


@cache
def default_embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2, loaded once per process."""
    return load_embedder()


def caption_findings(record: SongRecord, config: FilterConfig = FilterConfig()) -> list[Finding]:
    caption, facts = record.caption, record.facts
    if caption is None or facts is None:
        raise ValueError(f"{record.id}: no caption or no facts to check it against")
    missing = [a for a in ASPECTS if not caption.aspects.get(a, "").strip()]
    out: list[Finding] = []
    if missing:
        out.append(("caption_missing_aspect", f"no {', '.join(missing)}"))
    if not config.min_words <= caption.words <= config.max_words:
        out.append(
            ("caption_length", f"{caption.words} words; {config.min_words}-{config.max_words}")
        )
    return out + check_text(caption.text, facts)


def _split(item: str, findings: list[Finding], payload: Any) -> tuple[list[Drop], list[Drop]]:
    drops = [Drop(item=item, reason=r, detail=d, payload=payload) for r, d in findings]
    return [d for d in drops if d.reason not in FLAG_ONLY], [
        d for d in drops if d.reason in FLAG_ONLY
    ]


def near_duplicates(
    items: list[tuple[str, QAItem]], embedder: Embedder, threshold: float
) -> list[Drop]:
    """Later items whose question+answer embedding is within ``threshold`` of a kept one."""
    if len(items) < 2:
        return []
    vectors = np.asarray(embedder.encode([f"{q.question} {q.answer}" for _, q in items]))
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    kept: list[int] = []
    drops = []
    for i, (name, item) in enumerate(items):
        sims = [(float(vectors[i] @ vectors[j]), j) for j in kept]
        best = max(sims, default=(0.0, -1))
        if best[0] >= threshold:
            detail = f"like {items[best[1]][0]} (cosine {best[0]:.3f})"
            drops.append(
                Drop(item=name, reason="near_duplicate", detail=detail, payload=item.model_dump())
            )
        else:
            kept.append(i)
    return drops


class Verdict(BaseModel):
    id: str
    keep: bool
    reason: str = ""


class JudgeReply(BaseModel):
    verdicts: list[Verdict] = Field(min_length=1)


def judge(
    record: SongRecord, items: list[tuple[str, QAItem]], llm: TextLLM, config: FilterConfig
) -> tuple[list[Drop], Usage, str]:
    """The LLM judge's drops for the caption and ``items``, its tokens and prompt id."""
    if record.facts is None:
        raise ValueError(f"{record.id}: no facts to judge against")
    prompt = load_prompt("judge", config.judge_prompt)
    listed = [{"id": "caption", "text": record.caption.text}] if record.caption else []
    listed += [{"id": name, **q.model_dump(exclude={"references"})} for name, q in items]
    reply, usage = ask_json(
        llm,
        prompt.messages(
            facts=facts_json(record.facts),
            segments=segments_text(record.segment_captions),
            items=json.dumps(listed, ensure_ascii=False),
        ),
        JudgeReply.model_validate,
        schema={"name": "skills_judge", "schema": JudgeReply.model_json_schema()},
        attempts=config.judge_attempts,
        max_tokens=config.judge_max_tokens,
    )
    payloads: dict[str, Any] = {"caption": record.caption.text if record.caption else None}
    payloads |= {name: q.model_dump() for name, q in items}
    drops = [
        Drop(item=v.id, reason="judge_rejected", detail=v.reason, payload=payloads[v.id])
        for v in reply.verdicts
        if not v.keep and v.id in payloads
    ]
    return drops, usage, prompt.id


def stage4_filter(
    record: SongRecord,
    config: FilterConfig = FilterConfig(),
    embedder: Embedder | None = None,
    judge_llm: TextLLM | None = None,
) -> SongRecord:
    """A copy of ``record`` without the caption/QA that fail a check, every drop recorded.
    QA items are named by their position in the stage-3 output ("qa0", "qa1", ...)."""
    if record.status != "ok" or record.facts is None:
        return record
    drops, flags = list(record.drops), list(record.flags)
    caption = record.caption
    if caption is not None:
        d, f = _split("caption", caption_findings(record, config), caption.text)
        drops, flags = drops + d, flags + f
        caption = None if d else caption
    kept: list[tuple[str, QAItem]] = []
    for i, q in enumerate(record.qa):
        d, f = _split(f"qa{i}", check_qa(q, record.facts), q.model_dump())
        drops, flags = drops + d, flags + f
        if not d:
            kept.append((f"qa{i}", q))
    if config.dedup_threshold is not None:
        dups = near_duplicates(kept, embedder or default_embedder(), config.dedup_threshold)
        drops += dups
        kept = [(n, q) for n, q in kept if n not in {d.item for d in dups}]
    provenance = record.provenance.model_copy(deep=True)
    if judge_llm is not None:
        staged = record.model_copy(update={"caption": caption})
        try:
            rejected, usage, prompt_id = judge(staged, kept, judge_llm, config)
        except WriteFailed as e:
            rejected, usage, prompt_id = [], e.usage, load_prompt("judge", config.judge_prompt).id
            provenance.judge_failure = e.reason
        drops += rejected
        gone = {d.item for d in rejected}
        caption = None if "caption" in gone else caption
        kept = [(n, q) for n, q in kept if n not in gone]
        provenance.judge = judge_llm.model_id
        provenance.prompts["judge"] = prompt_id
        provenance.usage = provenance.usage + usage
    return record.model_copy(
        update={
            "caption": caption,
            "qa": [q for _, q in kept],
            "drops": drops,
            "flags": flags,
            "provenance": provenance,
        }
    )
