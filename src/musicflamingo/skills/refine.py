"""Refine mode: improve existing data with the measured facts.

`refine_caption` rewrites a caption so its tempo, key, meter, chords and lyrics agree with
the facts (the result must pass the same checks as stage 4, else the model is asked again);
`add_distractors` gives an existing multiple-choice question 3-8 extra hard wrong options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from musicflamingo.facts.schema import SongFacts
from musicflamingo.llm.base import TextLLM, Usage
from musicflamingo.llm.embedders import Embedder
from musicflamingo.skills.ask import ask_json
from musicflamingo.skills.checks import normalise
from musicflamingo.skills.factsheet import facts_json
from musicflamingo.skills.filter import FLAG_ONLY, FilterConfig, caption_findings
from musicflamingo.skills.prompting import load_prompt
from musicflamingo.skills.records import QAItem, SkillsCaption, SongRecord
from musicflamingo.skills.stages import CAPTION_SCHEMA, CaptionReply

MIN_NEW, MAX_NEW = 3, 8


@dataclass
class Refined:
    caption: SkillsCaption
    usage: Usage
    model: str
    prompt: str


def refine_caption(
    caption: str,
    facts: SongFacts,
    llm: TextLLM,
    *,
    attempts: int = 3,
    max_tokens: int = 1500,
    config: FilterConfig | None = None,
) -> Refined:
    """The caption rewritten with the facts; raises `WriteFailed` when no attempt passes."""
    config = config or FilterConfig()
    prompt = load_prompt("refine")

    def accept(data: Any) -> SkillsCaption:
        new = SkillsCaption(aspects=CaptionReply.model_validate(data).aspects.model_dump())
        probe = SongRecord(id="refine", path="", duration=facts.duration, facts=facts, caption=new)
        bad = [f for f in caption_findings(probe, config) if f[0] not in FLAG_ONLY]
        if bad:
            raise ValueError("; ".join(f"{r}: {d}" for r, d in bad))
        return new

    new, usage = ask_json(
        llm,
        prompt.messages(caption=caption, facts=facts_json(facts)),
        accept,
        schema=CAPTION_SCHEMA,
        attempts=attempts,
        max_tokens=max_tokens,
    )
    return Refined(new, usage, llm.model_id, prompt.id)


class DistractorReply(BaseModel):
    distractors: list[str]


def add_distractors(
    item: QAItem,
    facts: SongFacts,
    llm: TextLLM,
    *,
    count: int = 5,
    embedder: Embedder | None = None,
    max_similarity: float = 0.9,
    attempts: int = 3,
) -> tuple[QAItem, Usage]:
    """``item`` with ``count`` (3-8) new wrong options among its options. A distractor must
    differ from every option and, with an ``embedder``, not paraphrase the answer."""
    if item.type != "mcq":
        raise ValueError(f"only multiple-choice items take distractors, not {item.type!r}")
    if not MIN_NEW <= count <= MAX_NEW:
        raise ValueError(f"count must be {MIN_NEW}-{MAX_NEW}")
    prompt = load_prompt("distractors")
    taken = {normalise(o) for o in [*item.options, item.answer]}

    def accept(data: Any) -> list[str]:
        fresh: list[str] = []
        for d in DistractorReply.model_validate(data).distractors:
            if d.strip() and normalise(d) not in taken | {normalise(x) for x in fresh}:
                fresh.append(d.strip())
        if embedder is not None and fresh:
            v = np.asarray(embedder.encode([item.answer, *fresh]), dtype=np.float64)
            v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
            fresh = [d for d, s in zip(fresh, v[1:] @ v[0], strict=True) if s < max_similarity]
        if len(fresh) < MIN_NEW:
            raise ValueError(f"{len(fresh)} usable new distractors; at least {MIN_NEW} needed")
        return fresh[:count]

    shown = item.model_dump(include={"question", "options", "answer"})
    new, usage = ask_json(
        llm,
        prompt.messages(
            item=json.dumps(shown, ensure_ascii=False), facts=facts_json(facts), count=count
        ),
        accept,
        schema={"name": "distractors", "schema": DistractorReply.model_json_schema()},
        attempts=attempts,
        max_tokens=400,
    )
    options = [*item.options, *new]
    shift = sum(map(ord, item.question)) % len(options)  # answer position not predictable
    return item.model_copy(update={"options": options[shift:] + options[:shift]}), usage
