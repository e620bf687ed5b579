"""The learned bar weights of `facts.meter`: the shipped model matches the features the code
computes, its bars on the fixtures, and its training script end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from media import FIXTURES

from musicflamingo import audio
from musicflamingo.facts import beat_model, harmony, meter
from musicflamingo.facts.features import SR, THIN_BELOW, spectral
from musicflamingo.facts.scoring import _f_measure

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_weights_name_every_feature_and_were_fitted_on_train_pieces():
    model = json.loads(meter.MODEL.read_text())
    assert list(model["weights"]) == meter.feature_names()
    assert model["about"]["pieces"] >= 300
    assert np.isfinite(meter.model_weights()).all()


def test_polyphony_tells_a_solo_tune_from_chords():
    """The texture the bar model conditions on, on real renders: the unaccompanied jig
    sounds under two pitch classes at once (it is thin), a four-part chorale and a rock
    band three or more (thinness 0)."""
    poly = {
        name: spectral(audio.load(FIXTURES / f"{name}.ogg", SR).samples).polyphony()
        for name in ("jig_haste_to_the_wedding_d", "bach_bwv144_6_bm", "song07_rock_d")
    }
    solo, chorale, band = poly.values()
    assert solo < 2.0 < THIN_BELOW < 3.0 < min(chorale, band)


@pytest.mark.parametrize(
    ("name", "bar"), [("song01_pop_c", 4), ("song03_waltz_g", 3), ("song04_jig_em", 2)]
)
def test_the_bars_of_a_fixture_start_on_its_downbeats(name, bar):
    """From the learned network's beats and the song's own cues: the bar length of the
    score and its downbeats (F > 0.9), on fixtures no weight was fitted on."""
    truth = json.loads((FIXTURES / f"{name}.json").read_text())
    mid = audio.load(FIXTURES / f"{name}.ogg", SR)
    spec = spectral(mid.samples)
    changes = harmony.chord_changes(harmony.chordino(mid.samples, mid.sr, mid.duration))
    beats = beat_model.track(spec).times
    found = meter.estimate_meter(beats, spec, changes)
    assert found is not None and found.meter.beats_per_bar == bar
    assert _f_measure(np.asarray(truth["downbeats"]), found.downbeats) > 0.9
    assert 0.0 < found.meter.confidence <= 1.0


def test_training_script_writes_weights_the_runtime_reads(tmp_path, monkeypatch):
    """`scripts/train_meter_model.py` on three fixtures writes a weight for every feature;
    the meter estimator reads them."""
    train = tmp_path / "corpus" / "train"
    train.mkdir(parents=True)
    for name in ("song01_pop_c", "song03_waltz_g", "song04_jig_em"):
        for ext in ("ogg", "json"):
            (train / f"{name}.{ext}").write_bytes((FIXTURES / f"{name}.{ext}").read_bytes())
    out = tmp_path / "meter_model.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train_meter_model.py")]
        + ["--corpus", str(tmp_path / "corpus"), "--out", str(out), "--jobs", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    model = json.loads(out.read_text())
    assert model["about"]["pieces"] == 3 and model["about"]["l2"] == 0.001
    assert list(model["weights"]) == meter.feature_names()
    monkeypatch.setattr(meter, "MODEL", out)
    meter.model_weights.cache_clear()
    try:
        beats = np.arange(40) * 0.5 + 0.5
        y = np.zeros(int(21 * SR), np.float32)
        for b in beats:
            y[int(b * SR) : int(b * SR) + 200] = 0.5
        assert meter.estimate_meter(beats, spectral(y), beats[::4]) is not None
    finally:
        meter.model_weights.cache_clear()
