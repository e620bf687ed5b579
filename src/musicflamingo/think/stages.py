"""Stages 2-4 of MF-Think for one chosen item: write the trace, verify every step,
rewrite once or drop, and (captions) extract the 11-key metadata record.

The LLM replies are validated JSON through `musicflamingo.skills.ask.ask_json` (repair,
bounded re-ask, else `WriteFailed`, recorded as the item's failure).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from musicflamingo.bench.normalize import normalise_text
from musicflamingo.facts.schema import SongFacts
from musicflamingo.llm.base import Message, TextLLM, Usage
from musicflamingo.skills.ask import WriteFailed, ask_json
from musicflamingo.skills.factsheet import facts_json, segments_text
from musicflamingo.skills.prompting import Prompt
from musicflamingo.skills.prompting import load_prompt as skills_prompt
from musicflamingo.skills.records import SongRecord
from musicflamingo.think import verify
from musicflamingo.think.audio import AudioModel
from musicflamingo.think.records import (
    Note,
    Provenance,
    StepVerdict,
    ThinkItem,
    ThinkRecord,
    Verdict,
)

MAX_WORDS = 250
MAX_WRONG = 0.30  # a trace with a larger share of wrong steps is dropped
METADATA_KEYS = (
    "Genre",
    "BPM",
    "Key",
    "Meter",
    "Structure",
    "Instruments",
    "Vocal Character",
    "Lyric Themes",
    "Theory",
    "Mix Notes",
    "Dynamics",
)
FORBIDDEN = re.compile(
    r"(?i:\bmeta-?data\b|\bthe facts?\b|\baccording to\b|\b(?:the|an?)\s+analys[ie]s\b"
    r"|\bmeasured\b|\bmeasurements?\b|\bthe data\b|\bthe notes (?:say|give|list)\b)"
)


def load_prompt(name: str, version: str = "v1") -> Prompt:
    """``think/prompts/{name}_{version}.md`` (the MF-Skills prompt format and `Prompt`)."""
    return skills_prompt(name, version, package="musicflamingo.think")


class TraceReply(BaseModel):
    steps: list[str] = Field(min_length=1, max_length=12)
    final_answer: str


TRACE_SCHEMA = {"name": "think_trace", "schema": TraceReply.model_json_schema()}
METADATA_SCHEMA = {
    "name": "think_metadata",
    "schema": {
        "type": "object",
        "properties": {k: {"type": "string"} for k in METADATA_KEYS},
        "required": list(METADATA_KEYS),
    },
}


@dataclass(frozen=True)
class ThinkConfig:
    attempts: int = 3
    max_tokens: int = 900
    temperature: float = 0.2
    seed: int = 0
    max_words: int = MAX_WORDS
    max_wrong: float = MAX_WRONG
    trace_prompt: str = "v1"
    rewrite_prompt: str = "v1"
    metadata_prompt: str = "v1"
    write_timeout: float | None = 600.0  # seconds per LLM exchange, then write_timeout


def _bound(config: ThinkConfig, item: ThinkItem) -> dict[str, Any]:
    """The deadline and progress label of one LLM exchange about ``item``."""
    timeout = config.write_timeout
    return {
        "deadline": None if timeout is None else time.monotonic() + timeout,
        "label": item.id,
    }


@dataclass(frozen=True)
class Engine:
    """What an item's stages need; picklable, so worker processes get a copy."""

    llm: TextLLM
    audio: AudioModel | None = None
    config: ThinkConfig = field(default_factory=ThinkConfig)


def same_answer(said: str, item: ThinkItem) -> bool:
    """The trace's final answer is the item's (normalised text; an MCQ also by letter)."""
    a, t = normalise_text(said, numbers=True), normalise_text(item.answer, numbers=True)
    if a == t:
        return True
    if item.options:
        letter = chr(97 + next((i for i, o in enumerate(item.options) if o == item.answer), 0))
        return a in (letter, f"{letter} {t}")
    return False


def accept_trace(data: Any, item: ThinkItem, max_words: int) -> TraceReply:
    """A trace that keeps the rules, else `ValueError` saying which (sent back to the LLM)."""
    reply = TraceReply.model_validate(data)
    steps = [" ".join(s.split()) for s in reply.steps if s.strip()]
    if not steps:
        raise ValueError("the trace has no steps")
    words = sum(len(s.split()) for s in steps)
    if words > max_words:
        raise ValueError(f"the trace has {words} words; at most {max_words} are allowed")
    for s in steps:
        if m := FORBIDDEN.search(s):
            raise ValueError(
                f'a step says "{m.group(0)}": write as a listener, never about data or analysis'
            )
    if item.task == "qa":
        if not same_answer(reply.final_answer, item):
            raise ValueError(f"final_answer must be exactly {item.answer!r}")
        if normalise_text(item.answer) not in normalise_text(steps[-1]):
            raise ValueError(f"the last step must end in the final answer {item.answer!r}")
    return TraceReply(steps=steps, final_answer=item.answer if item.task == "qa" else "")


def item_json(item: ThinkItem) -> str:
    data: dict[str, Any] = {"task": item.task, "question": item.question}
    if item.options:
        data["options"] = item.options
    data["caption" if item.task == "caption" else "answer"] = item.answer
    return json.dumps(data, ensure_ascii=False)


def trace_messages(item: ThinkItem, song: SongRecord, config: ThinkConfig) -> list[Message]:
    assert song.facts is not None
    ending = (
        f'The last step must end in the final answer, and "final_answer" must be exactly '
        f"{json.dumps(item.answer, ensure_ascii=False)}."
        if item.task == "qa"
        else 'Listen toward the description; set "final_answer" to "".'
    )
    return load_prompt("trace", config.trace_prompt).messages(
        facts=facts_json(song.facts),
        segments=segments_text(song.segment_captions),
        item=item_json(item),
        max_words=config.max_words,
        ending=ending,
    )


def write_trace(
    item: ThinkItem, song: SongRecord, llm: TextLLM, config: ThinkConfig
) -> tuple[list[Message], TraceReply, Usage]:
    """Stage 2: the trace as validated JSON (raises `WriteFailed`)."""
    messages = trace_messages(item, song, config)
    reply, usage = ask_json(
        llm,
        messages,
        lambda d: accept_trace(d, item, config.max_words),
        schema=TRACE_SCHEMA,
        attempts=config.attempts,
        max_tokens=config.max_tokens,
        temperature=config.temperature,
        seed=config.seed,
        **_bound(config, item),
    )
    return messages, reply, usage


def heard_instruments(song: SongRecord) -> list[str] | None:
    """Instruments the audio model named in the segment captions (``None``: no captions,
    so instrument claims stay unverifiable)."""
    if not song.segment_captions:
        return None
    text = " ".join(c.text for c in song.segment_captions)
    return verify.instrument_words(text)


def verify_traces(
    traces: list[list[str]], song: SongRecord, audio: AudioModel | None
) -> list[list[StepVerdict]]:
    """Stage 3 for traces of one song: the deterministic verdict of every step, then the
    audio model's yes/no on all their steps in one batch (one audio prefill per song on
    our runtime); a step is wrong when either says so."""
    assert song.facts is not None
    instruments = heard_instruments(song)
    flat = [s for t in traces for s in t]
    heard = audio.judge(song.path, flat) if audio is not None and flat else [None] * len(flat)
    verdicts = []
    for step, yes in zip(flat, heard, strict=True):
        c = verify.check_step(step, song.facts, instruments)
        reasons = c.reasons + (["audio_says_no"] if yes is False else [])
        verdict: Verdict = (
            "wrong" if reasons else "ok" if c.verdict == "ok" or yes else "unverifiable"
        )
        details = [x.detail for x in c.claims if x.verdict == "wrong" and x.detail]
        verdicts.append(
            StepVerdict(
                text=c.step,
                verdict=verdict,
                facts=c.verdict,
                audio=yes,
                reasons=reasons,
                details=details,
            )
        )
    out, at = [], 0
    for t in traces:
        out.append(verdicts[at : at + len(t)])
        at += len(t)
    return out


def verify_steps(steps: list[str], song: SongRecord, audio: AudioModel | None) -> list[StepVerdict]:
    """`verify_traces` of one trace."""
    return verify_traces([steps], song, audio)[0]


def _wrong_list(verdicts: list[StepVerdict]) -> str:
    return "\n".join(
        f"- step {i + 1}: {v.text!r} ({'; '.join(v.details) or ', '.join(v.reasons)})"
        for i, v in enumerate(verdicts)
        if v.verdict == "wrong"
    )


def rewrite_trace(
    item: ThinkItem,
    messages: list[Message],
    draft: TraceReply,
    verdicts: list[StepVerdict],
    llm: TextLLM,
    config: ThinkConfig,
) -> tuple[TraceReply, Usage]:
    """The one rewrite: the draft goes back with its wrong steps named (raises `WriteFailed`)."""
    ask = load_prompt("rewrite", config.rewrite_prompt).messages(
        wrong=_wrong_list(verdicts), max_words=config.max_words
    )
    convo = [
        *messages,
        {"role": "assistant", "content": draft.model_dump_json()},
        ask[1],
    ]
    return ask_json(
        llm,
        convo,
        lambda d: accept_trace(d, item, config.max_words),
        schema={**TRACE_SCHEMA, "name": "think_rewrite"},
        attempts=config.attempts,
        max_tokens=config.max_tokens,
        temperature=config.temperature,
        seed=config.seed + 100,
        **_bound(config, item),
    )


def _accept_metadata(data: Any) -> dict[str, str]:
    if not isinstance(data, dict):
        raise ValueError("expected one JSON object")
    missing = [k for k in METADATA_KEYS if k not in data]
    if missing:
        raise ValueError(f"missing keys: {', '.join(missing)}")
    return {k: " ".join(str(data[k] or "").split()) for k in METADATA_KEYS}


def _claim_text(key: str, value: str) -> str:
    if key == "BPM" and re.fullmatch(r"~?\s*\d{2,3}(?:\.\d+)?", value):
        return f"{value.lstrip('~ ')} BPM"
    if key == "Key":
        return f"key of {value}"
    return value


def _measured(key: str, facts: SongFacts) -> str | None:
    if key == "BPM" and facts.tempo:
        return f"{facts.tempo.bpm:.0f}"
    if key == "Key" and facts.key:
        return facts.key.label
    if key == "Meter" and facts.meter:
        return facts.meter.label
    return None


def check_metadata(values: dict[str, str], song: SongRecord) -> tuple[dict[str, str], list[Note]]:
    """Cross-check each value with the facts (`verify.check_step`): a contradicted BPM,
    key or meter is replaced by the measured one, any other contradicted value is left
    out (""); each change is a note with its reason."""
    assert song.facts is not None
    instruments = heard_instruments(song)
    out, notes = {}, []
    for key in METADATA_KEYS:
        value = values.get(key, "")
        check = (
            verify.check_step(_claim_text(key, value), song.facts, instruments) if value else None
        )
        if check is None or check.verdict != "wrong":
            out[key] = value
            continue
        why = "; ".join(c.detail or c.reason for c in check.claims if c.verdict == "wrong")
        if (measured := _measured(key, song.facts)) is not None:
            out[key] = measured
            notes.append(
                Note(
                    reason="metadata_corrected", detail=f"{key}: {value!r} -> {measured!r} ({why})"
                )
            )
        else:
            out[key] = ""
            notes.append(Note(reason="metadata_removed", detail=f"{key}: {value!r} ({why})"))
    return out, notes


def extract_metadata(
    item: ThinkItem, song: SongRecord, llm: TextLLM, config: ThinkConfig
) -> tuple[dict[str, str], list[Note], Usage]:
    """The 11-key record of a reference caption, cross-checked (raises `WriteFailed`)."""
    messages = load_prompt("metadata", config.metadata_prompt).messages(
        caption=item.answer, keys=", ".join(f'"{k}"' for k in METADATA_KEYS)
    )
    values, usage = ask_json(
        llm,
        messages,
        _accept_metadata,
        schema=METADATA_SCHEMA,
        attempts=config.attempts,
        max_tokens=400,
        temperature=0.0,
        seed=config.seed,
        **_bound(config, item),
    )
    checked, notes = check_metadata(values, song)
    return checked, notes, usage


def prompt_ids(config: ThinkConfig) -> dict[str, str]:
    return {
        "trace": load_prompt("trace", config.trace_prompt).id,
        "rewrite": load_prompt("rewrite", config.rewrite_prompt).id,
        "metadata": load_prompt("metadata", config.metadata_prompt).id,
    }


def _wrong_share(verdicts: list[StepVerdict]) -> float:
    return sum(v.verdict == "wrong" for v in verdicts) / max(len(verdicts), 1)


@dataclass
class _Work:
    """An item between the stages."""

    item: ThinkItem
    prov: Provenance
    messages: list[Message]
    draft: TraceReply
    notes: list[Note] = field(default_factory=list)
    verdicts: list[StepVerdict] = field(default_factory=list)
    first: list[StepVerdict] = field(default_factory=list)


def _failed(item: ThinkItem, prov: Provenance, e: WriteFailed) -> ThinkRecord:
    prov.usage += e.usage
    note = Note(reason="write_failed", detail=e.reason)
    return ThinkRecord(item=item, status="failed", notes=[note], provenance=prov)


def process_song(items: list[ThinkItem], song: SongRecord, engine: Engine) -> list[ThinkRecord]:
    """Stages 2-4 of items of one song, in order: write every trace, verify all of them
    (one audio batch), rewrite once or drop, verify the rewrites (one more batch), then
    the captions' metadata. Records come back in the order of ``items``."""
    cfg = engine.config
    done: dict[str, ThinkRecord] = {}
    work: list[_Work] = []
    for item in items:
        prov = Provenance(
            llm=engine.llm.model_id,
            audio_model=engine.audio.model_id if engine.audio else None,
            prompts=prompt_ids(cfg),
        )
        try:
            messages, draft, usage = write_trace(item, song, engine.llm, cfg)
        except WriteFailed as e:
            done[item.id] = _failed(item, prov, e)
            continue
        prov.usage += usage
        work.append(_Work(item, prov, messages, draft))
    drafts = [w.draft.steps for w in work]
    for w, v in zip(work, verify_traces(drafts, song, engine.audio), strict=True):
        w.verdicts = v
    rewritten = []
    for w in work:
        share = _wrong_share(w.verdicts)
        if share > cfg.max_wrong:
            w.notes.append(
                Note(reason="too_many_wrong", detail=f"{share:.0%} of the steps are wrong")
            )
        elif share > 0:
            w.first = w.verdicts
            try:
                w.draft, usage = rewrite_trace(
                    w.item, w.messages, w.draft, w.verdicts, engine.llm, cfg
                )
            except WriteFailed as e:
                w.prov.usage += e.usage
                w.notes.append(Note(reason="rewrite_failed", detail=e.reason))
                continue
            w.prov.usage += usage
            wrong = sum(v.verdict == "wrong" for v in w.first)
            w.notes.append(Note(reason="rewritten", detail=f"{wrong} wrong step(s) named"))
            rewritten.append(w)
    traces = [w.draft.steps for w in rewritten]
    for w, v in zip(rewritten, verify_traces(traces, song, engine.audio), strict=True):
        w.verdicts = v
        if (left := sum(x.verdict == "wrong" for x in v)) > 0:
            w.notes.append(Note(reason="still_wrong", detail=f"{left} wrong step(s) after rewrite"))
    for w in work:
        done[w.item.id] = _finish(w, song, engine)
    return [done[i.id] for i in items]


def _finish(w: _Work, song: SongRecord, engine: Engine) -> ThinkRecord:
    """Stage 4 for a caption (the metadata record), then the item's record."""
    metadata = None
    if w.item.task == "caption":
        try:
            metadata, notes, usage = extract_metadata(w.item, song, engine.llm, engine.config)
            w.prov.usage += usage
            w.notes += notes
        except WriteFailed as e:
            w.prov.usage += e.usage
            w.notes.append(Note(reason="metadata_failed", detail=e.reason))
    dropped = {"too_many_wrong", "rewrite_failed", "still_wrong"} & {n.reason for n in w.notes}
    return ThinkRecord(
        item=w.item,
        status="dropped" if dropped else "ok",
        trace=w.draft.steps,
        final_answer=w.draft.final_answer,
        steps=w.verdicts,
        first_draft=w.first,
        metadata=metadata,
        notes=w.notes,
        provenance=w.prov,
    )


def process(item: ThinkItem, song: SongRecord, engine: Engine) -> ThinkRecord:
    """Stages 2-4 of one item: its record (``ok``, ``dropped`` or ``failed``)."""
    return process_song([item], song, engine)[0]
