"""The numpy stand-ins for librosa's tempo and recurrence and for scipy.ndimage's filters
(they spare every call librosa's import, scikit-learn's, numba's JIT and scipy's) give
those libraries' numbers on real audio, and the analysis path loads none of them."""

from __future__ import annotations

import json
import subprocess
import sys

import librosa
import numpy as np
import pytest
from media import FIXTURES
from scipy import ndimage

from musicflamingo import audio
from musicflamingo.facts import features, form, rhythm, smoothing


@pytest.fixture(scope="module")
def spec() -> features.Spectral:
    song = audio.load(FIXTURES / "song06_waltz_fsm.ogg", features.SR)
    return features.spectral(song.samples)


def test_onset_tempo_is_librosas_tempo(spec):
    rate = features.SR / features.HOP
    for envelope in (spec.onset, spec.low_onset, spec.onset[::2], spec.onset[:900]):
        ours = rhythm.onset_tempo(envelope, rate)
        theirs = librosa.feature.tempo(onset_envelope=envelope, sr=rate, hop_length=1)[0]
        assert ours == theirs


def test_recurrence_and_time_lag_are_librosas(spec):
    seconds = spec.n_frames * features.HOP / features.SR
    for bar in (1.9, 2.7):  # two bar grids: different neighbour sets and bandwidths
        feats = form.bar_features(np.arange(0.0, seconds, bar), spec)
        k = max(2, int(form.NEIGHBOURS * feats.shape[1]))
        ours = form.recurrence(feats, k)
        theirs = librosa.segment.recurrence_matrix(
            feats, k=k, width=1, metric="cosine", sym=True, mode="affinity"
        )
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
        assert (ours > 0).sum() > 2 * feats.shape[1]  # a real graph, not an empty one
        lag = librosa.segment.recurrence_to_lag(theirs, pad=True)
        assert np.array_equal(form.time_lag(ours), lag)


def test_smoothing_filters_are_scipy_ndimages(spec):
    """On the song's own log spectrum, novelty and bar lag matrix, edges included."""
    log_power = 10 * spec.logmel[:, :700]  # float32, as the tonalness filter gets it
    for size in (1, 3, 15, 2 * log_power.shape[1] + 1):  # a window wider than the rows too
        ours = smoothing.moving_mean(log_power, size)
        theirs = ndimage.uniform_filter1d(log_power, size, axis=-1, mode="nearest")
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)
    seconds = spec.n_frames * features.HOP / features.SR
    feats = form.bar_features(np.arange(0.0, seconds, 2.7), spec)
    lag = form.time_lag(form.recurrence(feats, max(2, int(form.NEIGHBOURS * feats.shape[1]))))
    for sigma in ((0.5, form.SMOOTH_BARS), (3.0, 0.5), (40.0, 40.0)):  # taps beyond the edges
        ours, theirs = smoothing.gaussian_smooth(lag, sigma), ndimage.gaussian_filter(lag, sigma)
        assert ours.dtype == theirs.dtype == np.float32  # both sum in float64: last-bit rounding
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    nov = form.structure_novelty(feats)
    assert nov.std() > 0.05  # a curve with peaks, not a flat line
    for size in (1, 9, 2 * len(nov) + 1):
        ours = smoothing.moving_median(nov, size)
        assert np.array_equal(ours, ndimage.median_filter(nov, size=size, mode="nearest"))
    with pytest.raises(ValueError, match="odd"):
        smoothing.moving_mean(log_power, 4)


def test_analysis_loads_no_librosa_sklearn_numba_scipy_or_matplotlib():
    """A whole analysis (octave check and sections included) in a fresh process."""
    code = (
        "import json, sys\n"
        "from musicflamingo.facts.extract import FactsConfig, analyze\n"
        "f = analyze(sys.argv[1], FactsConfig(lyrics_model=None, threads=1))\n"
        "heavy = ('librosa', 'sklearn', 'numba', 'matplotlib', 'scipy', 'pandas')\n"
        "print(json.dumps([len(f.sections), f.tempo is not None,"
        " [m for m in heavy if m in sys.modules]]))\n"
    )
    song = FIXTURES / "bach_bwv180_7_f.ogg"  # slow chorale: the octave check runs
    done = subprocess.run(
        [sys.executable, "-c", code, str(song)], capture_output=True, text=True, check=True
    )
    sections, tempo, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert sections >= 2 and tempo
    assert loaded == []
