"""Which songs a command was given, and the collision-free name each one's outputs get.

Shared by `musicflamingo analyze` (one folder per song) and `skills build` (one record file
per song). Imports nothing from musicflamingo.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from pathlib import Path

MEDIA_SUFFIXES = {
    ".wav",
    ".wave",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".m4a",
    ".aac",
    ".mp4",
    ".m4v",
    ".mkv",
    ".webm",
    ".mov",
    ".avi",
    ".aif",
    ".aiff",
    ".wma",
    ".ac3",
    ".mka",
}
_SLUG_BYTES = 100  # the hash and the longest suffix we add keep names far below 255 bytes


def expand_inputs(inputs: list[str]) -> tuple[list[Path], Path | None]:
    """Files named directly (any extension), media files under folders, glob patterns.

    Returns the songs and the folder they share when a folder or glob was given."""
    songs: list[Path] = []
    root: Path | None = None
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            root = p
            found = (
                q
                for q in sorted(p.rglob("*"))
                if q.suffix.lower() in MEDIA_SUFFIXES
                and not q.name.startswith(".")
                and (q.is_file() or q.is_symlink())
            )
            songs.extend(found)
        elif any(ch in raw for ch in "*?[") and not p.exists():
            matches = sorted(Path(m) for m in glob.glob(raw, recursive=True))
            songs.extend(m for m in matches if not m.is_dir())
            root = Path(os.path.commonpath([str(m.parent) for m in matches])) if matches else None
        else:
            songs.append(p)
    return list(dict.fromkeys(songs)), root


def song_name(song: Path, root: Path | None) -> str:
    """``<slug>-<hash>``: a readable slug of the song's path below ``root`` (its file name
    when there is no root) and 8 hex digits of that path's SHA-1, extension included, so
    ``a b.wav``, ``a_b.wav`` and ``a_b.mp3`` get three names. Never empty, never ``.`` or
    ``..``, never with a path separator."""
    rel = Path(song.name)
    if root is not None and song.is_relative_to(root):
        rel = song.relative_to(root)
    slug = re.sub(r"[^\w.-]+", "_", "__".join(rel.with_suffix("").parts)).strip("._-")
    slug = slug.encode()[:_SLUG_BYTES].decode(errors="ignore").rstrip("._-") or "song"
    return f"{slug}-{hashlib.sha1(rel.as_posix().encode()).hexdigest()[:8]}"


def output_folder(song: Path, out: Path, root: Path | None) -> Path:
    """``out/<song_name>``; a `ValueError` if it would resolve outside ``out`` (a symlink
    planted where the folder goes)."""
    folder = out / song_name(song, root)
    if folder.resolve().parent != out.resolve():
        raise ValueError(f"{song}: output folder {folder} resolves outside {out}")
    return folder
