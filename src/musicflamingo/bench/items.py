"""Typed records at the harness boundaries: questions, predictions and per-item scores."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import ConfigDict, Field, ValidationError, model_validator

from musicflamingo.util import Record


class _Frozen(Record):
    model_config = ConfigDict(frozen=True)


class BenchItem(_Frozen):
    """One benchmark question.

    `benchmark` is a registry name. `audio` is relative to the benchmark's audio root. For
    multiple-choice items `answer` is the text of the right choice, or empty where the
    answers are withheld (MMAU full test); for open tasks it is the reference text
    (caption, answer, lyrics), if any. `metadata` holds the breakdown keys (`category`,
    `sub_category`, `difficulty`, …) as strings.
    """

    id: str
    benchmark: str
    audio: str
    question: str
    choices: list[str] | None = None
    answer: str
    metadata: dict[str, str] = {}

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> BenchItem:
        if self.choices is not None and self.answer and self.answer not in self.choices:
            raise ValueError(f"item {self.id}: answer {self.answer!r} is not one of the choices")
        return self


class Prediction(_Frozen):
    """The raw text a model produced for one item; read from ``{"id": …, "output": …}``
    lines (the `eval score` format) as well as ``{"item_id": …, "text": …}``."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    item_id: str = Field(validation_alias="id", serialization_alias="id")
    text: str = Field(validation_alias="output", serialization_alias="output")

    @model_validator(mode="before")
    @classmethod
    def _either_spelling(cls, data: object) -> object:
        if isinstance(data, dict):
            data = dict(data)
            if "item_id" in data:
                data["id"] = data.pop("item_id")
            if "text" in data:
                data["output"] = data.pop("text")
            if isinstance(data.get("id"), int):
                data["id"] = str(data["id"])
        return data


class Score(_Frozen):
    """The verdict on one prediction, with the rule and the extraction that produced it.

    `extraction` is ``none`` when the rule read the raw output (as the official scripts
    do), else the `model.parsing.extract` step; `extracted` is the text the rule saw;
    `chosen` is the option or label the rule mapped it to, where the rule maps to one;
    `answered` is false when the rule found no answer at all (empty text, no option, no
    label).
    """

    item_id: str
    benchmark: str
    rule: str
    extraction: str
    extracted: str
    chosen: str | None = None
    correct: bool
    answered: bool
    metadata: dict[str, str] = {}


def read_predictions(path: str | Path) -> list[Prediction]:
    """Predictions from a JSON-lines file, one ``{"id": …, "output": …}`` object a line.

    A bad line or a repeated id is a `ValueError` naming the file and line.
    """
    out: list[Prediction] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                p = Prediction.model_validate_json(line)
            except ValidationError as e:
                reason = e.errors()[0]["msg"]
                raise ValueError(
                    f"{path}:{number}: not an {{id, output}} object ({reason})"
                ) from None
            if p.item_id in seen:
                raise ValueError(f"{path}:{number}: id {p.item_id!r} appears twice")
            seen.add(p.item_id)
            out.append(p)
    return out


def write_predictions(path: str | Path, predictions: Iterable[Prediction]) -> None:
    """Write predictions as ``{"id": …, "output": …}`` JSON lines (UTF-8)."""
    with open(path, "w", encoding="utf-8") as f:
        for p in predictions:
            f.write(json.dumps(p.model_dump(by_alias=True), ensure_ascii=False) + "\n")
