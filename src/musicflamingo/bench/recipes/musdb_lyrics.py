"""MUSDB18 with the lyrics extension: English lyrics transcription, WER."""

from __future__ import annotations

from pathlib import Path

from ..items import BenchItem
from ..loaders import AUDIO_EXTENSIONS, LoadedBenchmark, resolve
from ..paper import row
from ..recipe import Recipe


def song_audio(root: Path, name: str) -> str:
    """``audio/<name>.<ext>`` or ``audio/<name>/mixture.wav`` (MUSDB18), else the .wav name."""
    for ext in AUDIO_EXTENSIONS:
        if (root / "audio" / f"{name}{ext}").is_file():
            return f"audio/{name}{ext}"
    if (root / "audio" / name / "mixture.wav").is_file():
        return f"audio/{name}/mixture.wav"
    return f"audio/{name}.wav"


def load_lyrics_folder(
    root: str | Path, benchmark: str = "musdb-lyrics", language: str = "en"
) -> LoadedBenchmark:
    """Songs with reference lyrics as ``lyrics/<name>.txt`` and audio under ``audio/`` (see
    `song_audio`); MUSDB18 lyrics laid out this way."""
    root = Path(root)
    items = []
    for text in sorted((root / "lyrics").rglob("*.txt")):
        name = text.relative_to(root / "lyrics").with_suffix("").as_posix()
        items.append(
            BenchItem(
                id=name,
                benchmark=benchmark,
                audio=song_audio(root, name),
                question="",
                answer=text.read_text(encoding="utf-8").strip(),
                metadata={"language": language},
            )
        )
    return resolve(benchmark, root / "lyrics", items, root)


RECIPES = (
    Recipe(
        "musdb-lyrics", "MUSDB18 lyrics", "lyrics", "wer", "musdb-lyrics", (),
        lambda folder, _: load_lyrics_folder(folder), "MUSDB18 + lyrics extension",
        paper=row("wer", 19.6, 32.7, "GPT-4o", "English lyrics"),
        note="lyrics/<track>.txt, audio/<track>.wav or audio/<track>/mixture.wav",
    ),
)  # fmt: skip
