"""The numpy/scipy stand-ins for librosa's tempo and recurrence (they spare every call
librosa's import, scikit-learn's and numba's JIT) give librosa's exact numbers on real
audio, and the analysis path loads none of those libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import librosa
import numpy as np
import pytest
from media import FIXTURES

from musicflamingo import audio
from musicflamingo.facts import features, form, rhythm


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


def test_analysis_loads_no_librosa_sklearn_numba_or_matplotlib():
    """A whole analysis (octave check and sections included) in a fresh process."""
    code = (
        "import json, sys\n"
        "from musicflamingo.facts.extract import FactsConfig, analyze\n"
        "f = analyze(sys.argv[1], FactsConfig(lyrics_model=None, threads=1))\n"
        "heavy = ('librosa', 'sklearn', 'numba', 'matplotlib', 'scipy.signal', 'pandas')\n"
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
