"""Read the JSON an LLM meant to write: code fences, text around it, trailing commas and a
reply cut off at ``max_tokens`` are repaired; anything else raises `ValueError`."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)(?:```|$)", re.S)
_CLOSE = {"{": "}", "[": "]"}


def _scan(text: str, start: int) -> tuple[int | None, int | None, list[str]]:
    """From the opening bracket at ``start``: end of the balanced value (or None), the last
    offset where an inner value or member was complete, and the open brackets there."""
    stack: list[str] = []
    in_string = escaped = False
    last_cut: int | None = None
    cut_stack: list[str] = []
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in _CLOSE:
            stack.append(ch)
        elif ch in "}]":
            if not stack or _CLOSE[stack[-1]] != ch:
                return None, last_cut, cut_stack
            stack.pop()
            if not stack:
                return i + 1, last_cut, cut_stack
            last_cut, cut_stack = i + 1, list(stack)
        elif ch == "," and stack:  # the member before a comma is complete
            last_cut, cut_stack = i, list(stack)
    return None, last_cut, cut_stack


def strip_trailing_commas(text: str) -> str:
    """Remove commas directly before a closing bracket, outside strings."""
    out: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if ch == '"' and not escaped:
                in_string = False
            escaped = not escaped and ch == "\\"
        elif ch == '"':
            in_string = True
        elif ch in "}]":
            while out and out[-1].isspace():
                out.pop()
            if out and out[-1] == ",":
                out.pop()
        out.append(ch)
    return "".join(out)


def extract_json(text: str) -> str:
    """The JSON object or array in ``text``; a truncated one is cut back to its last
    complete member or inner value and closed (a half-written string is dropped)."""
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced and re.search(r"[\[{]", fenced.group(1)) else text
    starts = [i for i in (body.find("{"), body.find("[")) if i >= 0]
    if not starts:
        raise ValueError("no JSON object or array in the reply")
    start = min(starts)
    end, cut, open_at_cut = _scan(body, start)
    if end is not None:
        return body[start:end]
    if cut is None:
        raise ValueError("the JSON in the reply is cut off before its first complete value")
    closers = "".join(_CLOSE[b] for b in reversed(open_at_cut))
    return body[start:cut] + closers


def parse_json(text: str) -> Any:
    """Parse LLM output as JSON after repair; `ValueError` with the reason when impossible."""
    candidate = strip_trailing_commas(extract_json(text))
    try:
        return json.loads(candidate)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON after repair: {e.msg} at offset {e.pos}") from None
