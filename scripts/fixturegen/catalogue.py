"""The piece specifications: typed records read from the TOML files in ``specs/``.

Every ``specs/*.toml`` file may hold ``[[song]]`` tables (seeded compositions) and
``[[corpus]]`` tables (public-domain scores from the music21 corpus, by corpus name);
``specs/demo.toml`` holds the demo song with its chanted poem (``specs/demo_LICENSE.md`` is
copied beside it). Keys are written as mir_eval
labels (``"Bb major"``), meters as ``"6/8"``, instruments as General MIDI programs.
Needs only pydantic, so the catalogue can be checked without the rendering tools.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from musicflamingo import theory
from musicflamingo.util import Record

SPECS = Path(__file__).parent / "specs"
DEMO_LICENCE = SPECS / "demo_LICENSE.md"

QL = float  # a score position or length in quarter notes
Program = Annotated[int, Field(ge=0, le=127)]
KeyLabel = Annotated[str, Field(pattern=r"^[A-G][#b]? (major|minor)$")]
Name = Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]


@dataclass(frozen=True)
class Meter:
    """A time signature as the benchmark counts it: beats per bar and beat length."""

    beats: int
    beat_ql: QL

    @property
    def bar_ql(self) -> QL:
        return self.beats * self.beat_ql


def beat_grid(signature: str) -> Meter:
    """The counted beat of a time signature: 3/4 is three quarters, 6/8 two dotted quarters."""
    m = theory.parse_meter(signature)
    return Meter(m.beats_per_bar, 4 / m.denominator * (3 if m.compound else 1))


# the meters compose.py has patterns for (hand-written for the first four, generic for the rest)
ComposedMeter = Literal["4/4", "3/4", "2/4", "6/8", "2/2", "12/8", "5/4", "3/8", "9/8"]


class SectionSpec(Record):
    """A formal section: bars and a Roman-numeral progression cycled over them.

    ``energy``: 0 sparse, 1 normal, 2 full and loud; by default an intro is sparse, and
    intro and outro have no melody.
    """

    bars: int = Field(gt=0)
    chords: str = Field(min_length=1)  # numerals separated by spaces, one per chord slot
    per_bar: Literal[1, 2] = 1
    energy: Literal[0, 1, 2] | None = None
    melody: bool | None = None
    key: KeyLabel | None = None  # a modulation: this section's key (default: the song's)


@dataclass(frozen=True)
class Section:
    """One section of a song's form, defaults resolved."""

    label: str
    bars: int
    chords: tuple[str, ...]
    per_bar: int
    energy: int
    melody: bool
    key: str | None = None


class Band(Record):
    """General MIDI programs for each role; ``pad`` only plays in full sections."""

    melody: Program
    comp: Program
    bass: Program
    pad: Program | None = None


class Song(Record):
    """A synthetic song composed by the seeded engine in ``compose.py``."""

    name: Name
    description: str
    key: KeyLabel
    meter: ComposedMeter
    bpm: float = Field(gt=0)  # notated beat (dotted quarter in 6/8)
    bpm_end: float | None = Field(default=None, gt=0)  # linear accelerando to this tempo
    band: Band
    drums: bool
    seed: int = Field(ge=0)
    sections: dict[str, SectionSpec]
    form: list[str] = Field(min_length=1)  # section labels in playing order
    tempo_steps: list[float] | None = None  # notated-beat BPM per form entry (step changes)
    swing: float = Field(default=0.5, ge=0.5, le=0.75)  # where the off-beat eighth falls
    syncopation: bool = False  # off-beat comping and syncopated melody rhythms
    pickup: int = Field(default=0, ge=0, le=3)  # beats of anacrusis before the first bar
    texture: Literal["band", "classical"] = "band"  # classical: Alberti, waltz, no drums

    @model_validator(mode="after")
    def _form_uses_sections(self) -> Song:
        missing = [label for label in self.form if label not in self.sections]
        unused = [label for label in self.sections if label not in self.form]
        if missing or unused:
            raise ValueError(f"form {self.form} vs sections: missing {missing}, unused {unused}")
        return self

    @model_validator(mode="after")
    def _tempo_and_feel(self) -> Song:
        if self.tempo_steps is not None:
            if self.bpm_end is not None:
                raise ValueError("tempo_steps and bpm_end exclude each other")
            if len(self.tempo_steps) != len(self.form) or min(self.tempo_steps) <= 0:
                raise ValueError("tempo_steps needs one positive BPM per form entry")
        if self.swing != 0.5 and beat_grid(self.meter).beat_ql != 1:
            raise ValueError("swing needs a quarter-note beat")
        if self.pickup >= beat_grid(self.meter).beats:
            raise ValueError("a pickup must be shorter than a bar")
        if self.texture == "classical" and (self.drums or self.swing != 0.5 or self.syncopation):
            raise ValueError("a classical texture has no drums, swing or syncopation")
        return self

    def parts(self) -> tuple[Section, ...]:
        """The form as sections in playing order."""
        out = []
        for label in self.form:
            s = self.sections[label]
            energy = s.energy if s.energy is not None else (0 if label == "intro" else 1)
            melody = s.melody if s.melody is not None else label not in ("intro", "outro")
            out.append(
                Section(label, s.bars, tuple(s.chords.split()), s.per_bar, energy, melody, s.key)
            )
        return tuple(out)


class CorpusPiece(Record):
    """A public-domain score from the music21 corpus, rendered as written."""

    name: Name
    description: str
    work: str  # music21 corpus name, e.g. "bach/bwv180.7"
    key: KeyLabel  # checked against the key signature and the final bass note
    meter: str  # checked against the score's time signature
    bpm: float = Field(gt=0)  # notated beat
    programs: list[Program] = Field(min_length=1)  # one per part
    passes: int = Field(default=1, gt=0)  # play the (repeat-expanded) tune this many times
    bars: int | None = Field(default=None, gt=0)  # an excerpt: the first bars, repeats ignored

    @field_validator("meter")
    @classmethod
    def _meter(cls, value: str) -> str:
        theory.validate_meter(value)
        return value


class Voice(Record):
    """A poem chanted over the sung sections, one line per two bars."""

    stanzas: list[str]  # one stanza name per section with a melody slot (not intro/outro)
    poem: dict[str, list[str]]

    @model_validator(mode="after")
    def _stanzas_exist(self) -> Voice:
        if unknown := set(self.stanzas) - set(self.poem):
            raise ValueError(f"unknown stanzas {sorted(unknown)}")
        return self


class Demo(Record):
    """The demo song: a composed song plus a chanted poem."""

    song: Song
    voice: Voice

    @model_validator(mode="after")
    def _poem_fits_the_form(self) -> Demo:
        sung = [s for s in self.song.parts() if s.label not in ("intro", "outro")]
        if len(sung) != len(self.voice.stanzas):
            raise ValueError(f"{len(self.voice.stanzas)} stanzas for {len(sung)} sung sections")
        for section, stanza in zip(sung, self.voice.stanzas, strict=True):
            if len(self.voice.poem[stanza]) != (section.bars + 1) // 2:
                raise ValueError(
                    f"stanza {stanza!r} needs one line per two bars of section "
                    f"{section.label} ({section.bars} bars)"
                )
        return self


class Catalogue(Record):
    """Every fixture: composed songs first, then corpus pieces (the index order)."""

    song: list[Song] = []
    corpus: list[CorpusPiece] = []

    @model_validator(mode="after")
    def _unique_names(self) -> Catalogue:
        names = [p.name for p in self.pieces()]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"duplicate piece names {dupes}")
        return self

    def pieces(self) -> list[Song | CorpusPiece]:
        return [*self.song, *self.corpus]


def _read(path: Path) -> dict:
    with path.open("rb") as f:
        return tomllib.load(f)


def load_catalogue(folder: Path = SPECS) -> Catalogue:
    """All fixture specs: the ``[[song]]`` and ``[[corpus]]`` tables of every TOML file in
    ``folder`` except ``demo.toml``, files in name order."""
    data: dict[str, list] = {"song": [], "corpus": []}
    for path in sorted(folder.glob("*.toml")):
        if path.name == "demo.toml":
            continue
        tables = _read(path)
        if unknown := set(tables) - set(data):
            raise ValueError(f"{path}: unknown tables {sorted(unknown)}")
        for kind, entries in tables.items():
            data[kind] += entries
    return Catalogue.model_validate(data)


def load_demo(folder: Path = SPECS) -> Demo:
    """The demo song spec (``demo.toml``)."""
    return Demo.model_validate(_read(folder / "demo.toml"))
