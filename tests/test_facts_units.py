"""Loudness meter, chord labels and progression summaries, silence and noise handling."""

from __future__ import annotations

import json

import mir_eval
import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from media import DRUM_INTRO, FIXTURES, applause, tone

from musicflamingo import audio
from musicflamingo.facts import features, harmony
from musicflamingo.facts.dynamics import LoudnessMeter
from musicflamingo.facts.extract import FactsConfig, analyze
from musicflamingo.facts.schema import SILENCE, ChordSegment
from musicflamingo.report import markdown

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


def test_no_beat_or_chord_in_the_silence_around_a_song(tmp_path):
    """A band song cut with 8 s of a quiet room (noise at -80 dBFS) before and after it: no
    beat, downbeat or tempo point in the silence, no chord but "N" there, and the beats, bars
    and tempo in the music are the song's own, 8 s later. (Trackers keep their beat through
    silence, and Chordino's smoothing carries the first chord back to 0 s.)"""
    sr, pad = audio.ANALYSIS_SR, 8.0
    song = audio.load(FIXTURES / "song07_rock_d.ogg", sr).samples[: 30 * sr]
    room = 1e-4 * np.random.default_rng(0).standard_normal(int(pad * sr)).astype(np.float32)
    plain, padded = tmp_path / "plain.wav", tmp_path / "padded.wav"
    sf.write(plain, song, sr)
    sf.write(padded, np.concatenate([room, song, room]), sr)
    ref, found = analyze(plain, NO_LYRICS), analyze(padded, NO_LYRICS)
    start, end = pad - features.SILENCE_MARGIN, pad + 30.0 + features.SILENCE_MARGIN
    assert found.beats[0] >= start and found.beats[-1] <= end
    assert found.downbeats[0] >= start and found.downbeats[-1] <= end
    assert all(start <= p.time <= end for p in found.tempo.curve)
    assert found.chords[0].label == "N" and found.chords[0].end >= pad - 0.3
    assert found.chords[-1].label == "N" and found.chords[-1].start <= pad + 30.3
    assert all(c.label == "N" for c in found.chords if c.end <= pad or c.start >= pad + 30)
    shifted = np.asarray(ref.beats) + pad
    assert mir_eval.beat.f_measure(shifted, np.asarray(found.beats)) >= 0.95
    assert found.tempo.bpm == pytest.approx(ref.tempo.bpm, rel=0.02)
    assert (found.meter.numerator, found.meter.denominator) == (
        ref.meter.numerator,
        ref.meter.denominator,
    )
    bars = np.asarray(ref.downbeats) + pad
    assert mir_eval.beat.f_measure(bars, np.asarray(found.downbeats)) >= 0.95


def test_a_song_with_one_channel_inverted_gets_its_own_facts(tmp_path):
    """Right = -left: the file plays as music, but its mono mix is silence. The facts are
    those of the song (mixed as L - R), and the report says why."""
    sr = audio.ANALYSIS_SR
    song = audio.load(FIXTURES / "song07_rock_d.ogg", sr).samples[: 30 * sr]
    plain, inverted = tmp_path / "plain.wav", tmp_path / "inverted.wav"
    sf.write(plain, song, sr)
    sf.write(inverted, np.stack([song, -song]).T, sr)
    ref, found = analyze(plain, NO_LYRICS), analyze(inverted, NO_LYRICS)
    assert found.source.inverted_channel and not ref.source.inverted_channel
    assert found.key is not None and ref.key is not None and found.key.label == ref.key.label
    assert found.tempo is not None and ref.tempo is not None
    assert found.tempo.bpm == pytest.approx(ref.tempo.bpm, rel=0.02)
    assert mir_eval.beat.f_measure(np.asarray(ref.beats), np.asarray(found.beats)) >= 0.95
    assert "polarity inverted" in markdown.render(found)


def test_silences_are_the_edges_and_long_gaps_not_a_general_pause():
    """Spectral.silences: the quiet before and after the music and a gap of 6 s inside it,
    but not a 1 s general pause (its beat goes on); a file all silent has none."""
    sr = features.SR
    note, gap = tone(4.0, sr)[0], np.zeros(int(6.0 * sr), np.float32)
    pause, edge = np.zeros(sr, np.float32), np.zeros(int(2.0 * sr), np.float32)
    spec = features.spectral(np.concatenate([edge, note, pause, note, gap, note, edge]))
    found = spec.silences
    assert len(found) == 3
    (a0, b0), (a1, b1), (a2, b2) = found
    frame = features.HOP / sr
    assert a0 == 0.0 and b0 == pytest.approx(2.0, abs=0.1)
    assert a1 == pytest.approx(11.0, abs=0.1) and b1 == pytest.approx(17.0, abs=0.1)
    assert a2 == pytest.approx(21.0, abs=0.1) and b2 == pytest.approx(spec.n_frames * frame)
    quiet = spec.in_silence([1.0, 1.95, 6.5, 11.02, 14.0, 19.0, 22.0])
    assert quiet.tolist() == [True, False, False, False, True, False, True]
    assert features.spectral(np.zeros(5 * sr, np.float32)).silences == []
    # the 2 s edges are short (a reverb tail, a breath): only the 6 s gap splits the music
    (s0, e0), (s1, e1) = spec.parts()
    assert s0 == 0.0 and e1 == pytest.approx(spec.n_frames * frame)
    margin = features.SILENCE_MARGIN
    assert e0 == pytest.approx(a1 + margin) and s1 == pytest.approx(b1 - margin)


def test_a_hidden_track_after_a_long_silence_starts_its_own_bars(tmp_path):
    """A song, 7.93 s of silence and the song again (a hidden track): the second copy starts
    18 bars and 2.5 beats after the first, so the first copy's bar count would put its
    downbeats mid-bar and its beats between the beats. Each copy gets its own beats and bars,
    and its own sections: the silence is one, and the second copy repeats the first's letters."""
    sr = audio.ANALYSIS_SR
    truth = json.loads((FIXTURES / "song07_rock_d.json").read_text())
    length, gap = 24.0, 7.93  # 14 of the song's 1.714 s bars, then 4.6 bars of silence
    song = audio.load(FIXTURES / "song07_rock_d.ogg", sr).samples[: int(length * sr)]
    path = tmp_path / "hidden.wav"
    sf.write(path, np.concatenate([song, np.zeros(int(gap * sr), np.float32), song]), sr)
    facts = analyze(path, NO_LYRICS)
    assert facts.meter is not None and facts.meter.beats_per_bar == 4
    for start in (0.0, length + gap):
        for kind, found in (("beats", facts.beats), ("downbeats", facts.downbeats)):
            ref = np.array([t for t in truth[kind] if t < length - 0.2]) + start
            est = np.array([t for t in found if start <= t < start + length])
            assert mir_eval.beat.f_measure(ref, est) >= 0.9, (kind, start)
    sections = [(s.start, s.end, s.label, s.group) for s in facts.sections]
    quiet = [s for s in sections if s[2] == SILENCE]
    assert len(quiet) == 1 and abs(quiet[0][0] - length) < 0.3, sections
    assert abs(quiet[0][1] - (length + gap)) < 0.3, sections
    first, again = sections[: sections.index(quiet[0])], sections[sections.index(quiet[0]) + 1 :]
    assert [s[3] for s in again] == [s[3] for s in first], sections


def _rock_with(before: np.ndarray, after: np.ndarray, path) -> tuple[dict, float, float]:
    """The first 24 s of a 140 BPM 4/4 band fixture with ``before`` and ``after`` around it
    (at `audio.ANALYSIS_SR`), written to ``path``: (truth, where the song starts, its end)."""
    sr = audio.ANALYSIS_SR
    song = audio.load(FIXTURES / "song07_rock_d.ogg", sr).samples[: 24 * sr]
    level = np.sqrt(np.mean(song**2))
    around = [x * level / np.sqrt(np.mean(x**2)) / 2 for x in (before, after)]  # 6 dB down
    sf.write(path, np.concatenate([around[0], song, around[1]]), sr)
    truth = json.loads((FIXTURES / "song07_rock_d.json").read_text())
    return truth, len(before) / sr, len(before) / sr + 24.0


def test_applause_around_a_live_song_gets_no_beats(tmp_path):
    """A live take: 6 s of applause before the song and 7 s after it, 6 dB under the music.
    The applause is unpitched and the network hears no beat on the song's grid there: no
    beat or downbeat falls in it, and the song's bars start where it does."""
    sr = audio.ANALYSIS_SR
    truth, start, end = _rock_with(applause(6.0, sr), applause(7.0, sr, 1), tmp_path / "live.wav")
    facts = analyze(tmp_path / "live.wav", NO_LYRICS)
    assert facts.meter is not None and facts.meter.beats_per_bar == 4
    beats, downbeats = np.asarray(facts.beats), np.asarray(facts.downbeats)
    assert beats.min() > start - 0.2 and beats.max() < end + 0.5
    for kind, found in (("beats", beats), ("downbeats", downbeats)):
        ref = np.array([t for t in truth[kind] if t < 23.8]) + start
        assert mir_eval.beat.f_measure(ref, found) >= 0.9, kind


def test_a_drum_intro_keeps_its_beats(tmp_path):
    """Two bars of a General MIDI kit alone on the song's grid before it (rendered by
    scripts/render_drum_intro.py): the network hears the song's beat there, so the intro
    keeps its beats and bars."""
    sr = audio.ANALYSIS_SR
    beat = 60 / 140
    intro = audio.load(DRUM_INTRO, sr).samples
    truth, start, _ = _rock_with(intro, np.zeros(sr, np.float32), tmp_path / "intro.wav")
    facts = analyze(tmp_path / "intro.wav", NO_LYRICS)
    found = np.asarray([b for b in facts.beats if b < start - 0.2])
    assert mir_eval.beat.f_measure(np.arange(8) * beat, found) >= 0.9
    song = np.array([t for t in truth["downbeats"] if t < 23.8]) + start
    ref = np.concatenate([[0.0, 4 * beat], song])
    assert mir_eval.beat.f_measure(ref, np.asarray(facts.downbeats)) >= 0.9


def test_chords_rest_in_silences():
    """harmony.rest_in: "N" over the spans, the chords around them cut, neighbours joined."""
    segs = [
        ChordSegment(start=0.0, end=5.0, label="D:maj"),
        ChordSegment(start=5.0, end=12.0, label="A:maj"),
    ]
    found = harmony.rest_in(segs, [(0.0, 3.0), (10.0, 12.5)])
    assert [(c.start, c.end, c.label) for c in found] == [
        (0.0, 3.0, "N"),
        (3.0, 5.0, "D:maj"),
        (5.0, 10.0, "A:maj"),
        (10.0, 12.0, "N"),
    ]
    assert harmony.rest_in(segs, []) == segs


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
