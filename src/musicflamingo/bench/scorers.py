"""Per-item scoring: a rule maps the text it reads to a `Verdict`; a `Scorer` applies a
rule to the raw model output (``raw``, exactly as the official scripts read it) or to its
``<answer>`` part (``answer``, `model.parsing.extract`) and records which in the `Score`.

The rules shared by several benchmarks live here; a benchmark's own rule lives in its
recipe (`musicflamingo.bench.recipes`).

- ``mmau-string-match``: MMAU and MMAR (Sakshi113/MMAU ``evaluation.py``, same code in
  ddlBoJack/MMAR): lower-cased ``\\b\\w+\\b`` token sets; correct iff every answer token is
  in the prediction and no token of a wrong choice is, tokens shared with the answer
  excepted; no token at all is wrong (and unanswered).
- ``label-match:<set>``: `labels.LabelSet.match` with mentions, correct iff it is the gold
  label; ``exact-match:<set>`` without mentions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from musicflamingo.model.parsing import extract

from .items import BenchItem, Prediction, Score
from .labels import LabelSet
from .normalize import word_tokens

ExtractionMode = Literal["raw", "answer"]
EXTRACTIONS: dict[ExtractionMode, str] = {
    "raw": "none: the raw output, as the official script reads it",
    "answer": "the <answer> part (model.parsing.extract), not the official script",
}


class Verdict(NamedTuple):
    """What a rule concluded from one text."""

    correct: bool
    answered: bool
    chosen: str | None = None


Rule = Callable[[BenchItem, str], Verdict]


@dataclass(frozen=True)
class Scorer:
    """A named rule, applied to raw outputs or to their extracted answers."""

    rule: str
    verdict: Rule

    def __call__(
        self, item: BenchItem, output: str, extraction: ExtractionMode = "answer"
    ) -> Score:
        if extraction == "raw":
            text, source = output or "", "none"
        else:
            found = extract(output)
            text, source = found.text, found.source
        v = self.verdict(item, text)
        return Score(
            item_id=item.id, benchmark=item.benchmark, rule=self.rule, extraction=source,
            extracted=text, chosen=v.chosen, correct=v.correct, answered=v.answered,
            metadata=item.metadata,
        )  # fmt: skip


def choices(item: BenchItem) -> list[str]:
    """The item's choices (ValueError when it has none)."""
    if not item.choices:
        raise ValueError(f"item {item.id} ({item.benchmark}) has no choices")
    return item.choices


def mmau_string_match(answer: str, prediction: str, options: Iterable[str]) -> bool:
    """The MMAU/MMAR token-set rule on one prediction (module docstring)."""
    predicted = word_tokens(prediction)
    if not predicted:
        return False
    gold = word_tokens(answer)
    wrong = set().union(*(word_tokens(c) - gold for c in options))
    return gold <= predicted and predicted.isdisjoint(wrong)


def _token_set(item: BenchItem, text: str) -> Verdict:
    return Verdict(
        correct=mmau_string_match(item.answer, text, choices(item)),
        answered=bool(word_tokens(text)),
    )


TOKEN_SET = Scorer("mmau-string-match", _token_set)


def label_scorer(labels: LabelSet, *, mentions: bool = True) -> Scorer:
    """Closed vocabularies: ``label-match:<set>``, or ``exact-match:<set>`` without mentions."""

    def verdict(item: BenchItem, text: str) -> Verdict:
        label, _ = labels.match(text, mentions=mentions)
        return Verdict(correct=label == item.answer, answered=label is not None, chosen=label)

    return Scorer(f"{'label' if mentions else 'exact'}-match:{labels.name}", verdict)


def score_predictions(
    items: Sequence[BenchItem],
    predictions: Iterable[Prediction],
    scorer: Scorer,
    extraction: ExtractionMode = "answer",
) -> list[Score]:
    """Score every item that has a prediction, in item order (as the official scripts,
    items without one are left out); a prediction for an unknown item is a ValueError."""
    texts = {p.item_id: p.text for p in predictions}
    unknown = texts.keys() - {item.id for item in items}
    if unknown:
        raise ValueError(f"{len(unknown)} predictions for unknown items, e.g. {min(unknown)!r}")
    return [scorer(item, texts[item.id], extraction) for item in items if item.id in texts]
