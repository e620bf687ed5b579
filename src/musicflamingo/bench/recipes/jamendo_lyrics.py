"""JamendoLyrics (GitHub f90/jamendolyrics), English songs: an open alternative to MUSDB18
lyrics, not in the paper."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from ..items import BenchItem
from ..loaders import LoadedBenchmark, resolve
from ..paper import row
from ..recipe import Recipe


def load_jamendo_lyrics(
    path: str | Path, audio_root: str | Path | None = None, languages: Iterable[str] = ("English",)
) -> LoadedBenchmark:
    """JamendoLyrics ``JamendoLyrics.csv`` (Filepath, Language, Genre, ...): audio
    ``mp3/<Filepath>``, reference ``lyrics/<name>.txt`` beside the CSV; the given languages."""
    path = Path(path)
    wanted = set(languages)
    items = []
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["Language"] not in wanted:
                continue
            name = Path(r["Filepath"]).stem
            lyrics = path.parent / "lyrics" / f"{name}.txt"
            items.append(
                BenchItem(
                    id=name,
                    benchmark="jamendo-lyrics",
                    audio=f"mp3/{r['Filepath']}",
                    question="",
                    answer=lyrics.read_text(encoding="utf-8").strip(),
                    metadata={"category": r["Language"], "genre": r["Genre"]},
                )
            )
    return resolve("jamendo-lyrics", path, items, audio_root)


RECIPES = (
    Recipe(
        "jamendo-lyrics", "JamendoLyrics (English)", "lyrics", "wer", "jamendo-lyrics",
        ("JamendoLyrics.csv",), load_jamendo_lyrics, "GitHub f90/jamendolyrics",
        paper=row("wer", None, None, None, "not in the paper (open alternative)"),
        note="open alternative to MUSDB18 lyrics",
    ),
)  # fmt: skip
