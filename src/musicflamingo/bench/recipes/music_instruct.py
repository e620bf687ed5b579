"""Music Instruct (HF m-a-p/Music-Instruct, CC BY-NC): open answers on AudioSet-eval clips,
judged 0-100 against the reference answer (the paper's judge prompt is unpublished)."""

from __future__ import annotations

import json
from pathlib import Path

from ..items import BenchItem
from ..loaders import LoadedBenchmark, resolve
from ..paper import row
from ..recipe import JSON_REPLY, JudgeSpec, Recipe

ANSWER_JUDGE = JudgeSpec(
    version="answer-vs-reference-v1",
    low=0,
    high=100,
    template=(
        "You grade an audio model's answer to a question about a piece of music against a "
        "reference answer. Score how correct and complete the answer is with respect to "
        "the reference; penalise contradictions and invented details, do not reward "
        "length.\n\nQuestion:\n{question}\n\nReference answer:\n{reference}\n\n"
        "Model answer:\n{response}\n\n" + JSON_REPLY
    ),
)


def load_music_instruct(path: str | Path, audio_root: str | Path | None = None) -> LoadedBenchmark:
    """Music Instruct JSON (``{"QA": [{ytid, question, answer, is_audioset_eval}, ...]}``):
    the items on the AudioSet eval split, audio ``audio/<ytid>.wav``; ids ``<ytid>-<row>``."""
    path = Path(path)
    records = json.loads(path.read_text(encoding="utf-8"))["QA"]
    items = [
        BenchItem(
            id=f"{r['ytid']}-{row}",
            benchmark="music-instruct",
            audio=f"audio/{r['ytid']}.wav",
            question=r["question"],
            answer=r["answer"],
        )
        for row, r in enumerate(records)
        if r.get("is_audioset_eval")
    ]
    return resolve("music-instruct", path, items, audio_root)


RECIPES = (
    Recipe(
        "music-instruct", "Music Instruct", "open", "judge", "music-instruct",
        ("music_instruct_long.json", "music_instruct.json"), load_music_instruct,
        "HF m-a-p/Music-Instruct (CC BY-NC)",
        paper=row("judge", 97.1, 92.7, "AF3", "LLM judge (paper: GPT-5)"),
        note="AudioSet-eval items; judged 0-100 (the paper's judge prompt is unpublished)",
        judge=ANSWER_JUDGE,
    ),
)  # fmt: skip
