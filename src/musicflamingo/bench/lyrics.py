"""Lyrics transcription error rates with jiwer: corpus WER (English) or CER (Chinese).

Both are reported raw (jiwer's default: whitespace split for WER, every character for
CER) and normalised. English normalisation is `normalize.normalise_text` (NFKC, lower
case, punctuation stripped, whitespace collapsed, numbers spelled out unless
``numbers=False``). Chinese CER is per character after the same normalisation with all
whitespace removed. Model outputs go through `model.parsing.extract_answer` first.

`strip_sheet_markup` turns a structured lyric sheet into plain sung text before scoring:
lines that are only a bracketed tag ("[Chorus]", "[0:00–0:30]") or a bare section name
("Verse 2:") are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import jiwer
from pydantic import BaseModel, ConfigDict

from musicflamingo.model.parsing import extract_answer

from .normalize import normalise_text

_TAG_LINE = re.compile(r"^\s*\[[^\]]*\]\s*$")
_SECTION_LINE = re.compile(
    r"^\s*(?:verse|chorus|pre-chorus|post-chorus|bridge|intro|outro|hook|refrain|"
    r"interlude|instrumental)(?:\s*\d+)?\s*:?\s*$",
    re.IGNORECASE,
)


def strip_sheet_markup(text: str) -> str:
    """Lyric-sheet text without tag-only and section-name lines (module docstring)."""
    lines = text.splitlines()
    kept = [x for x in lines if not (_TAG_LINE.match(x) or _SECTION_LINE.match(x))]
    return "\n".join(kept).strip()


class ErrorRates(BaseModel):
    """Raw and normalised corpus error rates for one set of transcripts."""

    model_config = ConfigDict(frozen=True)

    metric: Literal["wer", "cer"]
    rule: str
    raw: float
    normalised: float
    n_items: int
    reference_units: int


def error_rates(
    references: Sequence[str],
    outputs: Sequence[str],
    *,
    language: Literal["en", "zh"] = "en",
    numbers: bool = True,
) -> ErrorRates:
    """Corpus WER (``en``) or CER (``zh``) of model outputs against reference lyrics."""
    if len(references) != len(outputs):
        raise ValueError(f"{len(references)} references but {len(outputs)} outputs")
    if not references:
        raise ValueError("no transcripts to score")
    hypotheses = [extract_answer(o) for o in outputs]

    def norm(text: str) -> str:
        text = normalise_text(text, numbers=numbers and language == "en")
        return text.replace(" ", "") if language == "zh" else text

    refs, hyps = [norm(r) for r in references], [norm(h) for h in hypotheses]
    metric: Literal["wer", "cer"] = "cer" if language == "zh" else "wer"
    measure = jiwer.cer if language == "zh" else jiwer.wer
    units = sum(len(r) if language == "zh" else len(r.split()) for r in refs)
    if units == 0:
        raise ValueError("the references are empty after normalisation")
    return ErrorRates(
        metric=metric,
        rule=f"{metric}-{language}:normalise_text(numbers={numbers and language == 'en'})",
        raw=float(measure(list(references), hypotheses)),
        normalised=float(measure(refs, hyps)),
        n_items=len(references),
        reference_units=units,
    )
