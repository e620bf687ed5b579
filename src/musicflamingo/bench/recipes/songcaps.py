"""SongCaps-style rubric: the paper's SongCaps set is not public, so full-song descriptions
of any folder of songs are judged on a rubric (not comparable with the paper)."""

from __future__ import annotations

from pathlib import Path

from ..items import BenchItem
from ..loaders import AUDIO_EXTENSIONS, LoadedBenchmark, resolve
from ..paper import row
from ..recipe import JSON_REPLY, JudgeSpec, Recipe

SONGCAPS_JUDGE = JudgeSpec(
    version="songcaps-rubric-v1",
    low=1,
    high=10,
    template=(
        "You grade a full-song description written by an audio model, on this rubric: "
        "coverage (genre, tempo, key, instrumentation, song structure with times, vocals, "
        "lyrical themes, mood, production), specificity, internal consistency and, when "
        "reference notes are given, agreement with them.\n\nReference notes (may be empty):"
        "\n{reference}\n\nDescription:\n{response}\n\n" + JSON_REPLY
    ),
)


def load_song_folder(root: str | Path, benchmark: str = "songcaps") -> LoadedBenchmark:
    """Every audio file under ``root`` (any depth); a ``<name>.txt`` beside a song, if any,
    holds reference notes for the judge."""
    root = Path(root)
    items = []
    for song in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
        notes = song.with_suffix(".txt")
        items.append(
            BenchItem(
                id=song.relative_to(root).with_suffix("").as_posix(),
                benchmark=benchmark,
                audio=song.relative_to(root).as_posix(),
                question="",
                answer=notes.read_text(encoding="utf-8").strip() if notes.is_file() else "",
            )
        )
    return resolve(benchmark, root, items, root)


RECIPES = (
    Recipe(
        "songcaps", "SongCaps-style rubric", "caption", "judge", "songcaps", (),
        lambda folder, _: load_song_folder(folder), "any folder of songs",
        paper=row(
            "judge", None, None, "AF3",
            "paper's own set, not public: MF 8.3 / 8.8 / 8.0 vs AF3 6.5 / 6.7 / 6.2 "
            "(human / judge, 1-10); a rubric on other songs is not comparable",
        ),
        availability="not-public",
        note="paper's SongCaps is not public: rubric-judged captions of your songs",
        judge=SONGCAPS_JUDGE,
    ),
)  # fmt: skip
