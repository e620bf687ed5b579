"""MMAR music questions (GitHub ddlBoJack/MMAR), scored by MMAU's token-set rule."""

from __future__ import annotations

from pathlib import Path

from ..loaders import LoadedBenchmark, multiple_choice, read_json_lines, resolve
from ..paper import row
from ..recipe import Recipe
from ..scorers import TOKEN_SET


def load_mmar(
    path: str | Path, audio_root: str | Path | None = None, modality: str | None = "music"
) -> LoadedBenchmark:
    """MMAR ``MMAR-meta.jsonl``, one modality (exact value) or all (None)."""
    path = Path(path)
    records = [r for r in read_json_lines(path) if modality is None or r["modality"] == modality]
    return resolve("mmar", path, list(multiple_choice("mmar", records, "audio_path")), audio_root)


RECIPES = (
    Recipe(
        "mmar", "MMAR music", "mcq", "accuracy", "mmar", ("MMAR-meta.jsonl",), load_mmar,
        "GitHub ddlBoJack/MMAR",
        paper=row("accuracy", 48.66, 46.12, "Qwen2.5-Omni", "music modality"),
        scorer_factory=lambda loaded, _: TOKEN_SET, note="modality == music",
    ),
)  # fmt: skip
