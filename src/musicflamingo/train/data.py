"""Training rows from MF-Skills / MF-Think outputs (or NVIDIA's Audio Flamingo 3 JSON).

A row is the Audio Flamingo conversation layout: ``{"id", "sound", "duration",
"conversations": [{"from": "human", "value": "<sound>\\n..."}, {"from": "gpt", ...}]}``
plus any extra columns (``answer``, ``options``, ``metadata``, ``meta``), which reach the
GRPO reward functions. Files are Parquet shards, a JSON list or JSON lines; a folder means
its Parquet shards (else its JSON files). Loading goes through `datasets`: memory-mapped
Arrow by default, or streamed (``streaming=True``) for datasets larger than the disk cache.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

Role = Literal["user", "assistant"]
AUDIO_MARK = "<sound>"
ROLES: dict[str, Role] = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
}


class DataError(ValueError):
    """Training data that cannot be used; the message is one line."""


def data_files(paths: Sequence[str | Path]) -> tuple[str, list[str]]:
    """The `datasets` builder ("parquet" or "json") and the files ``paths`` name."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob("*.parquet")) or sorted(
                [*p.rglob("*.json"), *p.rglob("*.jsonl")]
            )
            if not found:
                raise DataError(f"{p}: no .parquet, .json or .jsonl files in this folder")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"{p}: no such file or folder")
    kinds = {"parquet" if f.suffix == ".parquet" else "json" for f in files}
    if len(kinds) != 1 or not all(f.suffix in (".parquet", ".json", ".jsonl") for f in files):
        raise DataError(
            "give Parquet shards or JSON/JSONL files, not a mix: " + ", ".join(map(str, files[:4]))
        )
    return kinds.pop(), [str(f) for f in files]


def load_rows(paths: Sequence[str | Path], *, streaming: bool = False) -> Any:
    """The rows of ``paths`` as a `datasets` Dataset (or IterableDataset when streaming)."""
    from datasets import load_dataset

    builder, files = data_files(paths)
    return load_dataset(builder, data_files=files, split="train", streaming=streaming)


def turns(row: dict[str, Any]) -> tuple[list[tuple[Role, str]], bool]:
    """The conversation as (role, text) turns without the ``<sound>`` marker, and whether
    the first user turn carries the audio."""
    convo = row.get("conversations") or row.get("messages")
    if not convo:
        raise DataError(f"{row.get('id')}: no conversations")
    out: list[tuple[Role, str]] = []
    has_audio = False
    for i, turn in enumerate(convo):
        who = turn.get("from", turn.get("role"))
        text = turn.get("value", turn.get("content"))
        role = ROLES.get(str(who))
        if role is None or not isinstance(text, str):
            raise DataError(f"{row.get('id')}: turn {i} has role {who!r}; use human/gpt")
        if AUDIO_MARK in text:
            if i != 0 or text.count(AUDIO_MARK) != 1:
                raise DataError(f"{row.get('id')}: one <sound> in the first human turn only")
            has_audio = True
            text = text.replace(AUDIO_MARK, "").lstrip("\n")
        out.append((role, text))
    if out[0][0] != "user" or any(a[0] == b[0] for a, b in zip(out, out[1:], strict=False)):
        raise DataError(f"{row.get('id')}: turns must alternate, starting with human")
    return out, has_audio


def sound_path(row: dict[str, Any], root: Path | None) -> Path | None:
    """The row's audio file (relative paths under ``root``); None for a text-only row."""
    sound = row.get("sound")
    if sound is None:
        return None
    if isinstance(sound, list):
        if len(sound) != 1:
            raise DataError(f"{row.get('id')}: {len(sound)} audio files; one per row is supported")
        sound = sound[0]
    path = Path(sound).expanduser()
    return path if path.is_absolute() or root is None else root / path


def length_grouped(
    rows: Iterator[dict[str, Any]], batch_size: int, buffer: int, seed: int = 0
) -> Iterator[dict[str, Any]]:
    """Rows of a stream reordered so consecutive ``batch_size`` runs have similar
    ``length``: each buffer of ``buffer`` rows is sorted, cut into batches, and the batches
    are shuffled (the streaming counterpart of `group_by_length`)."""
    rng = random.Random(seed)
    pending: list[dict[str, Any]] = []

    def flush() -> Iterator[dict[str, Any]]:
        pending.sort(key=lambda r: r["length"])
        batches = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]
        rng.shuffle(batches)
        for b in batches:
            yield from b
        pending.clear()

    for row in rows:
        pending.append(row)
        if len(pending) >= buffer:
            yield from flush()
    yield from flush()
