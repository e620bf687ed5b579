"""MusicCaps (Kaggle / HF google/MusicCaps): captions of the AudioSet-eval clips, judged
1-10 against the musician-written reference caption."""

from __future__ import annotations

import csv
from pathlib import Path

from ..items import BenchItem
from ..loaders import LoadedBenchmark, resolve
from ..paper import row
from ..recipe import JSON_REPLY, JudgeSpec, Recipe

CAPTION_JUDGE = JudgeSpec(
    version="caption-vs-reference-v1",
    low=1,
    high=10,
    template=(
        "You grade a music caption written by an audio model against a reference caption "
        "that a musician wrote for the same clip. Judge genre, instrumentation, mood, tempo "
        "and rhythm, vocals and production as far as the reference supports them. Reward "
        "correct specific details, penalise contradictions and invented details, do not "
        "reward length.\n\nReference caption:\n{reference}\n\nCandidate caption:\n{response}"
        "\n\n" + JSON_REPLY
    ),
)


def load_musiccaps(path: str | Path, audio_root: str | Path | None = None) -> LoadedBenchmark:
    """MusicCaps ``musiccaps-public.csv``: the AudioSet-eval clips (``is_audioset_eval``),
    audio ``audio/<ytid>.wav``; the reference is the caption."""
    path = Path(path)
    items = []
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["is_audioset_eval"].strip().lower() != "true":
                continue
            items.append(
                BenchItem(
                    id=r["ytid"],
                    benchmark="musiccaps",
                    audio=f"audio/{r['ytid']}.wav",
                    question="",
                    answer=r["caption"],
                    metadata={"start_s": r["start_s"], "end_s": r["end_s"]},
                )
            )
    return resolve("musiccaps", path, items, audio_root)


RECIPES = (
    Recipe(
        "musiccaps", "MusicCaps", "caption", "judge", "musiccaps", ("musiccaps-public.csv",),
        load_musiccaps, "Kaggle/HF google/MusicCaps",
        paper=row("judge", 8.8, 7.2, "Qwen3-Omni", "LLM judge, 1-10"),
        note="AudioSet-eval clips; judged 1-10 against the reference caption",
        judge=CAPTION_JUDGE,
    ),
)  # fmt: skip
