"""Ask a `TextLLM` for JSON that must validate: repair what can be repaired, re-ask a
bounded number of times with the reason, else raise `WriteFailed`.

The schema travels with every request (OpenAI ``response_format``), so a server that
enforces it and the embedded model (constrained decoding) only ever return JSON of that
shape; the re-asks remain for the values ``accept`` rejects and for replies cut short.
A ``deadline`` (`time.monotonic`) bounds the whole exchange: in-process models stop at
it, and no attempt starts after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from musicflamingo.llm.base import Message, TextLLM, Usage, one_line
from musicflamingo.llm.embedded import labelled
from musicflamingo.llm.jsonrepair import parse_json

T = TypeVar("T")
FailureCode = Literal["write_invalid", "write_timeout"]


class WriteFailed(Exception):
    """No usable output after every allowed attempt (``write_invalid``) or within the time
    allowed (``write_timeout``); carries the tokens spent."""

    def __init__(self, reason: str, usage: Usage, code: FailureCode = "write_invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage
        self.code = code


def ask_json(
    llm: TextLLM,
    messages: list[Message],
    accept: Callable[[Any], T],
    *,
    schema: dict[str, Any],
    attempts: int = 3,
    max_tokens: int = 2048,
    temperature: float = 0.0,
    seed: int = 0,
    deadline: float | None = None,
    label: str = "",
) -> tuple[T, Usage]:
    """``accept(parsed_json)`` returns the value or raises `ValueError`/`ValidationError`;
    each failure is sent back to the model (with its reply) for another try. ``label``
    (e.g. the song) starts the embedded model's progress lines."""
    usage = Usage()
    convo = list(messages)
    why = "no attempt made"
    name = schema["name"]
    for attempt in range(attempts):
        if deadline is not None and time.monotonic() >= deadline:
            raise WriteFailed(
                f"write_timeout: {name}: time limit reached after {attempt} attempt(s) ({why})",
                usage,
                "write_timeout",
            )
        with labelled(label):
            c = llm.complete(
                convo,
                json_schema=schema,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed + attempt,
                deadline=deadline,
            )
        usage += Usage.of(c, reask=attempt > 0)
        try:
            return accept(parse_json(c.text)), usage
        except (ValueError, ValidationError) as e:
            why = one_line(e)
        convo = [
            *messages,
            {"role": "assistant", "content": c.text[:4000]},
            {
                "role": "user",
                "content": f"That reply could not be used: {why}. Reply again with the "
                "complete JSON object only, exactly as specified, and no other text.",
            },
        ]
    if deadline is not None and time.monotonic() >= deadline:
        raise WriteFailed(
            f"write_timeout: {name}: time limit reached after {attempts} attempt(s) ({why})",
            usage,
            "write_timeout",
        )
    raise WriteFailed(f"{name}: no valid JSON in {attempts} attempts ({why})", usage)
