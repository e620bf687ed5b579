"""GTZAN genre collection: every file in the ten genre folders."""

from __future__ import annotations

from pathlib import Path

from ..items import BenchItem
from ..labels import LabelSet
from ..loaders import AUDIO_EXTENSIONS, LoadedBenchmark, resolve
from ..paper import row
from ..recipe import Recipe
from ..scorers import label_scorer

QUESTION = "What is the genre of this music?"

GTZAN_GENRE = LabelSet(
    name="gtzan",
    labels=(
        "blues",
        "classical",
        "country",
        "disco",
        "hiphop",
        "jazz",
        "metal",
        "pop",
        "reggae",
        "rock",
    ),  # fmt: skip
    synonyms={
        "hip hop": "hiphop",
        "rap": "hiphop",
        "heavy metal": "metal",
        "pop music": "pop",
        "rock music": "rock",
        "classical music": "classical",
        "country music": "country",
        "jazz music": "jazz",
        "blues music": "blues",
        "reggae music": "reggae",
    },
)


def load_gtzan(root: str | Path, split: str | Path | None = None) -> LoadedBenchmark:
    """GTZAN as ``<genre>/<genre>.000NN.wav`` folders (under ``root``, ``root/genres`` or
    ``root/genres_original``); all files found, or the relative paths or file names listed
    one a line in a `split` file (files it names but that are absent are reported)."""
    root = Path(root)
    folders = (root / "genres", root / "genres_original")
    genres = next((d for d in folders if d.is_dir()), root)
    if split is None:
        names = sorted(
            p.relative_to(genres).as_posix()
            for p in genres.glob("*/*")
            if p.parent.name in GTZAN_GENRE.labels and p.suffix.lower() in AUDIO_EXTENSIONS
        )
    else:
        names = [x.strip() for x in Path(split).read_text(encoding="utf-8").splitlines()]
    items = []
    for name in filter(None, names):
        genre = Path(name).name.split(".")[0]
        items.append(
            BenchItem(
                id=Path(name).stem,
                benchmark="gtzan",
                audio=f"{genre}/{Path(name).name}",
                question=QUESTION,
                answer=genre,
                metadata={"category": genre},
            )
        )
    return resolve("gtzan", Path(split or genres), items, genres)


RECIPES = (
    Recipe(
        "gtzan", "GTZAN genre", "classification", "accuracy", "gtzan", (),
        lambda folder, _: load_gtzan(folder), "GTZAN genre collection",
        paper=row("accuracy", 84.45, 80.00, "Pengi"),
        scorer_factory=lambda loaded, _: label_scorer(GTZAN_GENRE), labels=GTZAN_GENRE,
        note="every file in the genre folders; known duplicates and mislabels",
    ),
)  # fmt: skip
