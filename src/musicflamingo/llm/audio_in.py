"""``input_audio`` parts of chat messages: base64 checked, the container header probed for
the stated length before anything is decoded, and decoding capped at the same length."""

from __future__ import annotations

import base64
import binascii
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from musicflamingo import audio
from musicflamingo.llm.base import LLMRequestError, Message
from musicflamingo.util import clock

MAX_AUDIO_SECONDS = 600.0


def audio_parts(messages: list[Message]) -> list[dict[str, Any]]:
    """The ``input_audio`` payloads (``{"data", "format"}``) of all messages, in order."""
    return [
        p.get("input_audio") or {}
        for m in messages
        if isinstance(m.get("content"), list)
        for p in m["content"]
        if p.get("type") == "input_audio"
    ]


def part_bytes(part: dict[str, Any]) -> tuple[bytes, str]:
    """The bytes of an ``input_audio`` part and the file suffix its ``format`` names (""
    when none or odd); `LLMRequestError` when the data is not base64."""
    try:
        data = base64.b64decode(str(part.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        raise LLMRequestError("input_audio data is not valid base64") from None
    fmt = str(part.get("format") or "")
    return data, (f".{fmt}" if fmt.isalnum() and len(fmt) <= 8 else "")


@contextmanager
def _as_file(part: dict[str, Any]) -> Iterator[Path]:
    data, suffix = part_bytes(part)
    with tempfile.NamedTemporaryFile(prefix="mf-input-", suffix=suffix) as f:
        f.write(data)
        f.flush()
        yield Path(f.name)


def _probe(path: Path, max_seconds: float) -> None:
    try:
        _, stated = audio.probe(path)
    except audio.AudioError as e:
        raise LLMRequestError(f"input_audio is not readable audio: {e.reason}") from None
    if stated is not None and stated > max_seconds:
        raise LLMRequestError(
            f"input_audio is {clock(stated)} long; this server takes at most {clock(max_seconds)}"
        )


def check_audio(messages: list[Message], max_seconds: float = MAX_AUDIO_SECONDS) -> None:
    """Raise `LLMRequestError` (one line) for a part that is not base64, not readable
    audio, or longer than ``max_seconds`` by its header; nothing is decoded."""
    for part in audio_parts(messages):
        with _as_file(part) as path:
            _probe(path, max_seconds)


def decode_audio(
    part: dict[str, Any], sr: int = audio.MODEL_SR, max_seconds: float = MAX_AUDIO_SECONDS
) -> audio.Audio:
    """One part decoded to mono float32 at ``sr``; refused by its header when too long,
    and decoding stops at ``max_seconds`` when the header states no length."""
    with _as_file(part) as path:
        _probe(path, max_seconds)
        try:
            return audio.load(path, sr, max_duration=max_seconds)
        except audio.AudioError as e:
            raise LLMRequestError(f"input_audio cannot be decoded: {e.reason}") from None
