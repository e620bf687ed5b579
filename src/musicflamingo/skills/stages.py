"""The four MF-Skills stages as plain functions of one song.

1. `stage1_segment_captions`: a short caption per 30 s window from an audio-language model.
2. `stage2_facts`: the measured facts (`musicflamingo.facts.extract.analyze`).
3. `stage3_write`: a text LLM writes the long caption and 12-20 QA from facts + captions.
4. `stage4_filter` (in `musicflamingo.skills.filter`): fact checks, dedup, optional judge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from musicflamingo import audio
from musicflamingo.facts.extract import FactsConfig, analyze
from musicflamingo.facts.schema import SongFacts
from musicflamingo.llm.base import TextLLM
from musicflamingo.skills.ask import WriteFailed, ask_json
from musicflamingo.skills.captioner import SegmentCaptioner
from musicflamingo.skills.factsheet import facts_json, segments_text
from musicflamingo.skills.prompting import Prompt, load_prompt
from musicflamingo.skills.records import (
    Aspects,
    Drop,
    QAItem,
    SegmentCaption,
    SkillsCaption,
    Usage,
)

MIN_QA, MAX_QA = 12, 20
MIN_CLIP_SECONDS = 1.0


class CaptionReply(BaseModel):
    aspects: Aspects


class QAReply(BaseModel):
    qa: list[dict[str, Any]] = Field(min_length=1)


CAPTION_SCHEMA = {"name": "skills_caption", "schema": CaptionReply.model_json_schema()}


class QASet(BaseModel):
    """The reply's shape as the schema sent to the LLM states it (QAItem's ``$defs`` at
    the root, where its ``$ref`` pointers look)."""

    qa: list[QAItem] = Field(min_length=MIN_QA, max_length=MAX_QA)


QA_SCHEMA = {"name": "skills_qa", "schema": QASet.model_json_schema()}


@dataclass(frozen=True)
class WriteConfig:
    attempts: int = 3
    caption_max_tokens: int = 1500
    qa_max_tokens: int = 3500
    temperature: float = 0.2
    seed: int = 0
    caption_prompt: str = "v1"
    qa_prompt: str = "v1"
    song_timeout: float | None = 1200.0  # seconds of stage 3 per song, then write_timeout


@dataclass
class Written:
    """Stage-3 output: the caption, the valid QA, the items that failed the schema."""

    caption: SkillsCaption
    qa: list[QAItem]
    drops: list[Drop]
    usage: Usage
    model: str
    prompts: dict[str, str] = field(default_factory=dict)


def stage1_segment_captions(
    audio_path: str | Path, captioner: SegmentCaptioner, prompt: Prompt | None = None
) -> list[SegmentCaption]:
    """One caption per 30 s window (a last window under 1 s is left out)."""
    prompt = prompt or load_prompt("segment")
    song = audio.load(audio_path, audio.MODEL_SR)
    wins, _ = audio.windows(len(song.samples), song.sr)
    wins = [w for w in wins if w.end - w.start >= MIN_CLIP_SECONDS]
    clips = [song.samples[w.start_sample : w.end_sample] for w in wins]
    texts = []
    for w, clip in zip(wins, clips, strict=True):
        msgs = prompt.messages(seconds=f"{w.end - w.start:.0f}")
        texts += captioner.caption([clip], song.sr, f"{msgs[0]['content']}\n\n{msgs[1]['content']}")
    return [
        SegmentCaption(index=w.index, start=round(w.start, 3), end=round(w.end, 3), text=t)
        for w, t in zip(wins, texts, strict=True)
    ]


def stage2_facts(audio_path: str | Path, config: FactsConfig | None = None) -> SongFacts:
    return analyze(audio_path, config or FactsConfig())


def _accept_caption(data: Any) -> SkillsCaption:
    return SkillsCaption(aspects=CaptionReply.model_validate(data).aspects.model_dump())


def _accept_qa(data: Any) -> tuple[list[QAItem], list[Drop]]:
    items, drops = [], []
    for i, raw in enumerate(QAReply.model_validate(data).qa):
        try:
            items.append(QAItem.model_validate(raw))
        except ValidationError as e:
            err = e.errors()[0]
            detail = f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
            drops.append(
                Drop(item=f"reply{i}", reason="schema_invalid", detail=detail, payload=raw)
            )
    if len(items) < MIN_QA:
        raise ValueError(f"{len(items)} valid QA items; {MIN_QA}-{MAX_QA} are needed")
    drops += [
        Drop(
            item=f"qa{i}",
            reason="qa_over_limit",
            detail=f"more than {MAX_QA} items",
            payload=q.model_dump(),
        )
        for i, q in enumerate(items[MAX_QA:], start=MAX_QA)
    ]
    return items[:MAX_QA], drops


def stage3_write(
    facts: SongFacts,
    segment_captions: list[SegmentCaption],
    llm: TextLLM,
    config: WriteConfig = WriteConfig(),
) -> Written:
    """Long caption (six aspects) and 12-20 QA as validated JSON; raises `WriteFailed`
    (``write_timeout`` when ``config.song_timeout`` runs out)."""
    cap_prompt = load_prompt("caption", config.caption_prompt)
    qa_prompt = load_prompt("qa", config.qa_prompt)
    values = {"facts": facts_json(facts), "segments": segments_text(segment_captions)}
    timeout = config.song_timeout
    common: dict[str, Any] = {
        "attempts": config.attempts,
        "temperature": config.temperature,
        "seed": config.seed,
        "deadline": None if timeout is None else time.monotonic() + timeout,
        "label": Path(facts.source.path).name,
    }
    caption, u1 = ask_json(
        llm,
        cap_prompt.messages(**values),
        _accept_caption,
        schema=CAPTION_SCHEMA,
        max_tokens=config.caption_max_tokens,
        **common,
    )
    try:
        (qa, drops), u2 = ask_json(
            llm,
            qa_prompt.messages(**values),
            _accept_qa,
            schema=QA_SCHEMA,
            max_tokens=config.qa_max_tokens,
            **common,
        )
    except WriteFailed as e:
        raise WriteFailed(e.reason, u1 + e.usage, e.code) from None
    return Written(
        caption=caption,
        qa=qa,
        drops=drops,
        usage=u1 + u2,
        model=llm.model_id,
        prompts={"caption": cap_prompt.id, "qa": qa_prompt.id},
    )
