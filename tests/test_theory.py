"""musicflamingo.theory: parsing, relations, and agreement with mir_eval's own scoring."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import mir_eval
import numpy as np
import pytest

from musicflamingo import theory
from musicflamingo.facts.scoring import tempo_accuracy
from musicflamingo.theory import Chord, Key, Meter

SRC = Path(__file__).resolve().parents[1] / "src" / "musicflamingo"

# --- pitch classes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "pc"),
    [
        ("C", 0),
        ("c", 0),
        (" G ", 7),
        ("C#", 1),
        ("Db", 1),
        ("C♯", 1),
        ("D♭", 1),
        ("B#", 0),
        ("Cb", 11),
        ("E#", 5),
        ("Fb", 4),
        ("F𝄪", 7),
        ("B𝄫", 9),
        ("Ebb", 2),
        ("bb", 10),
        ("F sharp", 6),
        ("B-flat", 10),
        ("Gsharp", 8),
    ],
)
def test_pitch_class(name: str, pc: int) -> None:
    assert theory.pitch_class(name) == pc


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("C#", "Db", True),
        ("E#", "F", True),
        ("B#", "C", True),
        ("Cb", "B", True),
        ("C", "C#", False),
    ],
)
def test_enharmonic(a: str, b: str, same: bool) -> None:
    assert theory.enharmonic(a, b) is same
    assert theory.enharmonic(b, a) is same


@pytest.mark.parametrize("bad", ["", " ", "H", "C$", "C4", "sharp", "#C", "Cm", 5, None])
def test_invalid_note_names_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="not a note name"):
        theory.pitch_class(bad)  # type: ignore[arg-type]


# --- keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("G minor", Key(7, "minor")),
        ("g minor", Key(7, "minor")),
        ("F# major", Key(6, "major")),
        ("F sharp minor", Key(6, "minor")),
        ("E flat major", Key(3, "major")),
        ("Bbm", Key(10, "minor")),
        ("Am", Key(9, "minor")),
        ("AM", Key(9, "major")),
        ("A:min", Key(9, "minor")),
        ("C#:maj", Key(1, "major")),
        ("Db Major", Key(1, "major")),
        ("D dorian", Key(2, "minor")),
        ("G mixolydian", Key(7, "major")),
        ("Eb", Key(3, None)),
        ("B", Key(11, None)),
        (Key(4, "minor"), Key(4, "minor")),
    ],
)
def test_parse_key(text: str, key: Key) -> None:
    assert theory.parse_key(text) == key


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("", "not a key"),
        ("H minor", "not a key"),
        ("minor", "not a key"),
        ("Bmoll", "unknown mode"),
        ("C minr", "unknown mode"),
        ("C major minor", "not a key"),
        ("A minor key", "not a key"),
        ("X", "not a key"),
        (7, "not a key"),
    ],
)
def test_invalid_keys_are_refused(bad: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        theory.validate_key(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        theory.key_relation(bad, "C major")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("major", "minor"),
    [("C major", "A minor"), ("Eb major", "C minor"), ("D# major", "C minor"), ("A", "F#m")],
)
def test_relative_keys_both_directions(major: str, minor: str) -> None:
    if theory.parse_key(major).mode is None:  # a key without a mode has no relative
        assert not theory.relative(major, minor) and not theory.relative(minor, major)
        return
    assert theory.relative(major, minor) and theory.relative(minor, major)
    assert theory.key_relation(major, minor) == theory.key_relation(minor, major) == "relative"


def test_relations_that_do_not_hold() -> None:
    assert not theory.relative("A major", "C minor")  # A major's relative is F# minor
    assert not theory.relative("C major", "A major")  # same mode
    assert not theory.parallel("C major", "C major")
    assert not theory.parallel("C", "C minor")  # no mode written: not a parallel claim
    assert not theory.dominant("C major", "G major")  # C is G's subdominant
    assert not theory.dominant("E major", "A minor")  # a fifth above, other mode
    assert theory.key_relation("F# minor", "A minor") == "unrelated"


def test_parallel_dominant_subdominant() -> None:
    assert theory.parallel("A major", "A minor") and theory.parallel("A minor", "A major")
    assert theory.parallel("Gb major", "F# minor")  # enharmonic tonic
    assert theory.dominant("G major", "C major") and theory.dominant("E minor", "A minor")
    assert theory.subdominant("F major", "C major") and theory.subdominant("D minor", "A minor")
    assert theory.key_relation("G major", "C major") == "dominant"
    assert theory.key_relation("C major", "G major") == "subdominant"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("F# major", "Gb major", True),
        ("Cb major", "B major", True),
        ("A#m", "Bb minor", True),
        ("A", "A minor", True),  # a key without a mode states only its tonic
        ("A", "A major", True),
        ("A", "A", True),
        ("A major", "A minor", False),
        ("A", "E minor", False),
    ],
)
def test_same_key_is_enharmonic(a: str, b: str, same: bool) -> None:
    assert theory.same_key(a, b) is same and theory.same_key(b, a) is same
    assert (theory.key_relation(a, b) == "same") is same


_KEYS_24 = [f"{t} {m}" for t in theory.SHARPS for m in ("major", "minor")]
_SCORE = {
    "same": 1.0,
    "dominant": 0.5,
    "relative": 0.3,
    "parallel": 0.2,
    "subdominant": 0.0,
    "unrelated": 0.0,
}


def test_key_score_and_relations_agree_with_mir_eval_on_all_pairs() -> None:
    flats = {"C#": "Db", "D#": "Eb", "F#": "Gb", "G#": "Ab", "A#": "Bb"}
    for est, ref in itertools.product(_KEYS_24, repeat=2):
        expected = mir_eval.key.weighted_score(ref, est)
        tonic, mode = est.split()
        respelled = f"{flats.get(tonic, tonic)} {mode}"
        assert theory.key_score(est, ref) == expected, (est, ref)
        assert theory.key_score(respelled, ref) == expected, (respelled, ref)
        assert _SCORE[theory.key_relation(est, ref)] == expected, (est, ref)


def test_key_score_beyond_mir_eval_spellings_and_descending_fifths() -> None:
    assert theory.key_score("Cb major", "B major") == 1.0  # mir_eval.key cannot read Cb
    assert theory.key_score("E#m", "F minor") == 1.0
    assert theory.key_score("F major", "C major") == 0.0
    assert theory.key_score("F major", "C major", allow_descending_fifths=True) == 0.5
    assert theory.key_score("G major", "C major", allow_descending_fifths=True) == 0.5
    with pytest.raises(ValueError, match="has no mode"):
        theory.key_score("C", "C major")


# --- chords --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "chord"),
    [
        ("G:7/3", Chord(7, "7", 4)),
        ("Bb:min7", Chord(10, "min7", 0)),
        ("C", Chord(0, "maj", 0)),
        ("C/5", Chord(0, "maj", 7)),
        ("A:(3)/6", Chord(9, "", 9)),
        ("N", Chord(None, "", 0)),
        ("X", Chord(None, "", 0)),
    ],
)
def test_parse_chord(label: str, chord: Chord) -> None:
    assert theory.parse_chord(label) == chord
    assert theory.chord_root(label) == chord.root


@pytest.mark.parametrize("bad", ["", "Am", "A:foo", "H:maj", "C/E", "c:maj", None])
def test_invalid_harte_labels_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="not a Harte chord label"):
        theory.parse_chord(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("chord", "harte"),
    [
        ("C", "C"),
        ("Cmaj", "C"),
        ("Am", "A:min"),
        ("Amin", "A:min"),
        ("A-7", "A:min7"),
        ("Am7", "A:min7"),
        ("E7", "E:7"),
        ("Bbmaj7", "Bb:maj7"),
        ("E♭m", "Eb:min"),
        ("F♯m7b5", "F#:hdim7"),
        ("Bø", "B:hdim7"),
        ("C°7", "C:dim7"),
        ("Caug", "C:aug"),
        ("Csus", "C:sus4"),
        ("Cadd9", "C:maj(9)"),
        ("C5", "C:5"),
        ("C/E", "C/3"),
        ("G7/B", "G:7/3"),
        ("D/F#", "D/3"),
        ("A:min7", "A:min7"),
        ("C/3", "C/3"),
        ("N", "N"),
    ],
)
def test_to_harte(chord: str, harte: str) -> None:
    assert theory.to_harte(chord) == harte
    theory.validate_chord(harte)


def test_every_symbol_quality_builds_a_valid_harte_label() -> None:
    """to_harte builds a symbol's label without asking mir_eval (whose import costs a
    second on every analysed song): every quality it knows, with any bass, must be valid."""
    for suffix in theory._SYMBOL_QUALITY:
        for symbol in (f"C{suffix}", f"F#{suffix}/A", f"Bb{suffix}/D", f"E{suffix}/Eb"):
            theory.validate_chord(theory.to_harte(symbol))


@pytest.mark.parametrize("bad", ["", "H7", "Cfoo", "C/H", "am", "A:foo", 3])
def test_unreadable_chord_symbols_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="not a chord"):
        theory.to_harte(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("label", "reduced"),
    [
        ("A:min7", "A:min"),
        ("G:7/3", "G:maj"),
        ("C:maj6", "C:maj"),
        ("Bb:maj7", "Bb:maj"),
        ("C", "C:maj"),
        ("N", "N"),
        ("B:dim", None),
        ("B:hdim7", None),
        ("C:sus4", None),
        ("C:aug", None),
        ("X", None),
    ],
)
def test_majmin_reduction(label: str, reduced: str | None) -> None:
    assert theory.majmin(label) == reduced


_LABELS = [
    "C",
    "C:maj7",
    "C:min",
    "B#:min7",
    "C:sus4",
    "C:dim",
    "C:hdim7",
    "C:aug",
    "Db:maj",
    "C#:7",
    "A:min/b3",
    "N",
    "X",
]


def test_chord_comparisons_agree_with_mir_eval() -> None:
    for est, ref in itertools.product(_LABELS, repeat=2):
        triads = mir_eval.chord.triads([ref], [est])[0]
        majmin = mir_eval.chord.majmin([ref], [est])[0]
        assert theory.same_triad(est, ref) is bool(triads == 1.0), (est, ref)
        assert theory.same_majmin(est, ref) is bool(majmin == 1.0), (est, ref)


def test_chord_relations() -> None:
    assert theory.same_triad("A:min7", "A:min") and theory.same_triad("B:hdim7", "B:dim")
    assert not theory.same_triad("C:sus4", "C:maj") and not theory.same_triad("C:min", "C")
    assert theory.same_triad("Db:maj", "C#:maj7")
    assert theory.same_root("C:maj", "B#:min7") and not theory.same_root("N", "N")
    assert not theory.same_majmin("B:dim", "B:dim")  # outside the maj/min vocabulary
    with pytest.raises(ValueError):
        theory.same_triad("Am", "A:min")


def test_chords_found() -> None:
    heard = ["A:min7", "F:maj", "C:maj", "N", "X"]
    said = ["A:min", "F:maj7", "C:sus4", "E:7", "Gb:maj"]
    assert theory.chords_found(said, heard) == [True, True, False, False, False]
    assert theory.chords_found(["F#:maj"], ["Gb:maj7"]) == [True]
    assert theory.chords_found(["C"], ["N", "X"]) == [False]
    assert theory.chords_found([], heard) == []
    with pytest.raises(ValueError):
        theory.chords_found(["Am"], heard)


def test_same_progression() -> None:
    pop, in_d = ["C", "G", "A:min", "F"], ["D", "A", "B:min7", "G"]
    assert theory.same_progression(pop, ["C:maj7", "G:7", "A:min7", "F"])
    assert not theory.same_progression(pop, in_d)
    assert theory.same_progression(pop, in_d, transposed=True)
    assert not theory.same_progression(pop, ["D", "A", "B:maj", "G"], transposed=True)
    assert not theory.same_progression(pop, pop[:3], transposed=True)
    assert theory.same_progression(["N", "C"], ["N", "D"], transposed=True)
    assert not theory.same_progression(["N", "C"], ["C", "N"], transposed=True)


# --- tempo ---------------------------------------------------------------------------------


def test_one_tempo_tolerance_in_the_package() -> None:
    homes = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if re.search(r"^TEMPO_TOLERANCE\s*=", p.read_text(), re.MULTILINE)
    ]
    assert homes == ["theory.py"] and theory.TEMPO_TOLERANCE == 0.04


@pytest.mark.parametrize(
    ("est", "ref", "plain", "octave", "dotted"),
    [
        (100, 100, True, True, True),
        (104, 100, True, True, True),  # the window's edge is inside, as in MIREX
        (96, 100, True, True, True),
        (104.5, 100, False, False, False),
        (95.9, 100, False, False, False),
        (200, 100, False, True, False),
        (50, 100, False, True, False),
        (207, 100, False, True, False),
        (150, 100, False, False, True),
        (200 / 3, 100, False, False, True),
        (300, 100, False, False, False),
    ],
)
def test_tempo_matches(est: float, ref: float, plain: bool, octave: bool, dotted: bool) -> None:
    assert theory.tempo_matches(est, ref) is plain
    assert theory.tempo_matches(est, ref, octave=True) is octave
    assert theory.tempo_matches(est, ref, dotted=True) is dotted


def test_tempo_factor_ratio_and_tolerance() -> None:
    assert theory.tempo_ratio(240, 120) == 2.0
    assert theory.tempo_factor(300, 100, theory.ACCURACY2_FACTORS) == 3.0
    assert theory.tempo_factor(34, 100, theory.ACCURACY2_FACTORS) == 1 / 3
    assert theory.tempo_factor(61.5, 120, theory.OCTAVE_FACTORS) == 0.5
    assert theory.tempo_factor(130, 100, theory.ACCURACY2_FACTORS) is None
    assert theory.tempo_matches(109, 100, tolerance=0.1)
    assert not theory.tempo_matches(101, 100, tolerance=0)


def test_tempo_accuracy_uses_the_same_window() -> None:
    for est in np.arange(20.0, 400.0, 0.5):
        acc1, acc2 = tempo_accuracy(float(est), 100.0)
        assert bool(acc1) is theory.tempo_matches(float(est), 100.0)
        factor = theory.tempo_factor(float(est), 100.0, theory.ACCURACY2_FACTORS)
        assert bool(acc2) is (factor is not None)


@pytest.mark.parametrize("bad", [0, -5, math.nan, math.inf, "120", True, None])
def test_invalid_tempi_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="not a tempo"):
        theory.tempo_matches(bad, 120)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a tempo"):
        theory.tempo_ratio(120, bad)  # type: ignore[arg-type]


def test_invalid_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        theory.tempo_matches(120, 120, tolerance=1.5)


# --- meter ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "meter"),
    [
        ("6/8", Meter(6, 8, 2, True)),
        ("9/8", Meter(9, 8, 3, True)),
        ("12/8", Meter(12, 8, 4, True)),
        ("6/4", Meter(6, 4, 2, True)),
        ("3/4", Meter(3, 4, 3, False)),
        ("3/8", Meter(3, 8, 3, False)),
        ("4/4", Meter(4, 4, 4, False)),
        ("2/2", Meter(2, 2, 2, False)),
        ("5/4", Meter(5, 4, 5, False)),
        (" 7 / 8 ", Meter(7, 8, 7, False)),
    ],
)
def test_parse_meter(text: str, meter: Meter) -> None:
    assert theory.parse_meter(text) == meter


@pytest.mark.parametrize("bad", ["", "4", "6/7", "0/4", "33/4", "4/4/4", "a/b", "4/0", None])
def test_invalid_meters_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="not a time signature"):
        theory.parse_meter(bad)  # type: ignore[arg-type]


def test_same_meter() -> None:
    assert theory.same_meter("6 / 8", "6/8")
    assert not theory.same_meter("6/8", "3/4") and not theory.same_meter("6/8", "12/8")


@pytest.mark.parametrize(
    ("pc", "mode", "name"),
    [
        (1, "major", "Db"),
        (1, "minor", "C#"),
        (6, "major", "F#"),
        (8, "minor", "G#"),
        (10, "minor", "Bb"),
        (13, "major", "Db"),
    ],
)
def test_tonic_name_is_the_key_signature_spelling(pc, mode, name) -> None:
    assert theory.tonic_name(pc, mode) == name
    assert theory.pitch_class(name) == pc % 12
