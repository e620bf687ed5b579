"""Loudness meter, chord labels and progression summaries, silence and noise handling."""

from __future__ import annotations

import mir_eval
import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from media import tone

from musicflamingo.facts import harmony
from musicflamingo.facts.dynamics import LoudnessMeter
from musicflamingo.facts.extract import FactsConfig, analyze

NO_LYRICS = FactsConfig(lyrics_model=None)


def test_streaming_loudness_matches_pyloudnorm_on_uneven_blocks():
    sr = 44_100
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, sr * 12)) * np.linspace(0.02, 0.4, sr * 12)
    meter, i = LoudnessMeter(sr), 0
    while i < x.shape[1]:
        n = int(rng.integers(64, 9000))
        meter.feed(x[:, i : i + n].astype(np.float32))
        i += n
    expected = pyloudnorm.Meter(sr).integrated_loudness(x.T)
    assert meter.result().integrated_lufs == pytest.approx(expected, abs=0.05)


def test_loudness_range_of_a_20_db_step():
    sr = 48_000
    rng = np.random.default_rng(2)
    quiet = 0.01 * rng.standard_normal(sr * 20)
    loud = 0.1 * rng.standard_normal(sr * 20)
    meter = LoudnessMeter(sr)
    meter.feed(np.concatenate([quiet, loud])[None, :])
    assert meter.result().range_lu == pytest.approx(20.0, abs=1.0)


@pytest.mark.parametrize(
    ("chordino", "harte"),
    [
        ("C", "C:maj"),
        ("Am", "A:min"),
        ("F#m7", "F#:min7"),
        ("Bb7", "Bb:7"),
        ("C/E", "C:maj/3"),
        ("Am/C", "A:min/b3"),
        ("Bdim", "B:dim"),
        ("Ebmaj7", "Eb:maj7"),
        ("Bm7b5", "B:hdim7"),
        ("N", "N"),
        ("G6", "G:maj6"),
        ("Caug", "C:aug"),
    ],
)
def test_chordino_labels_become_valid_harte(chordino, harte):
    assert harmony.chordino_to_harte(chordino) == harte
    mir_eval.chord.encode(harte)  # raises on invalid syntax
    assert harmony.short_name(harte).replace("Bb", "A#").replace("Eb", "D#") in (
        chordino.replace("Bb", "A#").replace("Eb", "D#"),
        chordino,
    )


def test_progression_summary_folds_cycles():
    cycle = ["A:min", "F:maj", "C:maj", "G:maj"]
    assert harmony.summarize(cycle * 4) == "Am F C G ×4"
    assert harmony.summarize(cycle * 2 + ["D:min", "G:maj", "C:maj"]) == "Am F C G ×2 | Dm G C"
    assert harmony.summarize(["N", "C:maj", "C:maj", "N", "G:7", "A:min7/b3"]) == "C G Am"
    assert harmony.summarize([]) == ""


def test_silence_reports_none_detected(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16_000 * 10, np.float32), 16_000)
    facts = analyze(path, NO_LYRICS)
    assert facts.duration == pytest.approx(10.0)
    assert facts.key is None and facts.tempo is None and facts.meter is None
    assert facts.chords == [] and facts.progression == "" and facts.sections == []
    assert set(facts.undetected) >= {"key", "chords", "tempo", "meter"}
    assert "silence" in facts.undetected["key"]


def test_white_noise_invents_no_key_or_chords(tmp_path):
    path = tmp_path / "noise.flac"
    rng = np.random.default_rng(3)
    sf.write(path, (0.2 * rng.standard_normal(44_100 * 20)).astype(np.float32), 44_100)
    facts = analyze(path, NO_LYRICS)
    assert facts.loudness.integrated_lufs > -30
    assert facts.key is None and facts.chords == [] and facts.progression == ""
    assert facts.tempo is None and facts.meter is None and facts.sections == []
    assert "no tonal" in facts.undetected["key"]


def test_song_with_nan_samples_is_not_silence(tmp_path):
    """Regression: NaN samples reached the loudness meter and the song read as silence."""
    x = tone(8.0, 48_000, 2)
    sf.write(tmp_path / "clean.wav", x.T, 48_000, subtype="FLOAT")
    x[:, ::50_000] = np.nan
    x[1, 70_000] = np.inf
    sf.write(tmp_path / "nan.wav", x.T, 48_000, subtype="FLOAT")
    facts = analyze(tmp_path / "nan.wav", NO_LYRICS)
    clean = analyze(tmp_path / "clean.wav", NO_LYRICS)
    assert facts.loudness.integrated_lufs == pytest.approx(clean.loudness.integrated_lufs, abs=0.1)
    assert not any("silence" in why for why in facts.undetected.values())


def test_a_loud_blip_is_too_short_not_silence(tmp_path):
    """Regression: a 0.1 s tone (shorter than one 0.4 s loudness gating block) read as silence."""
    sf.write(tmp_path / "blip.wav", tone(0.1, 44_100, freq=1000).T, 44_100)
    facts = analyze(tmp_path / "blip.wav", NO_LYRICS)
    assert facts.loudness.peak_dbfs > -12
    assert facts.key is None and facts.tempo is None
    assert all(why.startswith("too short to measure") for why in facts.undetected.values())


@pytest.mark.parametrize(
    ("chordino", "harte"), [("Cmaj", "C:maj"), ("Dmaj7", "D:maj7"), ("Cmaj7#11", "X")]
)
def test_chordino_labels_starting_with_m_are_not_read_as_minor(chordino, harte):
    assert harmony.chordino_to_harte(chordino) == harte
