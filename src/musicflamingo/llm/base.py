"""The one text-LLM interface every stage uses, its request and result types, and token
accounting.

Messages follow the OpenAI chat layout: ``{"role": ..., "content": str | [parts]}`` where a
part is ``{"type": "text", "text": ...}`` or ``{"type": "input_audio", "input_audio":
{"data": base64, "format": "wav"}}``. ``json_schema`` follows OpenAI's ``response_format``
payload: ``{"name": ..., "schema": {...}}``. ``deadline`` is a `time.monotonic` value after
which an in-process model stops generating (HTTP clients bound a call by their timeout).
"""

from __future__ import annotations

import base64
import io
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import soundfile as sf
from pydantic import ValidationError

from musicflamingo.util import Record

Message = dict[str, Any]


class LLMError(RuntimeError):
    """A completion that could not be had; the message is one line saying why."""


class LLMRequestError(LLMError):
    """The request itself is unusable (too long, malformed); retrying will not help."""


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion as every `TextLLM` receives it."""

    messages: list[Message]
    json_schema: dict[str, Any] | None = None
    max_tokens: int = 1024
    temperature: float = 0.0
    seed: int | None = None
    deadline: float | None = None


class TextLLM(ABC):
    """Anything that completes a chat: HTTP clients, embedded models, rule-based writers.
    Subclasses implement `respond` and `model_id`; callers use `complete`."""

    @property
    @abstractmethod
    def model_id(self) -> str:
        """The model's name, as provenance records it."""

    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.0,
        seed: int | None = None,
        deadline: float | None = None,
    ) -> Completion:
        """The reply to ``messages``; with ``json_schema`` the reply should be that JSON."""
        return self.respond(
            ChatRequest(list(messages), json_schema, max_tokens, temperature, seed, deadline)
        )

    @abstractmethod
    def respond(self, request: ChatRequest) -> Completion:
        """The completion of one request."""


class Usage(Record):
    """Token totals over completions: ``retries`` are transport retries of a client,
    ``reasks`` requests sent again because the reply was unusable."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    reasks: int = 0

    @classmethod
    def of(cls, c: Completion, *, reask: bool = False) -> Usage:
        """The usage of one completion."""
        return cls(
            calls=1,
            prompt_tokens=c.prompt_tokens,
            completion_tokens=c.completion_tokens,
            reasks=int(reask),
        )

    def cost(self, prices: tuple[float, float] | None) -> float | None:
        """USD at ``prices`` (per million prompt, completion tokens); None without prices."""
        if prices is None:
            return None
        return round((self.prompt_tokens * prices[0] + self.completion_tokens * prices[1]) / 1e6, 4)

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields})


def one_line(e: Exception, limit: int = 300) -> str:
    """An error as one short line; a pydantic error names where it is, never the input."""
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "top level"
        text = f"{e.error_count()} schema error(s), first at {where}: {err['msg']}"
    else:
        text = str(e)
    return " ".join(text.split())[:limit]


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    """The text of a message's content; audio and other non-text parts are left out."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")


def wav_base64(clip: np.ndarray, sr: int) -> str:
    """16-bit PCM WAV of a mono clip, base64-encoded: the ``input_audio`` payload."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(clip, -1.0, 1.0), sr, format="WAV", subtype="PCM_16")
    return base64.b64encode(buf.getvalue()).decode("ascii")
