"""Ask a `TextLLM` for JSON that must validate: repair what can be repaired, re-ask a
bounded number of times with the reason, else raise `WriteFailed`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from musicflamingo.llm.base import Message, TextLLM, Usage, one_line
from musicflamingo.llm.jsonrepair import parse_json

T = TypeVar("T")


class WriteFailed(Exception):
    """No usable output after every allowed attempt; carries the tokens spent."""

    def __init__(self, reason: str, usage: Usage) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage


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
) -> tuple[T, Usage]:
    """``accept(parsed_json)`` returns the value or raises `ValueError`/`ValidationError`;
    each failure is sent back to the model (with its reply) for another try."""
    usage = Usage()
    convo = list(messages)
    why = "no attempt made"
    for attempt in range(attempts):
        c = llm.complete(
            convo,
            json_schema=schema,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed + attempt,
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
    raise WriteFailed(f"{schema['name']}: no valid JSON in {attempts} attempts ({why})", usage)
