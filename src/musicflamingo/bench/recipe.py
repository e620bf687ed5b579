"""What one benchmark is: its data folder and files, loader, prompt kind, scoring rule and
the paper's numbers. Each benchmark's module in `musicflamingo.bench.recipes` defines
``RECIPES``, the `Recipe`s the registry discovers.

Prompts follow the paper's settings: multiple choice as the runtime's ``choose`` request
("(A) …" lines), classification as a question with the label list, open questions as
asked, lyrics and captions with the runtime's own requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict

from musicflamingo.util import Record

from .items import BenchItem
from .labels import LabelSet
from .loaders import LoadedBenchmark
from .paper import Metric, PaperRow
from .scorers import Scorer

if TYPE_CHECKING:
    from musicflamingo.llm.embedders import ChoiceMatcher

Kind = Literal["mcq", "classification", "open", "lyrics", "caption"]
Availability = Literal["public", "request-gated", "answers-withheld", "not-public"]
Task = Literal["choose", "ask", "lyrics", "caption"]
SHORT_ANSWER = "Answer the question using a single word or phrase."
LoadFn = Callable[[Path, Path], LoadedBenchmark]
JSON_REPLY = (
    'Reply with JSON only: {{"score": <integer {low}-{high}>, "reason": "<one sentence>"}}.'
)


class Prompt(Record):
    """One request as the runtime takes it: task, question and options."""

    model_config = ConfigDict(frozen=True)

    task: Task
    question: str | None = None
    options: list[str] | None = None


class JudgeSpec(Record):
    """An LLM-judge prompt: its version, score range and template (fields: question,
    reference, response, low, high)."""

    model_config = ConfigDict(frozen=True)

    version: str
    low: int
    high: int
    template: str


class DataMissing(FileNotFoundError):
    """A benchmark's question file or folder is not under the data root."""


@dataclass
class Resources:
    """What some scoring rules need beyond the items: the MMAU-Pro sentence embedder
    (None: the bundled default), loaded on first use. NV-Embed runs its repository's code,
    so it loads only with ``trust_remote_code`` (pin ``revision`` for reproducible runs)."""

    embedder: str | None = None
    trust_remote_code: bool = False
    revision: str | None = None
    _matcher: ChoiceMatcher | None = field(default=None, repr=False)

    def matcher(self) -> ChoiceMatcher:
        if self._matcher is None:
            from musicflamingo.llm.embedders import ChoiceMatcher, load_embedder

            self._matcher = ChoiceMatcher(
                load_embedder(
                    self.embedder, trust_remote_code=self.trust_remote_code, revision=self.revision
                )
            )
        return self._matcher


ScorerFactory = Callable[[LoadedBenchmark, Resources], Scorer]


@dataclass(frozen=True)
class Recipe:
    """One benchmark (module docstring). `scorer` builds the per-item rule of accuracy
    benchmarks; `labels` is a classification benchmark's vocabulary."""

    name: str
    title: str
    kind: Kind
    metric: Metric
    folder: str
    files: tuple[str, ...]
    load_fn: LoadFn
    source: str
    paper: PaperRow | None = None
    scorer_factory: ScorerFactory | None = None
    labels: LabelSet | None = None
    availability: Availability = "public"
    note: str = ""
    language: Literal["en", "zh"] = "en"
    judge: JudgeSpec | None = None
    instruction: str = ""

    def load(self, data_root: str | Path) -> LoadedBenchmark:
        """Items with their audio looked up in ``data_root/<folder>``."""
        folder = Path(data_root) / self.folder
        found = [folder / f for f in self.files if (folder / f).exists()]
        if not folder.is_dir() or (self.files and not found):
            what = (
                f"{' or '.join(self.files)} in {folder}" if folder.is_dir() else f"folder {folder}"
            )
            raise DataMissing(f"{self.name}: no {what} ({self.availability}; {self.source})")
        return self.load_fn(found[0] if found else folder, folder)

    def options(self, item: BenchItem) -> list[str] | None:
        """What an answer is chosen from: the choices, or the label list."""
        if self.kind == "mcq":
            return item.choices
        if self.labels is not None:
            return list(self.labels.labels)
        return None

    def prompt(self, item: BenchItem) -> Prompt:
        """The request the paper's setting implies for this item."""
        if self.kind == "mcq":
            return Prompt(task="choose", question=item.question, options=item.choices)
        if self.kind == "classification" and self.labels is not None:
            labels = ", ".join(x.replace("_", " ") for x in self.labels.labels)
            return Prompt(task="ask", question=f"{item.question} Answer with one of: {labels}.")
        if self.kind in ("open", "classification"):
            text = f"{item.question}\n{self.instruction}" if self.instruction else item.question
            return Prompt(task="ask", question=text)
        return Prompt(task="lyrics" if self.kind == "lyrics" else "caption")

    def scorer(self, loaded: LoadedBenchmark, resources: Resources | None = None) -> Scorer:
        """The benchmark's per-item rule (accuracy benchmarks only)."""
        if self.metric != "accuracy" or self.scorer_factory is None:
            raise ValueError(f"{self.name} is scored by {self.metric}, not per-item accuracy")
        return self.scorer_factory(loaded, resources or Resources())
