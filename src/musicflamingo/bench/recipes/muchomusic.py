"""MuChoMusic (Zenodo / HF mulab-mir/muchomusic, CC BY-SA 4.0): four shuffled options.

``muchomusic-official`` (mulab-mir/muchomusic ``muchomusic_eval/scoring.py``,
``extract_responses``): the text after the last "The correct answer is:" is searched for
the upper-case characters A-D *anywhere* (character-set intersection, so "Drums" counts
as D); exactly one -> that option; otherwise the first option, in the shown order, whose
lower-cased text is a substring of the lower-cased output; otherwise unanswered.
``muchomusic-marker``: the same, but only standalone option markers count as letters
(`model.parsing.option_markers`: "(B)", "B)", "B.", "answer is B", …).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from musicflamingo.model.parsing import option_markers

from ..items import BenchItem
from ..loaders import LoadedBenchmark, read_json_lines, relative, resolve
from ..paper import row
from ..recipe import Recipe
from ..scorers import Scorer, Verdict, choices

LETTERS = ("A", "B", "C", "D")
PREFIX = "The correct answer is:"
LetterMode = Literal["official", "marker"]
_MARKERS = option_markers("".join(LETTERS))


def muchomusic_choice(
    output: str, options: Sequence[str], mode: LetterMode = "official"
) -> int | None:
    """Index of the option the MuChoMusic rule reads from `output`, or None."""
    output = output.split(PREFIX)[-1].strip()
    if mode == "official":
        letters = set(LETTERS) & set(output)
    else:
        letters = {next(g for g in m.groups() if g) for m in _MARKERS.finditer(output)}
    letters &= set(LETTERS[: len(options)])
    if len(letters) == 1:
        return LETTERS.index(letters.pop())
    lowered = output.lower()
    return next((i for i, c in enumerate(options) if c.lower().strip() in lowered), None)


def muchomusic_scorer(mode: LetterMode = "official") -> Scorer:
    """``muchomusic-official`` or ``muchomusic-marker`` (module docstring)."""

    def verdict(item: BenchItem, text: str) -> Verdict:
        options = choices(item)
        index = muchomusic_choice(text, options, mode)
        chosen = None if index is None else options[index]
        return Verdict(correct=chosen == item.answer, answered=chosen is not None, chosen=chosen)

    return Scorer(f"muchomusic-{mode}", verdict)


def load_muchomusic(path: str | Path, audio_root: str | Path | None = None) -> LoadedBenchmark:
    """MuChoMusic as JSON lines (audio, question, choices A-D already shuffled, answer letter)."""
    path = Path(path)
    items = []
    for r in read_json_lines(path):
        letter = r["answer"].strip().upper()
        items.append(
            BenchItem(
                id=Path(r["audio"]).stem,
                benchmark="muchomusic",
                audio=relative(r["audio"]),
                question=r["question"],
                choices=list(r["choices"]),
                answer=r["choices"][LETTERS.index(letter)],
                metadata={"answer_letter": letter},
            )
        )
    return resolve("muchomusic", path, items, audio_root)


RECIPES = (
    Recipe(
        "muchomusic", "MuChoMusic", "mcq", "accuracy", "muchomusic",
        ("muchomusic-questions.jsonl",), load_muchomusic, "Zenodo / HF mulab-mir/muchomusic",
        paper=row("accuracy", 74.58, 52.10, "Qwen3-Omni", "69.5 without GRPO"),
        scorer_factory=lambda loaded, _: muchomusic_scorer("official"),
    ),
)  # fmt: skip
