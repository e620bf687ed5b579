"""The step verifier on single steps: each kind of claim, true and false, and the
wordings that must not be read as claims."""

from __future__ import annotations

import pytest

from musicflamingo.facts.schema import Section
from musicflamingo.think.verify import check_step, check_trace, split_steps

INSTRUMENTS = ["Acoustic Grand Piano", "Electric Bass (finger)", "Violin", "drums"]


def verdict(step, facts, instruments=INSTRUMENTS):
    return check_step(step, facts, instruments).verdict


def test_steps_are_list_items_or_sentences_and_numbers_stay_whole():
    text = (
        "1. The pulse is 120 BPM. It sits in D major.\n"
        "- At 0:32 the B section starts (approx. 1:04 later it ends)."
    )
    assert split_steps(text) == [
        "The pulse is 120 BPM.",
        "It sits in D major.",
        "At 0:32 the B section starts (approx. 1:04 later it ends).",
    ]
    assert split_steps(["  one step ", "", "two"]) == ["one step", "two"]


@pytest.mark.parametrize(
    ("step", "expected", "reason"),
    [
        ("The pulse sits around 121 BPM.", "ok", None),
        ("The tempo settles at 118 and never moves.", "ok", None),
        ("It races at 140 beats per minute.", "wrong", "tempo_mismatch"),
        ("It feels like 60 BPM, half time.", "wrong", "tempo_half_double"),
        ("Everything resolves to the key of D major.", "ok", None),
        ("The tonal centre is clearly D major.", "ok", None),
        ("The tonal centre is clearly B minor.", "wrong", "key_mismatch"),  # relative
        ("It is firmly in D minor.", "wrong", "key_mismatch"),  # parallel
        ("The minor mode colours each phrase.", "wrong", "mode_mismatch"),
        ("The major tonality is bright.", "ok", None),
        ("A B minor chord darkens the third bar.", "ok", None),  # a chord, not the key
        ("The bars fall in 3/4.", "wrong", "meter_mismatch"),
        ("I count four beats per bar.", "ok", None),
        ("It is in triple meter.", "wrong", "meter_mismatch"),
        ("The progression D – A – Bm7 – G keeps turning.", "ok", None),
        ("The progression D – G – A keeps turning.", "wrong", "progression_not_played"),
        ("An F#m chord answers it.", "wrong", "chord_not_in_song"),
        ("Listening through, it falls into three sections.", "ok", None),
        ("I hear five distinct parts.", "wrong", "section_count_mismatch"),
        ("Around 0:32 the B section begins.", "ok", None),
        ("The B section arrives at 1:10.", "wrong", "section_time_mismatch"),
        ("The A section returns twice.", "ok", None),
        ("The C section enters at 0:40.", "wrong", "section_unknown"),
        ("A violin carries the tune.", "ok", None),
        ("A saxophone carries the tune.", "wrong", "instrument_not_heard"),
        ("There is no saxophone here, only piano.", "ok", None),
        ("A lead vocal enters over the band.", "ok", None),
        ("It is purely instrumental.", "wrong", "vocals_mismatch"),
        ('The voice sings "how I wonder what you are" softly.', "ok", None),
        (
            'The voice sings "how I ponder where the river goes" softly.',
            "wrong",
            "lyric_not_in_transcript",
        ),
        ("Something happens at 3:40.", "wrong", "time_out_of_range"),
        ("The mood is warm and unhurried.", "unverifiable", None),
        ("It sits comfortably in common time.", "ok", None),
        ("It turns gently in waltz time.", "wrong", "meter_mismatch"),
        ("The piece runs 48 bars.", "ok", None),
        ("The piece runs 20 bars.", "wrong", "bar_count_mismatch"),
    ],
)
def test_each_kind_of_claim(facts, step, expected, reason):
    check = check_step(step, facts, INSTRUMENTS)
    assert check.verdict == expected, check.claims
    if reason:
        assert reason in check.reasons


@pytest.mark.parametrize(
    ("step", "expected", "reason"),
    [
        ("Around 0:32 the chorus section begins.", "ok", None),
        ("The Chorus part arrives at 1:10.", "wrong", "section_time_mismatch"),
        ("The verse section returns twice.", "ok", None),
        ("The bridge section enters at 0:40.", "wrong", "section_unknown"),
        ("Around 0:32 the B section begins.", "ok", None),  # the repetition letter
    ],
)
def test_functional_section_names(facts, step, expected, reason):
    """Sections named verse/chorus are checked by their names and by their letters."""
    named = facts.model_copy(
        update={
            "sections": [
                Section(start=0, end=32, label="verse", group="A"),
                Section(start=32, end=64, label="chorus", group="B"),
                Section(start=64, end=96, label="verse", group="A"),
            ]
        }
    )
    check = check_step(step, named, INSTRUMENTS)
    assert check.verdict == expected, check.claims
    if reason:
        assert reason in check.reasons


def test_instruments_unknown_leave_the_claim_unverifiable(facts):
    assert verdict("A saxophone carries the tune.", facts, None) == "unverifiable"


def test_unmeasured_facts_are_unverifiable_not_wrong(facts):
    bare = facts.model_copy(update={"tempo": None, "key": None, "lyrics": None})
    check = check_step('At 90 BPM in F minor we hear "a b c d".', bare)
    assert check.verdict == "unverifiable"
    assert {c.reason for c in check.claims} >= {
        "tempo_unmeasured",
        "key_unmeasured",
        "lyrics_unmeasured",
    }


def test_a_trace_gets_a_verdict_per_step(facts):
    checks = check_trace(["The pulse is 120 BPM.", "It is in 6/8.", "The mood is calm."], facts)
    assert [c.verdict for c in checks] == ["ok", "wrong", "unverifiable"]


@pytest.mark.parametrize(
    "step",
    [
        "The riff repeats over four bars before it turns.",  # a phrase, not the song's length
        "The first two sections share one melody.",  # not a section count
        "The four parts move against each other in counterpoint.",  # voices, not sections
        "There is no saxophone here; the piano leads.",
        "The saxophone is absent; the violin leads.",
        "A chord borrowed from D minor shades the cadence.",  # harmony, not the key
        "It has a synth-pop sheen.",  # a genre, not a synthesizer
    ],
)
def test_words_that_look_like_claims_but_are_not_are_not_wrong(facts, step):
    check = check_step(step, facts, INSTRUMENTS)
    assert check.verdict != "wrong", check.claims


def test_a_metaphorical_singing_instrument_is_not_a_vocal_claim(facts):
    instrumental = facts.model_copy(
        update={"vocals": facts.vocals.model_copy(update={"present": False})}
    )
    assert verdict("The violin sings over the accompaniment.", instrumental) == "ok"
    assert verdict("A lead vocal enters over the band.", instrumental) == "wrong"
