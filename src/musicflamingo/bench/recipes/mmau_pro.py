"""MMAU-Pro music (HF gamma-lab-umd/MMAU-Pro): closed questions on one clip.

``mmau-pro-embedding:<model>``: the choice nearest to the prediction by cosine similarity
of sentence embeddings is taken; correct iff it equals the answer (strip, case-
insensitive). An empty prediction is wrong and unanswered without embedding it (the
official script would embed the empty string and still pick a choice).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..items import BenchItem
from ..loaders import LoadedBenchmark, relative, resolve
from ..paper import row
from ..recipe import Recipe, Resources
from ..scorers import Scorer, Verdict, choices

if TYPE_CHECKING:
    from musicflamingo.llm.embedders import ChoiceMatcher


def nearest_choice_scorer(matcher: ChoiceMatcher) -> Scorer:
    """``mmau-pro-embedding:<model>`` (module docstring)."""

    def verdict(item: BenchItem, text: str) -> Verdict:
        options = choices(item)
        chosen = options[matcher.match(text, options)[0]] if text.strip() else None
        correct = chosen is not None and chosen.strip().lower() == item.answer.strip().lower()
        return Verdict(correct=correct, answered=chosen is not None, chosen=chosen)

    return Scorer(f"mmau-pro-embedding:{matcher.embedder.name}", verdict)


def load_mmau_pro(
    path: str | Path, audio_root: str | Path | None = None, category: str = "music"
) -> LoadedBenchmark:
    """MMAU-Pro ``test.parquet``: closed questions (the answer among the choices) on one
    audio clip, whose category mentions `category`. Open and multi-audio questions are
    left out. Needs pyarrow."""
    import pyarrow.parquet as pq

    path = Path(path)
    items = []
    for index, r in enumerate(pq.read_table(path).to_pylist()):
        audio = r.get("audio_path")
        audio = [audio] if isinstance(audio, str) else list(audio or [])
        options = [str(c) for c in r.get("choices") or []]
        wanted = category.lower() in str(r.get("category") or "").lower()
        if not wanted or len(audio) != 1 or r.get("answer") not in options:
            continue
        metadata = {"category": r.get("category"), "sub_category": r.get("task_identifier")}
        items.append(
            BenchItem(
                id=str(r.get("id") or index),
                benchmark="mmau-pro",
                audio=relative(audio[0]),
                question=r["question"],
                choices=options,
                answer=r["answer"],
                metadata={k: str(v) for k, v in metadata.items() if v is not None},
            )
        )
    return resolve("mmau-pro", path, items, audio_root)


def _scorer(loaded: LoadedBenchmark, resources: Resources) -> Scorer:
    return nearest_choice_scorer(resources.matcher())


RECIPES = (
    Recipe(
        "mmau-pro", "MMAU-Pro music", "mcq", "accuracy", "mmau-pro", ("test.parquet",),
        load_mmau_pro, "HF gamma-lab-umd/MMAU-Pro",
        paper=row("accuracy", 65.60, 64.90, "Gemini 2.5 Flash", "music; 63.9 without GRPO"),
        scorer_factory=_scorer,
        note="closed single-audio questions only; nearest choice by embedding",
    ),
)  # fmt: skip
