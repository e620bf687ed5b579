"""What every benchmark loader shares: the loaded-benchmark record, audio lookup confined
to the audio root, and the readers of common question-file layouts.

Audio is never bundled. With an audio root, each item's relative audio path is looked up
as ``root/path`` and then ``root/<file name>``. A candidate counts only if it is a file
whose real path (symlinks, ``..`` and absolute paths resolved) lies inside the real audio
root; items whose only candidates leave the root are listed in `rejected_audio` and never
read. What exists goes to `audio_paths`, what does not to `missing_audio` (relative
paths, once each). Missing audio is not an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from musicflamingo.util import Record

from .items import BenchItem

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".au", ".aiff")
OUTSIDE_ROOT = "audio path leaves the data root"


class LoadedBenchmark(Record):
    """Items of one benchmark file, with where their audio was found (if a root was given)."""

    model_config = ConfigDict(frozen=True)

    benchmark: str
    source: Path
    items: list[BenchItem]
    audio_root: Path | None = None
    audio_paths: dict[str, Path] = {}
    missing_audio: list[str] = []
    rejected_audio: dict[str, str] = {}
    answer_vocabulary: list[str] | None = None

    def item(self, item_id: str) -> BenchItem:
        """The item with this id (KeyError if absent)."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)


def relative(path: str) -> str:
    """A question file's audio path without a leading ``./``."""
    return path.removeprefix("./")


def _lookup(root: Path, real_root: Path, audio: str) -> tuple[Path | None, bool]:
    """The first candidate file inside the root, and whether a candidate left it."""
    escaped = False
    for candidate in (root / audio, root / Path(audio).name):
        real = candidate.resolve()
        if not real.is_relative_to(real_root):
            escaped = True
        elif real.is_file():
            return real, escaped
    return None, escaped


def resolve(
    benchmark: str,
    source: Path,
    items: list[BenchItem],
    audio_root: str | Path | None,
    **extra: Any,
) -> LoadedBenchmark:
    """Look up each item's audio under `audio_root` (module docstring)."""
    found: dict[str, Path] = {}
    missing: dict[str, None] = {}
    rejected: dict[str, str] = {}
    if audio_root is not None:
        root = Path(audio_root)
        real_root = root.resolve()
        for item in items:
            hit, escaped = _lookup(root, real_root, item.audio)
            if hit is not None:
                found[item.id] = hit
            elif escaped:
                rejected[item.id] = f"{OUTSIDE_ROOT}: {item.audio}"
            else:
                missing[item.audio] = None
    return LoadedBenchmark(
        benchmark=benchmark,
        source=source,
        items=items,
        audio_root=None if audio_root is None else Path(audio_root),
        audio_paths=found,
        missing_audio=list(missing),
        rejected_audio=rejected,
        **extra,
    )


def read_json_lines(path: Path) -> Iterable[dict[str, Any]]:
    """The objects of a JSON-lines file, blank lines skipped."""
    with open(path, encoding="utf-8") as f:
        yield from (json.loads(line) for line in f if line.strip())


def multiple_choice(
    benchmark: str, records: Iterable[dict[str, Any]], audio_key: str
) -> Iterable[BenchItem]:
    """Items of the MMAU/MMAR layout (id, question, choices, answer text, breakdown keys)."""
    for r in records:
        metadata = {
            "task": r.get("task") or r.get("modality"),
            "category": r.get("category"),
            "sub_category": r.get("sub-category"),
            "difficulty": r.get("difficulty"),
        }
        yield BenchItem(
            id=str(r["id"]),
            benchmark=benchmark,
            audio=relative(r[audio_key]),
            question=r["question"],
            choices=list(r["choices"]),
            answer=r.get("answer") or "",
            metadata={k: str(v) for k, v in metadata.items() if v is not None},
        )
