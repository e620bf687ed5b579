"""Music theory in one place: pitch classes, keys, chords, tempo and meter.

In the style of ``mir_eval``: each kind of input has a ``validate_*`` function that raises
``ValueError`` with a clear message, and each relation is one pure function. Key scores and
chord encodings are mir_eval's own (``mir_eval.key``, ``mir_eval.chord``); this module adds
the spellings people and models write ("Bbm", "F sharp minor", "A:min", "Am7") and the
relation names the checkers report. Relations take the claim first: ``(estimate, reference)``.

A key written without its mode ("key of A") states only its tonic: it is the same key as
either mode of that tonic and no other relation applies to it.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np


class _MirEval:
    """``mir_eval``, imported at first use: its package import loads scipy.stats (about a
    second), which measuring a song's facts does not otherwise need."""

    def __getattr__(self, name: str) -> Any:
        import mir_eval.chord
        import mir_eval.key

        return getattr(mir_eval, name)


mir_eval: Any = _MirEval()

TEMPO_TOLERANCE = 0.04  # relative window of the MIREX tempo metrics (Accuracy1 and 2)
OCTAVE_FACTORS = (2.0, 1 / 2)  # double and half time
DOTTED_FACTORS = (3 / 2, 2 / 3)  # a dotted-beat reading (3:2) and its inverse
ACCURACY2_FACTORS = (1.0, 2.0, 3.0, 1 / 2, 1 / 3)  # MIREX Accuracy2 (Gouyon et al. 2006)

Mode = Literal["major", "minor"]
KeyRelation = Literal["same", "relative", "parallel", "dominant", "subdominant", "unrelated"]

SHARPS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")  # by pitch class
FLATS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# the tonic as a key signature names it: at most six accidentals in the mode
TONIC_NAMES: dict[str, tuple[str, ...]] = {
    "major": ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
    "minor": ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"),
}
_ACCIDENTALS = {"#": "#", "♯": "#", "b": "b", "♭": "b", "𝄪": "##", "𝄫": "bb"}
NOTE_PATTERN = r"[A-Ga-g](?:[#♯b♭𝄪𝄫]+|[\s-]?(?i:sharp|flat)\b)?"
_NOTE = re.compile(rf"^\s*({NOTE_PATTERN})\s*$")
# Church modes are classed by their third, as a major/minor key estimator hears them.
_MODES: dict[str, Mode] = {
    "major": "major",
    "maj": "major",
    "ionian": "major",
    "lydian": "major",
    "mixolydian": "major",
    "minor": "minor",
    "min": "minor",
    "aeolian": "minor",
    "dorian": "minor",
    "phrygian": "minor",
    "locrian": "minor",
}
_LETTER_MODES: dict[str, Mode] = {"m": "minor", "M": "major"}  # "Bbm", "CM"
_KEY = re.compile(rf"^\s*({NOTE_PATTERN})\s*(?::\s*)?([A-Za-z]+)?\s*$")

# Lead-sheet chord suffixes -> Harte shorthand (with added degrees where Harte has none).
_SYMBOL_QUALITY = {
    "": "maj",
    "M": "maj",
    "maj": "maj",
    "m": "min",
    "min": "min",
    "-": "min",
    "dim": "dim",
    "°": "dim",
    "o": "dim",
    "aug": "aug",
    "+": "aug",
    "5": "5",
    "sus": "sus4",
    "sus4": "sus4",
    "sus2": "sus2",
    "6": "maj6",
    "m6": "min6",
    "7": "7",
    "maj7": "maj7",
    "M7": "maj7",
    "Δ": "maj7",
    "Δ7": "maj7",
    "m7": "min7",
    "min7": "min7",
    "-7": "min7",
    "mmaj7": "minmaj7",
    "mM7": "minmaj7",
    "m7b5": "hdim7",
    "ø": "hdim7",
    "ø7": "hdim7",
    "dim7": "dim7",
    "°7": "dim7",
    "o7": "dim7",
    "9": "9",
    "maj9": "maj9",
    "m9": "min9",
    "11": "11",
    "m11": "min11",
    "13": "13",
    "maj13": "maj13",
    "m13": "min13",
    "add9": "maj(9)",
    "madd9": "min(9)",
}
_DEGREES = ["1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7"]
_SYMBOL = re.compile(r"^([A-G][#b]*)([^/]*)(?:/([A-G][#b]*))?$")
_MAJ: tuple[int, ...] = (1, 0, 0, 0, 1, 0, 0, 1)  # mir_eval.chord.QUALITIES["maj"][:8]
_MIN: tuple[int, ...] = (1, 0, 0, 1, 0, 0, 0, 1)  # mir_eval.chord.QUALITIES["min"][:8]
NO_CHORDS = ("N", "X")


# --- pitch classes -------------------------------------------------------------------------


def validate_note(name: str) -> None:
    """A note name: a letter A-G, then sharps/flats (#, b, ♯, ♭, 𝄪, 𝄫, "sharp", "flat")."""
    if not isinstance(name, str) or not _NOTE.match(name):
        raise ValueError(f"not a note name: {name!r} (expected e.g. C, F#, Bb, E♭, F sharp)")


def _ascii_note(name: str) -> str:
    name = name.strip()
    letter, rest = name[0].upper(), name[1:].strip(" -").lower()
    if rest in ("sharp", "flat"):
        return letter + ("#" if rest == "sharp" else "b")
    return letter + "".join(_ACCIDENTALS[c] for c in name[1:])


def cents_from_a440(hz: float) -> float:
    """How far a tuning's A4 (Hz) lies from concert pitch, in cents (+ sharp)."""
    return 1200 * math.log2(hz / 440.0)


def tonic_name(pc: int, mode: str) -> str:
    """The conventional name of pitch class ``pc`` as the tonic of a ``mode`` key."""
    return TONIC_NAMES[mode][pc % 12]


def pitch_class(name: str) -> int:
    """Pitch class 0-11 (C = 0) of a note name: ``pitch_class("Db") == pitch_class("C#")``."""
    validate_note(name)
    note = _ascii_note(name)  # as mir_eval.chord.pitch_class_to_semitone counts it
    return (SHARPS.index(note[0]) + note.count("#") - note.count("b")) % 12


def enharmonic(a: str, b: str) -> bool:
    """Whether two note names sound the same (C# and Db, E# and F, B# and C)."""
    return pitch_class(a) == pitch_class(b)


# --- keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class 0-11
    mode: Mode | None  # None: only the tonic was written

    def mir_eval_label(self) -> str:
        """The key as ``mir_eval.key`` writes it ("C# minor"); needs a mode."""
        if self.mode is None:
            raise ValueError(f"the key {SHARPS[self.tonic]} has no mode; give major or minor")
        return f"{SHARPS[self.tonic]} {self.mode}"


def _split_key(text: str) -> tuple[str, Mode | None]:
    m = _KEY.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(
            f"not a key: {text!r} (expected e.g. 'G minor', 'F# major', 'Bbm', 'A:min')"
        )
    tonic, word = m.group(1), m.group(2)
    if word is None:
        return tonic, None
    mode = _LETTER_MODES.get(word) or _MODES.get(word.lower())
    if mode is None:
        raise ValueError(f"unknown mode {word!r} in key {text!r} (expected major or minor)")
    return tonic, mode


def validate_key(text: str) -> None:
    """A key: a note name and an optional mode ("G minor", "F# major", "Bbm", "A:min", "E")."""
    _split_key(text)


def parse_key(key: str | Key) -> Key:
    """The key a text names: ``parse_key("Bbm") == Key(tonic=10, mode="minor")``."""
    if isinstance(key, Key):
        return key
    tonic, mode = _split_key(key)
    return Key(pitch_class(tonic), mode)


def same_key(estimate: str | Key, reference: str | Key) -> bool:
    """Same tonic and mode, however spelled ("F# major" is "Gb major"); a key without a mode
    is the same as either mode of its tonic."""
    e, r = parse_key(estimate), parse_key(reference)
    return e.tonic == r.tonic and (e.mode == r.mode or None in (e.mode, r.mode))


def relative(estimate: str | Key, reference: str | Key) -> bool:
    """One is the relative minor/major of the other (same key signature): C major, A minor."""
    e, r = parse_key(estimate), parse_key(reference)
    if None in (e.mode, r.mode) or e.mode == r.mode:
        return False
    major, minor = (e, r) if e.mode == "major" else (r, e)
    return (major.tonic - minor.tonic) % 12 == 3


def parallel(estimate: str | Key, reference: str | Key) -> bool:
    """Same tonic, other mode: A major and A minor."""
    e, r = parse_key(estimate), parse_key(reference)
    return e.tonic == r.tonic and None not in (e.mode, r.mode) and e.mode != r.mode


def _fifth(estimate: str | Key, reference: str | Key, steps: int) -> bool:
    e, r = parse_key(estimate), parse_key(reference)
    return e.mode is not None and e.mode == r.mode and (e.tonic - r.tonic) % 12 == steps


def dominant(estimate: str | Key, reference: str | Key) -> bool:
    """The estimate is the key a fifth above the reference, same mode: G major of C major."""
    return _fifth(estimate, reference, 7)


def subdominant(estimate: str | Key, reference: str | Key) -> bool:
    """The estimate is the key a fifth below the reference, same mode: F major of C major."""
    return _fifth(estimate, reference, 5)


def key_relation(estimate: str | Key, reference: str | Key) -> KeyRelation:
    """The closest relation of two keys, in the order of ``mir_eval.key.weighted_score``."""
    relations: tuple[tuple[KeyRelation, Callable[[str | Key, str | Key], bool]], ...] = (
        ("same", same_key),
        ("dominant", dominant),
        ("relative", relative),
        ("parallel", parallel),
        ("subdominant", subdominant),
    )
    for name, test in relations:
        if test(estimate, reference):
            return name
    return "unrelated"


def key_score(
    estimate: str | Key, reference: str | Key, allow_descending_fifths: bool = False
) -> float:
    """The MIREX weighted key score, computed by ``mir_eval.key.weighted_score``: 1 same,
    0.5 dominant (and subdominant when ``allow_descending_fifths``), 0.3 relative,
    0.2 parallel, else 0. Both keys need a mode."""
    e, r = parse_key(estimate), parse_key(reference)
    if allow_descending_fifths and subdominant(e, r):
        return 0.5
    return float(mir_eval.key.weighted_score(r.mir_eval_label(), e.mir_eval_label()))


# --- chords --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chord:
    root: int | None  # pitch class; None for "N" (no chord) and "X" (unknown)
    quality: str  # Harte shorthand ("maj", "min7"); "" for "N"/"X" and interval-only labels
    bass: int  # semitones from the root to the bass note


def validate_chord(label: str) -> None:
    """A chord label in Harte syntax, as ``mir_eval.chord`` reads it ("A:min7", "C/3", "N")."""
    try:
        mir_eval.chord.validate_chord_label(label)
    except (mir_eval.chord.InvalidChordException, TypeError):
        raise ValueError(f"not a Harte chord label: {label!r} (expected e.g. A:min7)") from None


def parse_chord(label: str) -> Chord:
    """Root, quality and bass of a Harte label: ``parse_chord("G:7/3") == Chord(7, "7", 4)``."""
    validate_chord(label)
    if label in NO_CHORDS:
        return Chord(None, "", 0)
    root, quality, _, bass = mir_eval.chord.split(label)
    return Chord(
        mir_eval.chord.pitch_class_to_semitone(root),
        quality,
        mir_eval.chord.scale_degree_to_semitone(bass) % 12,
    )


def chord_root(label: str) -> int | None:
    return parse_chord(label).root


def to_harte(chord: str) -> str:
    """A Harte label for a Harte label (kept) or a lead-sheet symbol (converted): "Am7" ->
    "A:min7", "F#m7b5" -> "F#:hdim7", "C/E" -> "C/3", "Bbmaj7" -> "Bb:maj7"."""
    if not isinstance(chord, str):
        raise ValueError(f"not a chord: {chord!r}")
    text = chord.strip().replace("♯", "#").replace("♭", "b")
    m = _SYMBOL.match(text)
    quality = _SYMBOL_QUALITY.get(m.group(2)) if m else None
    if m is None or quality is None:  # not a symbol: it must be a Harte label already
        try:
            validate_chord(text)
        except ValueError:
            raise ValueError(
                f"not a chord symbol or Harte label: {chord!r} (e.g. Am7, C/E, A:min7)"
            ) from None
        return text
    # a symbol (only bare roots like "C" read as both, the same chord either way); built
    # from Harte qualities and degrees, so valid without asking mir_eval (its import is
    # a second: measuring a song's chords should not pay it)
    root, bass = m.group(1), m.group(3)
    label = root if quality == "maj" else f"{root}:{quality}"
    if bass:
        label += "/" + _DEGREES[(pitch_class(bass) - pitch_class(root)) % 12]
    return label


@lru_cache(maxsize=4096)
def _encode(label: str) -> tuple[int, tuple[int, ...]]:
    validate_chord(label)
    root, bitmap, _ = mir_eval.chord.encode(label)
    return int(root), tuple(int(x) for x in bitmap)


def majmin(label: str) -> str | None:
    """The maj/min reduction mir_eval's ``majmin`` scores: "A:min7" -> "A:min", "G:7/3" ->
    "G:maj", "N" -> "N"; ``None`` outside that vocabulary (dim, aug, sus, "X")."""
    if label == "N":
        return "N"
    root, bitmap = _encode(label)
    if root < 0:
        return None
    name = mir_eval.chord.split(label)[0]
    return {_MAJ: f"{name}:maj", _MIN: f"{name}:min"}.get(bitmap[:8])


def same_root(estimate: str, reference: str) -> bool:
    """Both chords have the same root (C:maj and B#:min7 do; "N" and "X" have none)."""
    e, r = chord_root(estimate), chord_root(reference)
    return e is not None and e == r


def same_triad(estimate: str, reference: str) -> bool:
    """Same root and triad (up to the fifth), as ``mir_eval.chord.triads`` compares them:
    A:min7 is A:min, B:hdim7 is B:dim, C:sus4 is not C:maj."""
    validate_chord(estimate)
    validate_chord(reference)
    score = mir_eval.chord.triads([reference], [estimate])[0]
    return bool(score == 1.0)


def same_majmin(estimate: str, reference: str) -> bool:
    """Both chords reduce to the same maj/min chord (see `majmin`); chords outside that
    vocabulary are never the same."""
    e, r = majmin(estimate), majmin(reference)
    return e is not None and r is not None and same_triad(e, r)


def chords_found(said: Sequence[str], heard: Iterable[str]) -> list[bool]:
    """For each chord said, whether a chord heard has its root and triad (`same_triad`);
    "N" and "X" among the heard chords match nothing."""
    pool = [c for c in dict.fromkeys(heard) if c not in NO_CHORDS]
    for label in [*said, *pool]:
        validate_chord(label)
    if not pool:
        return [False] * len(said)
    return [bool(np.any(mir_eval.chord.triads(pool, [s] * len(pool)) == 1.0)) for s in said]


def same_progression(
    estimate: Sequence[str], reference: Sequence[str], transposed: bool = False
) -> bool:
    """Chord by chord the same roots and triads (`same_triad`); with ``transposed``, the same
    up to one transposition of the whole progression (C G Am F is D A Bm G)."""
    e, r = [_encode(c) for c in estimate], [_encode(c) for c in reference]
    if len(e) != len(r):
        return False
    for shift in range(12) if transposed else (0,):
        if all(
            ea[1][:8] == ra[1][:8]
            and (ea[0] < 0) == (ra[0] < 0)
            and (ea[0] < 0 or (ea[0] - ra[0] - shift) % 12 == 0)
            for ea, ra in zip(e, r, strict=True)
        ):
            return True
    return False


# --- tempo ---------------------------------------------------------------------------------


def validate_tempo(bpm: float) -> None:
    """A tempo: a finite number of beats per minute above 0."""
    if isinstance(bpm, bool) or not isinstance(bpm, numbers.Real) or not 0 < bpm < math.inf:
        raise ValueError(f"not a tempo: {bpm!r} (expected a finite BPM above 0)")


def tempo_ratio(estimate: float, reference: float) -> float:
    """``estimate / reference``: 2.0 is double time, 0.5 half time."""
    validate_tempo(estimate)
    validate_tempo(reference)
    return estimate / reference


def tempo_factor(
    estimate: float,
    reference: float,
    factors: Iterable[float] = (1.0,),
    tolerance: float = TEMPO_TOLERANCE,
) -> float | None:
    """The first of ``factors`` with ``|estimate - f * reference| <= tolerance * f * reference``
    (the MIREX rule), or ``None``."""
    validate_tempo(estimate)
    validate_tempo(reference)
    if not 0 <= tolerance < 1:
        raise ValueError(f"tempo tolerance must be in [0, 1), not {tolerance!r}")
    return next(
        (f for f in factors if abs(estimate - f * reference) <= tolerance * f * reference), None
    )


def tempo_matches(
    estimate: float,
    reference: float,
    tolerance: float = TEMPO_TOLERANCE,
    octave: bool = False,
    dotted: bool = False,
) -> bool:
    """Within ``tolerance`` of the reference; with ``octave`` also of half or double it, with
    ``dotted`` also of 3:2 or 2:3 of it."""
    factors = (1.0, *(OCTAVE_FACTORS if octave else ()), *(DOTTED_FACTORS if dotted else ()))
    return tempo_factor(estimate, reference, factors, tolerance) is not None


# --- meter ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Meter:
    numerator: int
    denominator: int
    beats_per_bar: int  # felt beats: 2 in 6/8, 3 in 3/4
    compound: bool  # beats divide in three (6/8, 9/8, 12/8, 6/4)


_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)
_METER = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$")


def validate_meter(text: str) -> None:
    """A time signature "N/D": N from 1 to 32, D a power of two from 1 to 64."""
    m = _METER.match(text) if isinstance(text, str) else None
    if m is None or not 1 <= int(m.group(1)) <= 32 or int(m.group(2)) not in _DENOMINATORS:
        raise ValueError(f"not a time signature: {text!r} (expected e.g. 4/4, 6/8)")


def parse_meter(text: str) -> Meter:
    """``parse_meter("6/8") == Meter(6, 8, beats_per_bar=2, compound=True)``."""
    validate_meter(text)
    m = _METER.match(text)
    assert m is not None  # validated
    num, den = int(m.group(1)), int(m.group(2))
    compound = num > 3 and num % 3 == 0
    return Meter(num, den, num // 3 if compound else num, compound)


def same_meter(estimate: str, reference: str) -> bool:
    """Same time signature (6/8 is not 3/4, nor 12/8)."""
    e, r = parse_meter(estimate), parse_meter(reference)
    return (e.numerator, e.denominator) == (r.numerator, r.denominator)
