"""MMAU music questions (GitHub Sakshi113/MMAU): test-mini with answers, the full test
split with answers withheld (predictions go to the MMAU submission server)."""

from __future__ import annotations

import json
from pathlib import Path

from ..loaders import LoadedBenchmark, multiple_choice, resolve
from ..paper import row
from ..recipe import Recipe
from ..scorers import TOKEN_SET

SOURCE = "GitHub Sakshi113/MMAU"


def load_mmau(
    path: str | Path, audio_root: str | Path | None = None, task: str | None = "music"
) -> LoadedBenchmark:
    """MMAU ``mmau-test-mini.json`` (or another split file), one task or all (None).

    The full test split withholds its answers: its items carry an empty `answer`.
    """
    path = Path(path)
    records = json.loads(path.read_text(encoding="utf-8"))
    records = [r for r in records if task is None or r["task"] == task]
    return resolve("mmau", path, list(multiple_choice("mmau", records, "audio_id")), audio_root)


RECIPES = (
    Recipe(
        "mmau", "MMAU music (test-mini)", "mcq", "accuracy", "mmau", ("mmau-test-mini.json",),
        load_mmau, SOURCE, paper=row("accuracy", 76.35, 74.47, "AF3", "test-mini v05.15.25, music"),
        scorer_factory=lambda loaded, _: TOKEN_SET, note="task == music",
    ),
    Recipe(
        "mmau-test", "MMAU music (full test)", "mcq", "submission", "mmau", ("mmau-test.json",),
        load_mmau, SOURCE,
        paper=row("accuracy", 76.83, 73.95, "AF3", "full test, music (submission server)"),
        availability="answers-withheld",
        note="answers withheld: writes submission.json for the MMAU server",
    ),
)  # fmt: skip
