"""Medley-solos-DB (Zenodo 3464194): the test subset's solo instrument."""

from __future__ import annotations

import csv
from pathlib import Path

from ..items import BenchItem
from ..labels import LabelSet
from ..loaders import LoadedBenchmark, resolve
from ..paper import row
from ..recipe import Recipe
from ..scorers import label_scorer

QUESTION = "Which instrument is playing in this recording?"

MEDLEY_SOLOS = LabelSet(
    name="medley-solos",
    labels=(
        "clarinet",
        "distorted electric guitar",
        "female singer",
        "flute",
        "piano",
        "tenor saxophone",
        "trumpet",
        "violin",
    ),  # fmt: skip
    synonyms={
        "electric guitar": "distorted electric guitar",
        "distorted guitar": "distorted electric guitar",
        "guitar": "distorted electric guitar",
        "singer": "female singer",
        "female vocal": "female singer",
        "female vocals": "female singer",
        "female voice": "female singer",
        "voice": "female singer",
        "vocals": "female singer",
        "singing": "female singer",
        "saxophone": "tenor saxophone",
        "sax": "tenor saxophone",
        "tenor sax": "tenor saxophone",
    },  # fmt: skip
)


def load_medley_solos(
    path: str | Path, audio_root: str | Path | None = None, subset: str = "test"
) -> LoadedBenchmark:
    """Medley-solos-DB ``Medley-solos-DB_metadata.csv`` (subset, instrument, instrument_id,
    song_id, uuid4); audio ``Medley-solos-DB_<subset>-<instrument_id>_<uuid4>.wav``."""
    path = Path(path)
    items = []
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["subset"] != subset:
                continue
            name = f"Medley-solos-DB_{subset}-{r['instrument_id']}_{r['uuid4']}.wav"
            items.append(
                BenchItem(
                    id=r["uuid4"],
                    benchmark="medley-solos",
                    audio=f"audio/{name}",
                    question=QUESTION,
                    answer=r["instrument"],
                    metadata={"category": r["instrument"], "song_id": r["song_id"]},
                )
            )
    return resolve("medley-solos", path, items, audio_root)


RECIPES = (
    Recipe(
        "medley-solos", "Medley-Solos-DB instrument", "classification", "accuracy",
        "medley-solos", ("Medley-solos-DB_metadata.csv",), load_medley_solos, "Zenodo 3464194",
        paper=row("accuracy", 90.86, 85.80, "AF2"),
        scorer_factory=lambda loaded, _: label_scorer(MEDLEY_SOLOS), labels=MEDLEY_SOLOS,
        note="test subset",
    ),
)  # fmt: skip
