"""``POST /v1/audio/describe``: the model's caption and key facts for one song, with the key
facts checked against measured facts, in one call.

Body: ``{"audio": {"data": base64, "format": "wav"}, "facts": {...}?, "think": false,
"grounded": false, "max_tokens": null}``. ``facts`` is a `SongFacts` object (what
``/v1/audio/analyze`` or ``analyze --format json`` returns); without it the facts are
measured here first (no lyrics). The caption and key-facts requests go through the batcher
together and share one audio prefill. The answer holds the caption, the parsed key facts,
the fact check (one verdict per aspect), the facts used, the whole `ListenReport`, its
Markdown and usage.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import soundfile as sf
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from musicflamingo import audio
from musicflamingo.facts.schema import SongFacts
from musicflamingo.llm.base import one_line
from musicflamingo.llm.server import Limits, bad_request
from musicflamingo.model.api import listen_report
from musicflamingo.model.report import Answer, render_markdown
from musicflamingo.model.runtime import MusicFlamingo, Request
from musicflamingo.serve.batching import Follow
from musicflamingo.serve.chat import usage


class _AudioData(BaseModel):
    data: str
    format: str = "wav"


class DescribeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    audio: _AudioData
    facts: SongFacts | None = None
    think: bool = False
    grounded: bool = False
    max_tokens: int | None = Field(None, ge=1, le=32_768)


def parse_body(raw: bytes) -> DescribeBody:
    """The validated body; 400 with one line on any mistake."""
    try:
        return DescribeBody.model_validate(json.loads(raw))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad_request(f"the body is not JSON ({type(e).__name__})") from None
    except ValidationError as e:
        raise bad_request(one_line(e)) from None


def measure(clip: audio.Audio, limits: Limits) -> SongFacts:
    """The song's measured facts (no lyrics), from the already decoded audio."""
    from musicflamingo.facts.extract import FactsConfig, analyze

    with tempfile.TemporaryDirectory(prefix="mf-describe-") as tmp:
        path = Path(tmp) / "song.wav"
        sf.write(path, clip.samples, clip.sr, subtype="FLOAT")
        config = FactsConfig(lyrics_model=None, max_duration=limits.max_audio_seconds, threads=1)
        return analyze(path, config)


def requests(
    clip: audio.Audio, facts: SongFacts, body: DescribeBody
) -> tuple[list[Request], list[Follow]]:
    """The caption and key-facts requests (the key facts never grounded, so the check stays
    independent) and the listeners that count their tokens."""
    follows = [Follow(lambda ids: ""), Follow(lambda ids: "")]
    common: dict[str, Any] = dict(think=body.think, facts=facts, max_new_tokens=body.max_tokens)
    return [
        Request(clip, "caption", grounded=body.grounded, listener=follows[0], **common),
        Request(clip, "key_facts", listener=follows[1], **common),
    ], follows


def response(
    model: MusicFlamingo, answers: list[Answer], facts: SongFacts, follows: list[Follow]
) -> dict[str, Any]:
    caption, key_facts = answers
    report = listen_report(model, "input_audio", answers, facts)
    parsed = key_facts.key_facts.facts if key_facts.key_facts else None
    return {
        "object": "audio.description",
        "model": report.model,
        "caption": caption.answer,
        "key_facts": parsed.model_dump(mode="json") if parsed else None,
        "fact_check": report.fact_check.model_dump(mode="json") if report.fact_check else None,
        "facts": facts.model_dump(mode="json"),
        "report": report.model_dump(mode="json"),
        "markdown": render_markdown(report),
        "usage": usage(sum(f.prompt_tokens for f in follows), sum(a.new_tokens for a in answers)),
    }
