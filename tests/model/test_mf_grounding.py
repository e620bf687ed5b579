"""Grounded prompt text from measured facts, and the fact check of the model's key facts."""

from __future__ import annotations

import pytest
from mfdata import song_facts

from musicflamingo.facts.schema import Key
from musicflamingo.model import KeyFacts, fact_check, grounded_context, prompts


def test_grounded_context_lists_measured_facts() -> None:
    text = grounded_context(song_facts(200.0))
    assert text.splitlines() == [
        "- tempo: 120.0 BPM (steady)",
        "- key: A minor",
        "- meter: 4/4",
        "- chords: Am F C G ×4",
        "- sections: intro 0:00-0:40 (Am F C G); A 0:40-1:30 (Am F C G); "
        "B 1:30-2:40 (Am F C G); outro 2:40-3:20 (Am F C G)",
        "- vocals: present in 60% of the song",
    ]
    user = prompts.user_text(prompts.CAPTION, grounding=text, think=True)
    assert user.startswith("Signal-analysis measurements") and text in user
    assert user.endswith(prompts.THINK)


def test_grounded_context_skips_missing_facts() -> None:
    facts = song_facts().model_copy(update={"tempo": None, "sections": [], "vocals": None})
    assert "tempo" not in grounded_context(facts) and "sections" not in grounded_context(facts)


def _verdict(aspect: str, **kf: object) -> tuple[str, str]:
    item = next(i for i in fact_check(KeyFacts(**kf), song_facts()).items if i.aspect == aspect)
    return item.verdict, item.note


@pytest.mark.parametrize(
    ("bpm", "verdict"),
    [
        (120, "agrees"),
        (124.5, "agrees"),
        (115.5, "agrees"),
        (125, "contradicts"),
        (240, "half/double"),
        (60, "half/double"),
        (61.5, "half/double"),
        (90, "contradicts"),
    ],
)
def test_tempo(bpm: float, verdict: str) -> None:
    assert _verdict("tempo", bpm=bpm)[0] == verdict


@pytest.mark.parametrize(
    ("key", "verdict"),
    [
        ("A minor", "agrees"),
        ("Am", "agrees"),
        ("C major", "relative"),
        ("A major", "parallel"),
        ("E minor", "fifth"),
        ("D minor", "fifth"),
        ("F# minor", "contradicts"),
        ("A dorian", "agrees"),
        ("G# minor", "contradicts"),
        ("Gb major", "contradicts"),
        ("Bbm", "contradicts"),
    ],
)
def test_key(key: str, verdict: str) -> None:
    assert _verdict("key", key=key)[0] == verdict


@pytest.mark.parametrize(
    ("key", "verdict"),
    [("A", "agrees"), ("C", "contradicts"), ("A:min", "agrees"), ("the usual", "not comparable")],
)
def test_key_as_written(key: str, verdict: str) -> None:
    """Keys as other producers may write them (no normalisation by `KeyFacts`): a key
    without a mode claims only its tonic; an unreadable one is not compared."""
    item = fact_check(KeyFacts.model_construct(key=key), song_facts()).items[0]
    assert item.verdict == verdict


def test_key_fifth_says_which_way() -> None:
    assert _verdict("key", key="E minor") == ("fifth", "a fifth above")
    assert _verdict("key", key="D minor") == ("fifth", "a fifth below")


def test_key_relative_from_major_side() -> None:
    facts = song_facts().model_copy(update={"key": Key(tonic="Eb", mode="major", confidence=1)})
    item = fact_check(KeyFacts(key="C minor"), facts).items[0]
    assert item.verdict == "relative"
    item = fact_check(KeyFacts(key="D# major"), facts).items[0]
    assert item.verdict == "agrees"  # enharmonic spelling


def test_meter_chords_vocals_instruments() -> None:
    check = fact_check(
        KeyFacts(
            meter="3/4", chords=["Am", "F", "C", "E7"], vocals="instrumental", instruments=["piano"]
        ),
        song_facts(),
    )
    got = {i.aspect: i.verdict for i in check.items}
    assert got == {
        "meter": "contradicts",
        "chords": "agrees",
        "vocals": "contradicts",
        "instruments": "not comparable",
    }
    chords = next(i for i in check.items if i.aspect == "chords")
    assert chords.note == "3 of 4 chords measured" and chords.measured == "Am C F G"
    assert [i.aspect for i in check.contradictions] == ["meter", "vocals"]
    assert _verdict("chords", chords=["Dm", "Bb", "Gm"])[0] == "contradicts"
    assert _verdict("vocals", vocals="female lead")[0] == "agrees"


def test_unmeasured_aspects_are_not_compared() -> None:
    facts = song_facts().model_copy(update={"tempo": None, "key": None, "chords": []})
    check = fact_check(KeyFacts(bpm=100, key="C major", chords=["C"]), facts)
    assert {i.verdict for i in check.items} == {"not comparable"}
    assert fact_check(KeyFacts(), song_facts()).items == []


@pytest.mark.parametrize(
    ("meter", "verdict"),
    [("4/4", "agrees"), ("4 / 4", "agrees"), ("2/2", "contradicts"), ("7/5", "not comparable")],
)
def test_meter(meter: str, verdict: str) -> None:
    assert _verdict("meter", meter=meter)[0] == verdict


@pytest.mark.parametrize(
    ("chords", "verdict", "note"),
    [
        (["Am7", "Fmaj7", "C/E", "G7"], "agrees", "4 of 4 chords measured"),
        (["Asus4", "Fsus2", "Csus4"], "contradicts", "0 of 3 chords measured"),  # was "agrees"
        (["A:min", "F", "Cm", "Gm"], "agrees", "2 of 4 chords measured"),
        (["H7", "Am"], "agrees", "1 of 1 chords measured"),
        (["H7", "??"], "not comparable", "unreadable chord names"),
    ],
)
def test_chords_compare_root_and_triad(chords: list[str], verdict: str, note: str) -> None:
    assert _verdict("chords", chords=chords) == (verdict, note)
