"""NSynth test split (magenta): instrument family and sound source of single notes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from ..items import BenchItem
from ..labels import LabelSet
from ..loaders import LoadedBenchmark, read_json_lines, relative, resolve
from ..paper import row
from ..recipe import Recipe
from ..scorers import label_scorer

QUESTIONS = {
    "family": "Which instrument family plays this note?",
    "source": "Is this note produced acoustically, electronically or synthetically?",
}
_NAME = re.compile(
    r"^(?P<family>.+)_(?P<source>acoustic|electronic|synthetic)_"
    r"(?P<instrument>\d{3})-(?P<pitch>\d{3})-(?P<velocity>\d{3})\.wav$"
)

NSYNTH_FAMILY = LabelSet(
    name="nsynth-family",
    labels=(
        "bass",
        "brass",
        "flute",
        "guitar",
        "keyboard",
        "mallet",
        "organ",
        "reed",
        "string",
        "synth_lead",
        "vocal",
    ),  # fmt: skip
    synonyms={
        "bass guitar": "bass",
        "double bass": "bass",
        "bass synth": "bass",
        "synth bass": "bass",
        "contrabass": "bass",
        "trumpet": "brass",
        "trombone": "brass",
        "french horn": "brass",
        "horn": "brass",
        "tuba": "brass",
        "flutes": "flute",
        "piccolo": "flute",
        "recorder": "flute",
        "guitars": "guitar",
        "acoustic guitar": "guitar",
        "electric guitar": "guitar",
        "piano": "keyboard",
        "keyboards": "keyboard",
        "electric piano": "keyboard",
        "harpsichord": "keyboard",
        "clavinet": "keyboard",
        "marimba": "mallet",
        "xylophone": "mallet",
        "vibraphone": "mallet",
        "glockenspiel": "mallet",
        "celesta": "mallet",
        "mallets": "mallet",
        "pipe organ": "organ",
        "hammond organ": "organ",
        "organs": "organ",
        "saxophone": "reed",
        "sax": "reed",
        "clarinet": "reed",
        "oboe": "reed",
        "bassoon": "reed",
        "harmonica": "reed",
        "accordion": "reed",
        "strings": "string",
        "violin": "string",
        "viola": "string",
        "cello": "string",
        "harp": "string",
        "string instrument": "string",
        "synth lead": "synth_lead",
        "lead synth": "synth_lead",
        "synthesizer": "synth_lead",
        "synth": "synth_lead",
        "vocals": "vocal",
        "voice": "vocal",
        "singing": "vocal",
        "singer": "vocal",
        "choir": "vocal",
    },  # fmt: skip
)

NSYNTH_SOURCE = LabelSet(
    name="nsynth-source",
    labels=("acoustic", "electronic", "synthetic"),
    synonyms={"electric": "electronic", "synthesized": "synthetic", "synthesised": "synthetic"},
)


def load_nsynth(
    path: str | Path,
    audio_root: str | Path | None = None,
    target: Literal["family", "source"] = "family",
) -> LoadedBenchmark:
    """NSynth test labels (JSON lines of audio + label); family and source come from the
    file name (``<family>_<source>_<instrument>-<pitch>-<velocity>.wav``)."""
    path = Path(path)
    benchmark = f"nsynth-{target}"
    items = []
    for r in read_json_lines(path):
        parts = _NAME.match(Path(r["audio"]).name)
        if parts is None:
            raise ValueError(f"{path}: unexpected NSynth file name {r['audio']!r}")
        if r.get("label") and r["label"][0] != parts["family"]:
            raise ValueError(f"{path}: label {r['label']} disagrees with {r['audio']!r}")
        items.append(
            BenchItem(
                id=Path(r["audio"]).stem,
                benchmark=benchmark,
                audio=relative(r["audio"]),
                question=QUESTIONS[target],
                answer=parts[target],
                metadata={"category": parts["family"], "sub_category": parts["source"]},
            )
        )
    return resolve(benchmark, path, items, audio_root)


SOURCE = "NSynth test split (magenta)"
RECIPES = (
    Recipe(
        "nsynth-family", "NSynth instrument", "classification", "accuracy", "nsynth",
        ("nsynth-test-labels.jsonl",), load_nsynth, SOURCE,
        paper=row("accuracy", 80.76, 78.9, "AF3", "instrument"),
        scorer_factory=lambda loaded, _: label_scorer(NSYNTH_FAMILY), labels=NSYNTH_FAMILY,
    ),
    Recipe(
        "nsynth-source", "NSynth source", "classification", "accuracy", "nsynth",
        ("nsynth-test-labels.jsonl",),
        lambda f, root: load_nsynth(f, root, target="source"), SOURCE,
        paper=row("accuracy", 75.89, 65.5, "AF3"),
        scorer_factory=lambda loaded, _: label_scorer(NSYNTH_SOURCE), labels=NSYNTH_SOURCE,
    ),
)  # fmt: skip
