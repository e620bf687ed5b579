"""Reading model text: reasoning vs answer, the key-facts JSON, and multiple-choice picks.

Everything here is lenient on input and strict on output: messy text never raises, and
what comes back is typed and validated (with what had to be repaired written down). This
module needs neither torch nor transformers: the benchmark harness scores with it.

Answer extraction (`extract`), for thinking models that write
``<think>…</think><answer>…</answer>``, in order:

1. the last non-empty closed ``<answer>…</answer>`` (``answer-tag``);
2. else the text after the last unclosed ``<answer>`` (``unclosed-answer-tag``, truncated output);
3. else the text before a stray ``</answer>``, after any ``</think>`` (``stray-answer-close``);
4. else the text after the last ``</think>`` (``after-think``);
5. else, if a ``<think>`` was opened and never closed, nothing: the output is all
   reasoning (``unclosed-think``, counted as unanswered);
6. else the whole text (``raw``).

Tags are matched case-insensitively; leftover think/answer tags are removed and the
result is stripped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from musicflamingo.llm.jsonrepair import extract_json, parse_json

from .prompts import LETTERS

ExtractionSource = Literal[
    "answer-tag",
    "unclosed-answer-tag",
    "stray-answer-close",
    "after-think",
    "unclosed-think",
    "raw",
]

_TAG = re.compile(r"<\s*(/?)\s*(think|answer)\s*>", re.IGNORECASE)
_CLOSED_ANSWER = re.compile(
    r"<answer\s*>((?:(?!<answer\s*>).)*?)</answer\s*>", re.IGNORECASE | re.DOTALL
)
_ANSWER_OPEN = re.compile(r"<answer\s*>", re.IGNORECASE)
_ANSWER_CLOSE = re.compile(r"</answer\s*>", re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think\s*>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think\s*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"</?\s*(?:think|answer)\s*>", re.IGNORECASE)


class Extraction(BaseModel):
    """The answer part of a model output and which step of the rule produced it."""

    model_config = ConfigDict(frozen=True)

    text: str
    source: ExtractionSource


def _clean(text: str) -> str:
    return _ANY_TAG.sub(" ", text).strip()


def _after_last(pattern: re.Pattern[str], text: str) -> str | None:
    matches = list(pattern.finditer(text))
    return text[matches[-1].end() :] if matches else None


def extract(text: str | None) -> Extraction:
    """Apply the extraction rule (module docstring) to one raw model output."""
    text = text or ""
    closed = [_clean(m.group(1)) for m in _CLOSED_ANSWER.finditer(text)]
    if closed:
        return Extraction(text=next((c for c in reversed(closed) if c), ""), source="answer-tag")
    unclosed = _after_last(_ANSWER_OPEN, text)
    if unclosed is not None:
        return Extraction(text=_clean(unclosed), source="unclosed-answer-tag")
    close = _ANSWER_CLOSE.search(text)
    if close:
        before = text[: close.start()]
        after_think = _after_last(_THINK_CLOSE, before)
        return Extraction(
            text=_clean(before if after_think is None else after_think),
            source="stray-answer-close",
        )
    after_think = _after_last(_THINK_CLOSE, text)
    if after_think is not None:
        return Extraction(text=_clean(after_think), source="after-think")
    if _THINK_OPEN.search(text):
        return Extraction(text="", source="unclosed-think")
    return Extraction(text=text.strip(), source="raw")


def extract_answer(text: str | None) -> str:
    """The answer text of a raw model output (see `extract`)."""
    return extract(text).text


class Thought(BaseModel):
    """A model output split into its reasoning and its final answer."""

    model_config = ConfigDict(frozen=True)

    thinking: str
    answer: str
    source: ExtractionSource = Field(description="which extraction rule produced the answer")


def parse_thinking(text: str | None) -> Thought:
    """Split ``<think>…</think><answer>…</answer>`` output; tolerant of missing, unclosed and
    repeated tags and of reasoning that only ends with a stray ``</think>``.

    The answer follows `extract` (the rule benchmarks score); the thinking is every think
    block, an unclosed think's tail, and text before a stray ``</think>``, joined by blank
    lines.
    """
    text = text or ""
    thinking: list[str] = []
    state: str | None = None
    opened_think = False
    pos = 0
    for m in _TAG.finditer(text):
        segment = text[pos : m.start()]
        closing, name = m.group(1) == "/", m.group(2).lower()
        if state == "think" or (closing and name == "think" and state is None and not opened_think):
            thinking.append(segment)
        if not closing:
            state = name
            opened_think |= name == "think"
        elif state == name or state is None:
            state = None
        pos = m.end()
    if state == "think":
        thinking.append(text[pos:])
    answer = extract(text)
    return Thought(
        thinking="\n\n".join(t.strip() for t in thinking if t.strip()),
        answer=answer.text,
        source=answer.source,
    )


# --- key facts ------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_KEY = re.compile(
    r"^\s*([A-Ga-g])\s*([#♯b♭]|sharp|flat)?\s*[- ]?\s*"
    r"(major|minor|maj|min|m|dorian|mixolydian|lydian|phrygian|locrian|aeolian|ionian)?\b",
    re.IGNORECASE,
)
_MODES = {"maj": "major", "ionian": "major", "min": "minor", "m": "minor", "aeolian": "minor"}
_ALIASES = {
    "genre": "genre",
    "genres": "genre",
    "style": "genre",
    "subgenre": "genre",
    "bpm": "bpm",
    "tempo": "bpm",
    "tempo_bpm": "bpm",
    "key": "key",
    "tonality": "key",
    "key_signature": "key",
    "musical_key": "key",
    "meter": "meter",
    "time_signature": "meter",
    "metre": "meter",
    "instruments": "instruments",
    "instrumentation": "instruments",
    "instrument": "instruments",
    "vocals": "vocals",
    "vocal": "vocals",
    "vocal_character": "vocals",
    "voice": "vocals",
    "mood": "mood",
    "moods": "mood",
    "emotion": "mood",
    "emotions": "mood",
    "chords": "chords",
    "chord_progression": "chords",
    "progression": "chords",
}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"\s*(?:,|;|\band\b|/|\n)\s*", value)
    if not isinstance(value, list | tuple):
        value = [value]
    return [str(v).strip() for v in value if str(v).strip()]


def normalise_key(text: str) -> str | None:
    """``"A minor"``-style label of a key name (``"F#m"``, ``"Bb maj"``), or None."""
    m = _KEY.match(text.replace("-", " "))
    if not m:
        return None
    tonic = m.group(1).upper()
    acc = (m.group(2) or "").lower()
    tonic += {"sharp": "#", "♯": "#", "flat": "b", "♭": "b"}.get(acc, acc)
    mode = (m.group(3) or "major").lower()
    if mode == "m" and m.group(3) == "M":
        mode = "major"
    return f"{tonic} {_MODES.get(mode, mode)}"


class KeyFacts(BaseModel):
    """The machine-readable summary the model gives for a song (every field optional)."""

    model_config = ConfigDict(extra="ignore")

    genre: str | None = None
    bpm: float | None = None
    key: str | None = None
    meter: str | None = None
    instruments: list[str] = Field(default_factory=list)
    vocals: str | None = None
    mood: list[str] = Field(default_factory=list)
    chords: list[str] = Field(default_factory=list)

    @field_validator("genre", "vocals", mode="before")
    @classmethod
    def _text(cls, v: Any) -> str | None:
        items = _as_list(v) if isinstance(v, list | tuple) else [str(v).strip()] if v else []
        return ", ".join(items) or None

    @field_validator("bpm", mode="before")
    @classmethod
    def _bpm(cls, v: Any) -> float | None:
        if v is None or isinstance(v, bool):
            return None
        numbers = [float(n) for n in _NUMBER.findall(str(v))]
        bpm = sum(numbers[:2]) / len(numbers[:2]) if numbers else None  # "120-124" -> 122
        return bpm if bpm is not None and 20 <= bpm <= 400 else None

    @field_validator("key", mode="before")
    @classmethod
    def _key(cls, v: Any) -> str | None:
        return normalise_key(str(v)) if v else None

    @field_validator("meter", mode="before")
    @classmethod
    def _meter(cls, v: Any) -> str | None:
        if not v:
            return None
        text = str(v).lower()
        if "common" in text:
            return "4/4"
        if "cut" in text:
            return "2/2"
        m = re.search(r"(\d+)\s*/\s*(\d+)", text)
        return f"{m.group(1)}/{m.group(2)}" if m else None

    @field_validator("instruments", "mood", "chords", mode="before")
    @classmethod
    def _list(cls, v: Any) -> list[str]:
        return _as_list(v)


class ParsedKeyFacts(BaseModel):
    """Key facts read from model text, with how they were obtained."""

    facts: KeyFacts | None
    method: Literal["json", "repaired-json", "lines", "none"]
    repairs: list[str] = Field(default_factory=list)
    unknown_keys: list[str] = Field(default_factory=list)


_SPELLINGS: list[tuple[str, Callable[[str], str]]] = [
    ("smart quotes", lambda s: s.translate(str.maketrans("“”„‘’", '"""\'\''))),
    ("comments", lambda s: re.sub(r"(?m)^\s*//.*$|/\*.*?\*/", "", s)),
    ("single quotes", lambda s: re.sub(r"(?<![\w])'((?:[^'\\]|\\.|'(?=\w))*)'", r'"\1"', s)),
    (
        "python literals",
        lambda s: re.sub(
            r"\bNone\b", "null", re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", s))
        ),
    ),
    ("unquoted keys", lambda s: re.sub(r"([{,]\s*)([A-Za-z_][\w \-]*?)\s*:", r'\1"\2":', s)),
]


def _strict(text: str) -> bool:
    """Whether the JSON value in ``text`` is in it whole and parses with no repair."""
    try:
        span = extract_json(text)
        json.loads(span)
    except ValueError:
        return False
    return span in text


def _load_object(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The JSON object in ``text``: `llm.jsonrepair.parse_json` (code fences, text around
    it, trailing commas, a cut-off reply), fixing non-JSON spellings in order until it
    parses; the repairs made are named."""
    repairs: list[str] = []
    steps: list[tuple[str, Callable[[str], str]]] = [("", str), *_SPELLINGS]
    for name, fix in steps:
        fixed = fix(text)
        if name and fixed == text:
            continue
        if name:
            text = fixed
            repairs.append(name)
        try:
            value = parse_json(text)
        except ValueError:
            continue
        if not _strict(text):
            repairs.append("jsonrepair")
        return (value if isinstance(value, dict) else None), repairs
    return None, repairs


_LINE = re.compile(r"(?im)^[\s*\-•#]*\**([A-Za-z][\w \-]{1,30}?)\**\s*[:=]\s*(.+?)\s*$")


def _lines(text: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for m in _LINE.finditer(text):
        key = _ALIASES.get(re.sub(r"[\s\-]+", "_", m.group(1).strip().lower()))
        if key and key not in found:
            found[key] = m.group(2).strip().strip("*").strip()
    return found


def parse_key_facts(text: str | None) -> ParsedKeyFacts:
    """The key-facts object in ``text`` (answer part, code fences, repairs), else ``key: value``
    lines, validated into `KeyFacts`; ``facts`` is None when nothing usable was found."""
    answer = parse_thinking(text).answer or (text or "")
    obj, repairs = _load_object(answer) if "{" in answer else (None, [])
    method: Literal["json", "repaired-json", "lines", "none"]
    if obj is not None:
        method = "repaired-json" if repairs else "json"
    else:
        obj, repairs, method = _lines(answer), [], "lines"
    fields: dict[str, Any] = {}
    unknown: list[str] = []
    for raw_key, value in obj.items():
        key = _ALIASES.get(re.sub(r"[\s\-]+", "_", str(raw_key).strip().lower()))
        if key is None:
            unknown.append(str(raw_key))
        elif key not in fields:
            fields[key] = value
    if not fields:
        return ParsedKeyFacts(facts=None, method="none", repairs=repairs, unknown_keys=unknown)
    try:
        facts = KeyFacts.model_validate(fields)
    except ValidationError as e:  # a value of an impossible type: drop those fields
        bad = {str(err["loc"][0]) for err in e.errors()}
        facts = KeyFacts.model_validate({k: v for k, v in fields.items() if k not in bad})
        repairs.append("dropped invalid " + ", ".join(sorted(bad)))
    return ParsedKeyFacts(facts=facts, method=method, repairs=repairs, unknown_keys=unknown)


# --- multiple choice ------------------------------------------------------------------------


class Choice(BaseModel):
    """The option a free-text answer picks, and by which rule."""

    index: int | None
    letter: str | None
    option: str | None
    rule: Literal["letter", "text", "none"]


def option_markers(letters: str) -> re.Pattern[str]:
    """Standalone option markers for `letters`: "(B)", "[B]", "B)", "B.", "B:", a letter
    ending the text or leading it before a dash or comma, "answer/option/choice is B"."""
    c = f"[{letters}]"
    return re.compile(
        rf"[(\[]({c})[)\]]"
        rf"|(?<![\w'.])({c})(?=[).:](?!\w)|\s*$)"
        rf"|^\s*({c})(?=\s*[-\u2013\u2014,])"
        rf"|(?i:\b(?:answer|option|choice)\b(?:\s+is)?\s*:?\s*)\(?({c})(?![\w'])"
    )


def parse_choice(text: str | None, options: Sequence[str]) -> Choice:
    """The option the answer part of ``text`` picks: MuChoMusic's rule in its marker form
    (exactly one standalone option letter, else the first option whose text it contains),
    for any number of options."""
    answer = parse_thinking(text).answer
    letters = LETTERS[: len(options)]
    found = {next(g for g in m.groups() if g) for m in option_markers(letters).finditer(answer)}
    if len(found) == 1:
        i = letters.index(found.pop())
        return Choice(index=i, letter=letters[i], option=options[i], rule="letter")
    lowered = answer.lower()
    hit = next((k for k, o in enumerate(options) if o.lower().strip() in lowered), None)
    if hit is None:
        return Choice(index=None, letter=None, option=None, rule="none")
    i = hit
    return Choice(index=i, letter=letters[i], option=options[i], rule="text")
