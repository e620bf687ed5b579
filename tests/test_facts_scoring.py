"""Scoring of systems that measure only some facts (the raw-library and madmom baselines
of benchmarks/facts_accuracy.py): what a system does not measure is not scored, a miss
scores 0, and meter is compared as beats per bar (and, apart, as the same signature)."""

from __future__ import annotations

import pytest

from musicflamingo.facts.scoring import Estimate, Truth, mean_scores, score

BEATS = [i * 0.5 for i in range(40)]  # 120 BPM for 20 s
TRUTH = Truth(
    name="t",
    duration=20.0,
    meter="6/8",
    tempo_bpm=120.0,
    beats=BEATS,
    downbeats=BEATS[::2],
    key="D major",
    chords=[(0.0, 10.0, "D:maj"), (10.0, 20.0, "A:maj")],
    sections=[(0.0, 10.0, "A"), (10.0, 20.0, "B")],
)


def test_unmeasured_facts_are_not_scored() -> None:
    s = score(Estimate(tempo_bpm=120.0, beats=BEATS, key="D major"), TRUTH)
    assert (s["tempo_acc1"], s["beat_f"], s["key_weighted"]) == (1.0, 1.0, 1.0)
    for metric in ("downbeat_f", "meter", "meter_exact", "chord_majmin", "section_f_3"):
        assert s[metric] is None, metric


def test_a_measured_miss_scores_zero() -> None:
    s = score(Estimate(beats=[], downbeats=[], meter="", key="", chords=[], sections=[]), TRUTH)
    assert s["beat_f"] == s["downbeat_f"] == s["meter"] == s["key_weighted"] == 0.0
    assert s["chord_majmin"] == s["section_f_3"] == s["tempo_acc2"] == 0.0


@pytest.mark.parametrize(
    ("estimate", "meter", "exact"),
    [
        (Estimate(meter="6/8"), 1.0, 1.0),
        (Estimate(meter="2/4"), 1.0, 0.0),  # two beats a bar, another signature
        (Estimate(meter="3/4"), 0.0, 0.0),
        (Estimate(beats_per_bar=2), 1.0, None),  # a tracker that only counts beats
        (Estimate(beats_per_bar=3), 0.0, None),
    ],
)
def test_meter_is_beats_per_bar(estimate: Estimate, meter: float, exact: float | None) -> None:
    s = score(estimate, TRUTH)
    assert (s["meter"], s["meter_exact"]) == (meter, exact)


@pytest.mark.parametrize(
    ("beats_per_bar", "expected"),
    [(2, 1.0), (4, 1.0), (1, 1.0), (3, 0.0), (6, 0.0), (0, 0.0)],
)
def test_meter_2x_allows_the_neighbouring_bar_level(beats_per_bar: int, expected: float) -> None:
    s = score(Estimate(beats_per_bar=beats_per_bar), TRUTH)  # the truth: 6/8, two beats
    assert s["meter_2x"] == expected
    assert s["meter"] == float(beats_per_bar == 2)


def test_means_skip_unscored_pieces() -> None:
    rows = [{"meter": 1.0, "key_weighted": None}, {"meter": 0.0, "key_weighted": None}]
    assert mean_scores(rows) == {"meter": 0.5}


def test_a_piece_of_one_section_has_no_boundary_to_score() -> None:
    one = TRUTH.model_copy(update={"sections": [(0.0, 20.0, "A")]})
    s = score(Estimate(sections=[(0.0, 8.0, "A"), (8.0, 20.0, "B")]), one)
    assert s["section_f_3"] is None and s["section_f_0.5"] is None
    assert (
        score(Estimate(sections=[(0.0, 10.0, "A"), (10.0, 20.0, "B")]), TRUTH)["section_f_3"] == 1.0
    )


def test_section_labels_are_scored_by_repeats_and_by_name() -> None:
    """Pairwise/NCE F ask which parts repeat, whatever their names; section_names asks
    for the same part names, only where the truth names verse and chorus."""
    song = [(0.0, 4.0, "intro"), (4.0, 12.0, "verse"), (12.0, 20.0, "chorus")]
    song += [(20.0, 28.0, "verse"), (28.0, 36.0, "chorus")]
    named = TRUTH.model_copy(update={"sections": song, "duration": 36.0})
    letters = [(a, b, {"verse": "A", "chorus": "B"}.get(x, x)) for a, b, x in song]
    same = score(Estimate(sections=song), named)
    assert same["section_pairwise_f"] == same["section_nce_f"] == same["section_names"] == 1.0
    by_letter = score(Estimate(sections=letters), named)
    assert by_letter["section_pairwise_f"] == 1.0 and by_letter["section_names"] == 4 / 36
    swapped = [(a, b, {"verse": "chorus", "chorus": "verse"}.get(x, x)) for a, b, x in song]
    assert score(Estimate(sections=swapped), named)["section_names"] == 4 / 36
    # letters in the truth (intro A B A B): repeats are scored, names are not
    lettered = named.model_copy(update={"sections": letters})
    s = score(Estimate(sections=song), lettered)
    assert s["section_pairwise_f"] == 1.0 and s["section_names"] is None


def test_key_per_section_is_scored_per_second() -> None:
    """A modulation to the dominant from 12 s: truth per section, scored with MIREX weights."""
    truth = TRUTH.model_copy(update={"keys": [(0.0, 12.0, "D major"), (12.0, 20.0, "A major")]})
    found = [(0.0, 11.0, "D major"), (11.0, 20.0, "A major")]
    assert score(Estimate(key="D major", keys=found), truth)["key_sections"] == pytest.approx(
        (11 + 1 * 0.5 + 8) / 20  # the second before the change is a fifth off: 0.5
    )
    # one key all through (a system without key spans, or no modulation found): D major
    # against A major scores 0 (MIREX gives 0.5 only to an estimate a fifth above)
    assert score(Estimate(key="D major"), truth)["key_sections"] == pytest.approx(12 / 20)
    assert score(Estimate(key=""), truth)["key_sections"] == 0.0
    assert score(Estimate(), truth)["key_sections"] is None  # key not measured
    assert score(Estimate(key="D major"), TRUTH)["key_sections"] is None  # no truth per section
