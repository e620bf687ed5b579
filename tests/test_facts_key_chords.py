"""Key and chords on real rendered audio: Chordino at the analysis rate, changes on the beat
grid, the key of a recording tuned off A = 440 Hz, and the key per section of a song that
modulates."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from media import FIXTURES

from musicflamingo import audio
from musicflamingo.facts import harmony
from musicflamingo.facts.features import spectral
from musicflamingo.facts.schema import ChordSegment, Key, Section
from musicflamingo.facts.tonality import estimate_key, key_changes, key_extractor


def seg(start: float, end: float, label: str) -> ChordSegment:
    return ChordSegment(start=start, end=end, label=label)


def test_chord_changes_move_onto_nearby_beats():
    segs = [seg(0, 1.93, "C:maj"), seg(1.93, 2.05, "G:maj"), seg(2.05, 4.12, "A:min")]
    snapped = harmony.snap_to_beats(segs, [0.0, 1.0, 2.0, 3.0, 4.0])
    # 1.93 and 2.05 both land on beat 2.0: the G between them vanishes
    assert snapped == [seg(0, 2.0, "C:maj"), seg(2.0, 4.12, "A:min")]
    far = [seg(0, 1.5, "C:maj"), seg(1.5, 3.0, "G:maj")]
    assert harmony.snap_to_beats(far, [0.0, 1.0, 2.0]) == far  # 0.5 s from any beat
    assert harmony.snap_to_beats(far, []) == far
    assert harmony.snap_to_beats([], [1.0]) == []


def test_chordino_hears_the_same_chords_at_the_feature_rate():
    """Regression: at 22.05 kHz the plugin's block and step (in samples) covered twice the
    time they cover at 44.1 kHz, and its chords differed (0.02 majmin WCSR lost on dev)."""
    song = audio.load(FIXTURES / "song03_waltz_g.ogg", 44_100)
    mid = song.at(22_050)
    full = harmony.chordino(song.samples, song.sr, song.duration)
    half = harmony.chordino(mid.samples, mid.sr, song.duration)
    assert [c.label for c in half] == [c.label for c in full]
    assert np.allclose([c.start for c in half], [c.start for c in full], atol=0.01)


@pytest.mark.parametrize("cents", [-40, 40])
def test_a_recording_tuned_off_concert_pitch_keeps_its_key(cents):
    """The rendered E minor punk song played 40 cents flat or sharp, as a tape run off speed
    (resampled: its pitch and tempo move together). Its A is found where it now lies, and
    the key is named on semitones placed there."""
    sr, ratio = 22_050, 2 ** (cents / 1200)
    x = audio.load(FIXTURES / "song12_punk_em.ogg", sr).samples
    off = librosa.resample(x, orig_sr=sr * ratio, target_sr=sr)  # heard at sr: pitch × ratio
    tuning = harmony.tuning_frequency(off, sr)
    assert tuning == pytest.approx(440 * ratio, abs=2.0)  # 2 Hz: 8 cents
    chroma = spectral(off).chroma.mean(axis=1)
    key = estimate_key(off, sr, chroma, pitched=True, tuning_hz=tuning)
    assert key is not None and key.label == "E minor"
    assert key.tuning_hz == round(tuning, 1)
    assert harmony.tuning_frequency(np.zeros(5 * sr, np.float32), sr) == 440.0
    # within 5 cents of 440 Hz (441 Hz is 3.9) the semitones stay where concert pitch has them
    assert key_extractor(x, sr, 441.0) == key_extractor(x, sr, 440.0)


@pytest.fixture(scope="module")
def c_d_c():
    """Real rendered audio that modulates: 24 s of a song in C major, 14 s of one in D major,
    then 16 s more of the first (sections at the joins), resampled to the feature rate."""
    c = audio.load(FIXTURES / "song01_pop_c.ogg", 22_050).samples
    d = audio.load(FIXTURES / "song07_rock_d.ogg", 22_050).samples
    sr = 22_050
    x = np.concatenate([c[: 24 * sr], d[6 * sr : 20 * sr], c[24 * sr : 40 * sr]])
    sections = [
        Section(start=0, end=24, label="A"),
        Section(start=24, end=38, label="B"),
        Section(start=38, end=54, label="A"),
    ]
    return x, sr, sections, harmony.chordino(x, sr, len(x) / sr)


def test_a_modulating_song_reports_its_keys_per_section(c_d_c):
    x, sr, sections, chords = c_d_c
    pc, mode, strength = key_extractor(x, sr, 440.0)
    home = Key(tonic="C", mode="major", confidence=0.9)
    assert (pc, mode) == (0, "major")  # the whole still reads as C major
    spans = key_changes(x, sr, home, sections, chords)
    assert [(s.start, s.end, s.label) for s in spans] == [
        (0, 24, "C major"),
        (24, 38, "D major"),
        (38, 54, "C major"),
    ]


def test_a_song_in_one_key_reports_no_key_changes(c_d_c):
    x, sr, _, _ = c_d_c
    song = x[: 24 * sr]  # the C major part alone, in three sections
    sections = [Section(start=a, end=b, label="A") for a, b in ((0, 8), (8, 16), (16, 24))]
    chords = harmony.chordino(song, sr, 24.0)
    home = Key(tonic="C", mode="major", confidence=0.9)
    assert key_changes(song, sr, home, sections, chords) == []
