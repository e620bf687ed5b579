"""The Chat Completions shape of ``musicflamingo serve``: a request body checked into one
runtime `Request`, and the answer as an OpenAI completion or as stream chunks.

A conversation maps onto the model's own format: system/developer messages and earlier
turns become the history, the last message (the user's) is the question, and the one
``input_audio`` part (wherever it was sent) is heard with the first user turn. ``content``
of an answer is the model's raw text (``<think>`` tags and all, so scorers that read raw
output get it); when there is reasoning it is also given alone as ``reasoning_content``.
Extras live under ``musicflamingo`` (the answer part, what was heard, warnings).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from musicflamingo.llm.server import (
    ChatBody,
    Limits,
    Refused,
    bad_request,
    token_budget,
    validate_body,
)
from musicflamingo.model.prompts import Role
from musicflamingo.model.report import Answer

MAX_STOP = 4


class StreamOptions(BaseModel):
    include_usage: bool = False


class AudioChatBody(ChatBody):
    """The request body: OpenAI's fields this server honours; other fields are ignored."""

    model_config = ConfigDict(extra="allow")

    top_p: float = Field(1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    n: int = Field(1, ge=1, le=1)
    stream_options: StreamOptions | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and len(v) > MAX_STOP:
            raise ValueError(f"at most {MAX_STOP} stop sequences")
        return v

    @property
    def stops(self) -> list[str]:
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return [s for s in stop if s]


class Conversation(BaseModel):
    """What the runtime needs from a chat request."""

    question: str
    history: list[tuple[Role, str]]
    audio: dict[str, Any] | None  # the input_audio payload ({"data", "format"})


def parse_body(raw: bytes, limits: Limits) -> tuple[AudioChatBody, Conversation, int | None]:
    """The validated body, its conversation and the token budget (None: the runtime's
    own); 400 with one line on any mistake."""
    _, body = validate_body(raw, AudioChatBody)
    fmt = (body.response_format or {}).get("type", "text")
    if fmt != "text":
        raise bad_request(f"response_format {fmt!r} is not supported here; use text")
    tokens = token_budget(body, limits, None)
    return body, conversation(body), tokens


def conversation(body: ChatBody) -> Conversation:
    """The question, history and audio of ``body``; 400 for what the model cannot take."""
    turns: list[tuple[Role, str]] = []
    sounds: list[dict[str, Any]] = []
    for m in body.messages:
        if m.role == "tool":
            raise bad_request("tool messages are not supported by this model")
        role: Role = "system" if m.role in ("system", "developer") else m.role  # type: ignore[assignment]
        if isinstance(m.content, list):
            texts = []
            for part in m.content:
                if part.type == "text":
                    texts.append(part.text)
                else:
                    if role != "user":
                        raise bad_request("input_audio is only taken in user messages")
                    sounds.append(part.input_audio.model_dump())
            text = "\n".join(texts)
        else:
            text = m.content or ""
        turns.append((role, text))
    if turns[-1][0] != "user":
        raise bad_request("the last message must be the user's")
    if len(sounds) > 1:
        raise bad_request(f"send at most one input_audio per request, not {len(sounds)}")
    question = turns[-1][1].strip()
    if not question:
        raise bad_request("the last user message has no text: ask something about the audio")
    return Conversation(question=question, history=turns[:-1], audio=sounds[0] if sounds else None)


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def extras(answer: Answer) -> dict[str, Any]:
    """The ``musicflamingo`` field: the answer part, what was heard, warnings."""
    return {
        "answer": answer.answer,
        "heard": answer.heard,
        "duration": answer.duration,
        "warnings": answer.warnings,
    }


def finish_reason(answer: Answer) -> str:
    return "stop" if answer.finished else "length"


def completion(
    cid: str, model: str, text: str, answer: Answer, prompt_tokens: int
) -> dict[str, Any]:
    """A ``chat.completion`` object carrying ``text`` (the raw answer, stop strings cut)."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if answer.thinking:
        message["reasoning_content"] = answer.thinking
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(answer)}],
        "usage": usage(prompt_tokens, answer.new_tokens),
        "musicflamingo": extras(answer),
    }


def chunk(
    cid: str,
    model: str,
    delta: dict[str, Any] | None,
    finish: str | None = None,
    **more: Any,
) -> str:
    """One server-sent event of a ``chat.completion.chunk``; ``delta=None``: no choices
    (the usage chunk)."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        **more,
    }
    return event(body)


def error(e: Refused) -> dict[str, Any]:
    """The error object of a refusal, for a stream that has already begun."""
    return {"error": {"message": str(e), "type": e.kind, "code": e.status}}


def event(body: dict[str, Any] | str) -> str:
    data = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return f"data: {data}\n\n"
