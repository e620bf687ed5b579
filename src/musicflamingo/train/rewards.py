"""The paper's three GRPO rewards as plain functions with TRL's reward signature.

Each takes ``completions`` (strings, or chat messages whose last ``content`` is the text)
and the dataset's columns as keyword lists, and returns one float per completion, or
None where the reward does not apply (TRL leaves None out of the mean):

- `format_reward`: 1 iff the output is exactly ``<think>…</think>`` then
  ``<answer>…</answer>`` (whitespace around them allowed), else 0;
- `accuracy_reward` (``grpo_qa`` rows, column ``answer``, optional ``options``): 1 iff the
  answer part (`model.parsing` extraction) picks the ground-truth option (by letter or
  option text, the benchmark rule), or for open answers if the normalised texts
  (`bench.normalize.normalise_text`, numbers spelled out) are equal;
- `structured_thinking_reward` (``grpo_caption`` rows, column ``metadata``): the share of
  the record's non-empty categories (of the 11 keys) whose value the caption matches:
  BPM within the MIREX tempo tolerance, keys and meters by `theory` (same key, same time
  signature), every other category as a list of items matched by word overlap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from musicflamingo import theory
from musicflamingo.bench.normalize import normalise_text
from musicflamingo.model.parsing import parse_choice, parse_thinking

_INNER = r"(?:(?!</?\s*(?:think|answer)\s*>).)*"
FORMAT = re.compile(
    rf"\s*<think>{_INNER}</think>\s*<answer>{_INNER}</answer>\s*", re.DOTALL | re.IGNORECASE
)
_NUMBER = r"(\d{2,3}(?:\.\d+)?)"
_BPM = re.compile(
    rf"{_NUMBER}\s*(?:-\s*)?(?:bpm|beats per minute)|tempo\D{{0,24}}?{_NUMBER}", re.IGNORECASE
)
_KEY = re.compile(
    r"\b([A-G](?:#|b|♯|♭| sharp| flat)?)[ -]?(major|minor|maj|min|m)(?![a-z])", re.IGNORECASE
)
_METER = re.compile(r"\b(\d{1,2})\s*/\s*(\d{1,2})\b")
_SPLIT = re.compile(r"[,;/|\n]|\band\b|\bwith\b")
_STOP = {"the", "a", "an", "of", "in", "on", "and", "with", "to", "at", "by", "for", "its", "is"}
ITEM_WORDS = 0.5  # an item is found when more than this share of its words is in the caption
LIST_ITEMS = 0.5  # a list category matches when this share of its items is found


def text_of(completion: Any) -> str:
    """The generated text of a TRL completion (a string or a list of chat messages)."""
    if isinstance(completion, str):
        return completion
    return str(completion[-1]["content"]) if completion else ""


def format_reward(completions: Sequence[Any], **_: Any) -> list[float]:
    return [1.0 if FORMAT.fullmatch(text_of(c)) else 0.0 for c in completions]


def answer_correct(text: str, answer: str, options: Sequence[str] | None = None) -> bool:
    """Whether the answer part of ``text`` is the ground truth ``answer``."""
    if options:
        truth = parse_choice(answer, options)
        picked = parse_choice(text, options)
        return truth.index is not None and picked.index == truth.index
    said = parse_thinking(text).answer
    return normalise_text(said, numbers=True) == normalise_text(answer, numbers=True) != ""


def accuracy_reward(
    completions: Sequence[Any],
    answer: Sequence[str | None] | None = None,
    options: Sequence[Sequence[str] | None] | None = None,
    **_: Any,
) -> list[float | None]:
    answers = answer or [None] * len(completions)
    opts = options or [None] * len(completions)
    return [
        None if a is None else float(answer_correct(text_of(c), a, o))
        for c, a, o in zip(completions, answers, opts, strict=True)
    ]


def _words(text: str) -> list[str]:
    return [w for w in normalise_text(text).split() if w not in _STOP]


def _bpm_found(caption: str, reference: str) -> bool:
    ref = re.search(r"\d+(?:\.\d+)?", reference)
    if ref is None or float(ref.group()) <= 0:
        return False
    said = [float(a or b) for a, b in _BPM.findall(caption)]
    return any(s > 0 and theory.tempo_matches(s, float(ref.group())) for s in said)


def _key_found(caption: str, reference: str) -> bool:
    try:
        ref = theory.parse_key(reference)
    except ValueError:
        return False
    for tonic, mode in _KEY.findall(caption):
        mode = "minor" if mode.lower() in ("minor", "min", "m") and mode != "M" else "major"
        try:
            if theory.same_key(f"{tonic} {mode}", ref):
                return True
        except ValueError:
            continue
    return False


def _meter_found(caption: str, reference: str) -> bool:
    try:
        theory.validate_meter(reference.strip())
    except ValueError:
        return False
    for num, den in _METER.findall(caption):
        try:
            if theory.same_meter(f"{num}/{den}", reference.strip()):
                return True
        except ValueError:
            continue
    return False


def _items_found(caption: str, reference: str) -> bool:
    said = set(_words(caption))
    items = [w for w in (_words(part) for part in _SPLIT.split(reference)) if w]
    if not items:
        return False
    found = [sum(w in said for w in item) > ITEM_WORDS * len(item) for item in items]
    return sum(found) >= LIST_ITEMS * len(items)


MATCHERS = {"BPM": _bpm_found, "Key": _key_found, "Meter": _meter_found}


def metadata_share(caption: str, metadata: dict[str, str]) -> float:
    """The share of ``metadata``'s non-empty categories that ``caption`` matches."""
    filled = {k: str(v) for k, v in metadata.items() if v is not None and str(v).strip()}
    if not filled:
        return 0.0
    hits = sum(MATCHERS.get(k, _items_found)(caption, v) for k, v in filled.items())
    return hits / len(filled)


def structured_thinking_reward(
    completions: Sequence[Any],
    metadata: Sequence[dict[str, str] | None] | None = None,
    **_: Any,
) -> list[float | None]:
    records = metadata or [None] * len(completions)
    return [
        None if m is None else metadata_share(parse_thinking(text_of(c)).answer, m)
        for c, m in zip(completions, records, strict=True)
    ]


REWARDS = {
    "format": format_reward,
    "accuracy": accuracy_reward,
    "structured_thinking": structured_thinking_reward,
}
