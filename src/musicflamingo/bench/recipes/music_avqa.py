"""Music-AVQA (GitHub GeWu-Lab/MUSIC-AVQA), the audio-only question types.

``exact-match:music-avqa``: the normalised prediction (`labels.normalise_label`: case,
punctuation, whitespace, ``_``, digits as words; integers above ten read as "more than
ten") must equal one answer of the vocabulary, and that answer must be the gold one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from ..items import BenchItem
from ..labels import LabelSet
from ..loaders import LoadedBenchmark, resolve
from ..normalize import number_to_words
from ..paper import row
from ..recipe import SHORT_ANSWER, Recipe, Resources
from ..scorers import Scorer, label_scorer

AUDIO_TYPES = (("Audio", "Counting"), ("Audio", "Comparative"))
_PLACEHOLDER = re.compile(r"<[A-Za-z]+>")


def fill_avqa_template(question: str, values: list[str]) -> str:
    """Fill ``<Object>``-style placeholders in order; ``_`` in values reads as a space."""
    filled = iter(v.replace("_", " ") for v in values)
    return _PLACEHOLDER.sub(lambda m: next(filled, m.group(0)), question).strip()


def avqa_label_set(vocabulary: Iterable[str]) -> LabelSet:
    """The Music-AVQA answer vocabulary; 11-99 read as "more than ten" when it is a class."""
    labels = tuple(sorted(set(vocabulary)))
    synonyms = {}
    if "more than ten" in labels:
        synonyms = {number_to_words(n): "more than ten" for n in range(11, 100)}
    return LabelSet(name="music-avqa", labels=labels, synonyms=synonyms)


def load_music_avqa(
    path: str | Path,
    audio_root: str | Path | None = None,
    types: Iterable[tuple[str, str]] = AUDIO_TYPES,
    audio_template: str = "{video_id}.wav",
) -> LoadedBenchmark:
    """Music-AVQA ``avqa-test.json``: the audio-only question types by default.

    The answer key is spelled ``anser`` in the file. `answer_vocabulary` holds every answer
    of the whole file (all types), the closed set the exact-match rule compares against.
    """
    path = Path(path)
    records = json.loads(path.read_text(encoding="utf-8"))
    wanted = {tuple(t) for t in types}
    items = []
    for r in records:
        kind = tuple(json.loads(r["type"]))
        if kind not in wanted or r.get("question_deleted"):
            continue
        items.append(
            BenchItem(
                id=str(r["question_id"]),
                benchmark="music-avqa",
                audio=audio_template.format(video_id=r["video_id"]),
                question=fill_avqa_template(r["question_content"], json.loads(r["templ_values"])),
                answer=r["anser"],
                metadata={"category": "-".join(kind), "video_id": r["video_id"]},
            )
        )
    vocabulary = sorted({r["anser"] for r in records})
    return resolve("music-avqa", path, items, audio_root, answer_vocabulary=vocabulary)


def _scorer(loaded: LoadedBenchmark, _: Resources) -> Scorer:
    if loaded.answer_vocabulary is None:
        raise ValueError("music-avqa needs its answer vocabulary")
    return label_scorer(avqa_label_set(loaded.answer_vocabulary), mentions=False)


RECIPES = (
    Recipe(
        "music-avqa", "Music-AVQA (audio-only)", "open", "accuracy", "music-avqa",
        ("avqa-test.json",), load_music_avqa, "GitHub GeWu-Lab/MUSIC-AVQA",
        paper=row("accuracy", 73.6, 76.7, "AF3", "audio-only question types"),
        scorer_factory=_scorer, note="audio as <video_id>.wav", instruction=SHORT_ANSWER,
    ),
)  # fmt: skip
