"""Opencpop (request-gated): Chinese lyrics transcription, CER."""

from __future__ import annotations

from pathlib import Path

from ..items import BenchItem
from ..loaders import LoadedBenchmark, resolve
from ..paper import row
from ..recipe import Recipe


def load_opencpop(path: str | Path, audio_root: str | Path | None = None) -> LoadedBenchmark:
    """Opencpop ``segments/test.txt`` (``id|text|phones|...`` lines), audio ``wavs/<id>.wav``
    beside it."""
    path = Path(path)
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        uid, text = line.split("|")[:2]
        items.append(
            BenchItem(
                id=uid,
                benchmark="opencpop",
                audio=f"wavs/{uid}.wav",
                question="",
                answer=text.strip(),
                metadata={"language": "zh"},
            )
        )
    return resolve("opencpop", path, items, audio_root)


RECIPES = (
    Recipe(
        "opencpop", "Opencpop", "lyrics", "cer", "opencpop", ("segments/test.txt",),
        lambda f, _: load_opencpop(f, f.parent), "Opencpop (request-gated)",
        paper=row("cer", 12.9, 53.7, "GPT-4o", "Chinese lyrics; the paper calls it WER"),
        availability="request-gated", language="zh",
    ),
)  # fmt: skip
