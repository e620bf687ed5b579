"""The learned beat/downbeat activation (`facts.beat_model`): its numpy inference against
the torch network it was trained as, its beats on rendered fixtures it never saw, its
training script end to end, and the train split's separation from dev and test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mir_eval
import numpy as np
import pytest
from media import FIXTURES

from musicflamingo import audio
from musicflamingo.facts import beat_model, features
from musicflamingo.facts.scoring import Truth

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"


def _spec(name: str) -> features.Spectral:
    return features.spectral(audio.load(FIXTURES / f"{name}.ogg", features.SR).samples)


def test_numpy_inference_is_the_trained_torch_network():
    """The shipped weights, loaded into the training script's torch twin, give the same
    activations as the numpy inference on a real song."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(SCRIPTS))
    from train_beat_model import Net

    w = beat_model.weights()
    dilations = w["dilations"].tolist()
    net = Net(w["inp.weight"].shape[1], w["inp.weight"].shape[0], dilations, 0.0).eval()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in w.items() if "." in k})
    spec = _spec("song01_pop_c")
    beat, down = beat_model.activations(spec)
    with torch.no_grad():
        x = torch.from_numpy(beat_model.model_inputs(spec))[None]
        ref = torch.sigmoid(net(x))[0].numpy()
    assert np.abs(ref[0] - beat).max() < 1e-4
    assert np.abs(ref[1] - down).max() < 1e-4
    assert 0.2 < beat.max() <= 1.0  # it hears beats in a pop song


@pytest.mark.parametrize("name", ["song01_pop_c", "song03_waltz_g", "song07_rock_d"])
def test_tracked_beats_match_a_fixtures_truth(name):
    """Fixtures are rendered from their own specs, not from the train split: the decoded
    beats land on the truth's beats, and the network's downbeat probability is higher on
    the truth's downbeats than on its other beats."""
    truth = Truth.load(FIXTURES / f"{name}.json")
    spec = _spec(name)
    beats = beat_model.track(spec)
    trim = mir_eval.beat.trim_beats
    f = mir_eval.beat.f_measure(trim(np.array(truth.beats)), trim(beats.times))
    assert f > 0.9, f
    assert 60 / np.median(np.diff(beats.times)) == pytest.approx(truth.tempo_bpm, rel=0.04)
    _, down = beat_model.activations(spec)
    on = features.peak_near(down, spec, np.array(truth.downbeats), radius=1)
    others = np.setdiff1d(np.round(truth.beats, 3), np.round(truth.downbeats, 3))
    off = features.peak_near(down, spec, others, radius=1)
    assert on.mean() > 2 * off.mean()


@pytest.mark.parametrize(
    ("name", "wide_is_right"), [("song13_slow_shuffle_db", False), ("song12_punk_em", True)]
)
def test_the_narrow_window_reads_beats_only_where_they_sit_on_stronger_peaks(name, wide_is_right):
    """A 48 BPM 12/8 song: the wide beat window follows a faster level between its strong
    pulses, the narrow one the dotted quarters, on clearly stronger activation, so the
    narrow one's reading is taken. A 186 BPM punk song: the narrow window halves the tempo on
    the same peaks, so the wide one's reading stays."""
    truth = Truth.load(FIXTURES / f"{name}.json")
    x = beat_model.beat_activation(_spec(name))
    wide, narrow = beat_model.readings(x)

    def right(times: np.ndarray) -> bool:
        bpm = 60 / np.median(np.diff(times))
        return bool(abs(bpm / truth.tempo_bpm - 1) <= 0.04)

    assert right(wide) is wide_is_right and right(narrow) is not wide_is_right
    assert right(beat_model.decode(x))


def test_a_reading_at_half_the_tempo_is_doubled_where_the_network_fires_between_its_beats():
    """A 208 BPM thrash song: the decoder reads it at 104 BPM though the network fires midway
    between those beats nearly as strongly as on them, so in its thick texture the midpoints
    are added and all beats are found; a 186 BPM punk song, read at its tempo, has no such
    midpoints and keeps its reading."""
    for name, doubled in (("song14_thrash_am", True), ("song12_punk_em", False)):
        truth = Truth.load(FIXTURES / f"{name}.json")
        spec = _spec(name)
        x = beat_model.beat_activation(spec)
        plain = beat_model.decode(x)
        ratio = beat_model.midpoint_ratio(x, plain)
        assert (ratio >= beat_model.DOUBLE_AT) is doubled, ratio
        assert spec.thinness() == 0
        beats = beat_model.track(spec)
        assert beats.bpm == pytest.approx(truth.tempo_bpm, rel=0.04)
        trim = mir_eval.beat.trim_beats
        assert mir_eval.beat.f_measure(trim(np.array(truth.beats)), trim(beats.times)) > 0.9
        if doubled:  # the plain reading was at half the tempo; a thin texture would keep it
            assert 60 / np.median(np.diff(plain)) == pytest.approx(truth.tempo_bpm / 2, rel=0.04)
            assert len(beat_model.decode(x, thick=False)) == len(plain)


def test_a_detour_to_the_off_beat_is_put_back_on_the_grid_of_a_steady_tune():
    """The fixture jig's true beats with twelve of them moved half a beat late (as the decoder
    follows a strain's off-beat accents in dev's hornpipes) come back to the truth; a two-beat
    slip, a detour over half the tune, beats that wander off the grid and back gradually and
    an accelerating song's beats are left as they are."""
    jig = np.array(Truth.load(FIXTURES / "jig_haste_to_the_wedding_d.json").beats)
    period = float(np.median(np.diff(jig)))
    detour = jig.copy()
    detour[40:52] += period / 2
    back = beat_model.realign_detours(detour)
    assert len(back) == len(jig)
    assert np.abs(back - jig).max() < 0.01
    slip = jig.copy()
    slip[40:42] += period / 2
    assert np.array_equal(beat_model.realign_detours(slip), slip)
    long_detour = jig.copy()
    long_detour[30:100] += period / 2
    assert np.array_equal(beat_model.realign_detours(long_detour), long_detour)
    wander = jig.copy()  # a drifting tempo against a straight grid: off it, but not a detour
    wander[40:65] += 0.7 * period * np.sin(np.pi * np.arange(25) / 24)
    assert np.array_equal(beat_model.realign_detours(wander), wander)
    accel = np.array(Truth.load(FIXTURES / "song08_soul_eb_accel.json").beats)
    assert np.array_equal(beat_model.realign_detours(accel), accel)


def test_noise_silence_and_short_clips_have_no_beats():
    """Unpitched sound with no beat (noise, silence) and clips under 2 s get no beats."""
    noise = 0.3 * np.random.default_rng(0).standard_normal(features.SR * 20)
    for x in (noise, np.zeros(features.SR * 5)):
        beats = beat_model.track(features.spectral(x.astype(np.float32)), pitched=False)
        assert len(beats.times) == 0 and beats.confidence < beat_model.NO_BEAT
    short = features.spectral(np.zeros(features.SR, dtype=np.float32))
    assert len(beat_model.track(short).times) == 0


def test_training_script_writes_weights_the_runtime_reads(tmp_path):
    """`scripts/train_beat_model.py` on two fixtures (a few steps of a tiny network) writes
    a weights file that `beat_model` loads and runs."""
    pytest.importorskip("torch")
    train = tmp_path / "corpus" / "train"
    train.mkdir(parents=True)
    for name in ("song01_pop_c", "song02_ballad_am"):
        for ext in ("ogg", "json"):
            (train / f"{name}.{ext}").write_bytes((FIXTURES / f"{name}.{ext}").read_bytes())
    out = tmp_path / "model.npz"
    args = ["--corpus", str(tmp_path / "corpus"), "--out", str(out), "--steps", "3"]
    args += ["--channels", "4", "--levels", "2", "--frames", "256", "--batch", "2"]
    run = subprocess.run(
        [sys.executable, str(SCRIPTS / "train_beat_model.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    with np.load(out) as data:
        about = json.loads(str(data["about"]))
        assert data["dilations"].tolist() == [1, 2]
        assert data["inp.weight"].shape == (4, 140, 3)
    assert about["steps"] == 3 and about["pieces"] + about["held_out"] == 2


def test_train_split_shares_no_piece_with_dev_test_or_the_fixtures():
    """The learned models may not have heard a dev or test piece or a test fixture: no
    name, corpus work or seeded composition of the train manifest is in the facts corpus
    manifest, and no corpus work is a fixture's (`specs/corpus.toml`)."""
    import tomllib

    specs = SCRIPTS / "fixturegen" / "specs"
    corpus = json.loads((specs / "facts_corpus.json").read_text())["entries"]
    train = json.loads((specs / "facts_train.json").read_text())["entries"]
    fixtures = {c["work"] for c in tomllib.loads((specs / "corpus.toml").read_text())["corpus"]}
    assert len(train) >= 200 and {e["split"] for e in train} == {"train"}

    def works(entries):
        return {e["work"]["work"] for e in entries if e.get("work")}

    def songs(entries):  # a composition is decided by its spec less its name
        return {
            json.dumps({k: v for k, v in e["song"].items() if k != "name"}, sort_keys=True)
            for e in entries
            if e.get("song")
        }

    assert not {e["name"] for e in train} & {e["name"] for e in corpus}
    assert not works(train) & works(corpus)
    assert len(fixtures) == 3 and not works(train) & fixtures and not works(corpus) & fixtures
    assert not songs(train) & songs(corpus)
