"""Decoding every format, rate and channel count; bad input; model windows."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from media import FIXTURES, encode, tone, video_only

from musicflamingo import audio

FORMATS = [
    ("wav", "pcm_s16le", "wav"),
    ("flac", "flac", "flac"),
    ("ogg", "libsndfile-vorbis", "ogg"),
    ("opus", "libopus", "ogg"),
    ("mp3", "libmp3lame", "mp3"),
    ("m4a", "aac", "mp4"),
]


def _dominant_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[spec.argmax()])


def _has_both_partials(x: np.ndarray, sr: int) -> bool:
    """Both channels of `tone(..., 2)` in the mono mix: 440 Hz (left) and 550 Hz (right) each
    within 3 dB of the strongest component (a mix that kept one channel has only one)."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    hz = np.fft.rfftfreq(len(x), 1 / sr)
    levels = [spec[np.abs(hz - f) < 4].max() for f in (440, 550)]
    return min(levels) > 10 ** (-3 / 20) * spec.max()


@pytest.mark.parametrize(("ext", "codec", "fmt"), FORMATS)
def test_every_format_decodes_to_mono_at_requested_rate(tmp_path, ext, codec, fmt):
    sr = 48_000 if codec == "libopus" else 44_100
    if codec == "libsndfile-vorbis":  # FFmpeg's own Vorbis encoder is experimental
        path = tmp_path / "a.ogg"
        sf.write(path, tone(3.0, sr, 2).T, sr, format="OGG", subtype="VORBIS")
    else:
        path = encode(tmp_path / f"a.{ext}", tone(3.0, sr, 2), sr, codec, fmt)
    a = audio.load(path, 16_000)
    assert a.sr == 16_000 and a.samples.dtype == np.float32 and a.samples.ndim == 1
    assert a.duration == pytest.approx(3.0, abs=0.08)
    assert a.source.channels == 2 and a.source.codec
    assert _has_both_partials(a.samples[4000:40000], 16_000)


def test_video_container_audio_track(tmp_path):
    path = encode(tmp_path / "clip.mp4", tone(2.0, 44_100, 2), 44_100, "aac", "mp4", video=True)
    a = audio.load(path)
    assert a.duration == pytest.approx(2.0, abs=0.1)
    assert _has_both_partials(a.samples[2000:30000], 16_000)


@pytest.mark.parametrize("sr", [8_000, 192_000])
def test_extreme_sample_rates(tmp_path, sr):
    path = tmp_path / f"r{sr}.flac"
    sf.write(path, tone(2.0, sr).T, sr)
    a = audio.load(path, 44_100)
    assert a.source.sample_rate == sr
    assert a.duration == pytest.approx(2.0, abs=0.01)
    assert _dominant_hz(a.samples[4410:80000], 44_100) == pytest.approx(440, abs=2)


@pytest.mark.parametrize("channels", range(1, 9))
def test_one_to_eight_channels(tmp_path, channels):
    path = tmp_path / f"c{channels}.wav"
    sf.write(path, tone(1.0, 16_000, channels).T, 16_000)
    blocks = []
    a = audio.load(path, 16_000, on_block=blocks.append)
    assert a.source.channels == channels
    assert a.duration == pytest.approx(1.0, abs=0.01)
    assert {b.shape[0] for b in blocks} == {1 if channels == 1 else 2}
    assert np.abs(a.samples).max() > 0.05


def test_a_channel_with_inverted_polarity_is_heard_not_cancelled(tmp_path):
    """A stereo song whose right channel is the left one inverted (plus a little stereo of
    its own) plays as music, but its L + R mix cancels: it is mixed as L - R instead, its
    blocks still reach ``on_block`` once. Hard-panned parts (a different song in each
    channel) keep the usual mix."""
    sr = 22_050
    x = audio.load(FIXTURES / "song07_rock_d.ogg", sr).samples[: 10 * sr]
    y = audio.load(FIXTURES / "song01_pop_c.ogg", sr).samples[: 10 * sr]
    sf.write(tmp_path / "inverted.wav", np.stack([x + 0.02 * y, -x]).T, sr)
    blocks = []
    a = audio.load(tmp_path / "inverted.wav", sr, on_block=blocks.append)
    assert a.source.inverted_channel
    assert np.corrcoef(a.samples, x)[0, 1] > 0.99
    assert sum(b.shape[1] for b in blocks) == len(x)
    sf.write(tmp_path / "panned.wav", np.stack([x, y]).T, sr)
    b = audio.load(tmp_path / "panned.wav", sr)
    assert not b.source.inverted_channel
    assert np.allclose(b.samples, (x + y) / 2, atol=1e-4)


def test_wrong_extension_is_sniffed_by_content(tmp_path):
    path = encode(tmp_path / "really-an-mp3.wav", tone(2.0, 44_100, 1), 44_100, "libmp3lame", "mp3")
    assert audio.load(path).source.container == "mp3"


def _message(path, **kw) -> str:
    with pytest.raises(audio.AudioError) as e:
        audio.load(path, **kw)
    text = str(e.value)
    assert "\n" not in text and str(path) in text
    return e.value.reason


def test_bad_inputs_have_one_line_reasons(tmp_path):
    (tmp_path / "empty.mp3").write_bytes(b"")
    assert "empty file" in _message(tmp_path / "empty.mp3")
    rng = np.random.default_rng(0)
    (tmp_path / "corrupt.mp3").write_bytes(rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    assert "not a readable audio" in _message(tmp_path / "corrupt.mp3") or "no decodable" in (
        _message(tmp_path / "corrupt.mp3")
    )
    (tmp_path / "notes.txt").write_text("just words, not music\n" * 20)
    assert "not a readable audio" in _message(tmp_path / "notes.txt")
    assert "no audio stream" in _message(video_only(tmp_path / "silent-film.mp4"))
    sf.write(tmp_path / "zero.wav", np.zeros((0, 1), np.float32), 16_000)
    assert "no audio samples" in _message(tmp_path / "zero.wav")
    assert "no such file" in _message(tmp_path / "missing.flac")
    (tmp_path / "dangling.mp3").symlink_to(tmp_path / "gone.mp3")
    assert "broken symbolic link" in _message(tmp_path / "dangling.mp3")
    assert "is a directory" in _message(tmp_path)


def test_truncated_file_keeps_the_decodable_part(tmp_path):
    path = encode(tmp_path / "full.mp3", tone(4.0, 44_100), 44_100, "libmp3lame", "mp3")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert 1.5 < audio.load(cut).duration < 2.5


@pytest.mark.parametrize(
    ("ext", "codec", "fmt"), [f for f in FORMATS if f[0] in ("flac", "mp3", "m4a")]
)
def test_corrupt_packets_in_the_middle_are_skipped(tmp_path, ext, codec, fmt):
    """Regression: the handler named av.error.ValueError, which PyAV no longer has, so the
    first corrupt packet raised AttributeError instead of being skipped."""
    path = encode(tmp_path / f"a.{ext}", tone(6.0, 44_100, 2), 44_100, codec, fmt)
    data, rng = bytearray(path.read_bytes()), np.random.default_rng(4)
    for k in range(len(data) // 3, 2 * len(data) // 3, 997):
        data[k : k + 40] = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    assert 2.0 < audio.load(path).duration < 6.1


def test_six_hour_file_is_refused_before_decoding(tmp_path):
    path = tmp_path / "six-hours.flac"
    sr, block = 8_000, np.zeros((8_000 * 600, 1), np.int16)
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as f:
        for _ in range(36):
            f.write(block)
    reason = _message(path)
    assert "6:00:00 long" in reason and "--max-duration" in reason


def test_limit_enforced_while_decoding_when_length_is_not_stated(tmp_path):
    path = encode(tmp_path / "raw.mp3", tone(5.0, 16_000), 16_000, "libmp3lame", "mp3")
    assert "limit" in _message(path, max_duration=2.0)


@pytest.mark.parametrize(("subtype", "sr"), [("FLOAT", 44_100), ("DOUBLE", 48_000)])
def test_nan_inf_and_absurd_samples_are_cleaned_before_any_consumer(tmp_path, subtype, sr):
    """Regression: one NaN reached the loudness meter (and the resampler, which smears it)
    before the mix was cleaned, and the whole song read as silence."""
    x = tone(6.0, sr, 2)
    sf.write(tmp_path / "clean.wav", x.T, sr, subtype=subtype)
    x[0, 1000], x[1, sr], x[0, 2 * sr], x[1, 3 * sr] = np.nan, np.inf, -np.inf, 1e30
    sf.write(tmp_path / "bad.wav", x.T, sr, subtype=subtype)
    blocks = []
    a = audio.load(tmp_path / "bad.wav", 44_100, on_block=blocks.append)
    assert all(np.abs(b).max() <= audio.MAX_AMPLITUDE for b in blocks)  # False for NaN
    ref = audio.load(tmp_path / "clean.wav", 44_100).samples
    assert np.abs(a.samples).max() <= audio.MAX_AMPLITUDE
    assert (np.abs(a.samples - ref) > 1e-4).sum() < 200  # only around the four bad samples


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -5.0, 0.0])
def test_max_duration_must_be_a_positive_number(tmp_path, bad):
    sf.write(tmp_path / "a.wav", tone(0.5, 16_000).T, 16_000)
    with pytest.raises(ValueError, match="positive number of seconds"):
        audio.load(tmp_path / "a.wav", max_duration=bad)


def test_windows_match_the_processor_rule():
    sr = audio.MODEL_SR
    wins, cut = audio.windows(int(75.5 * sr), sr)
    assert [(w.start, w.end) for w in wins] == [(0, 30), (30, 60), (60, 75.5)] and not cut
    wins, cut = audio.windows(int(25 * 60 * sr), sr, max_windows=40)
    assert len(wins) == 40 and cut and wins[-1].end == 1200
    assert len(audio.windows(0, sr)[0]) == 1
    assert audio.audio_token_count(30 * sr) == 750
    times = audio.token_times(1500)
    assert times[749] == pytest.approx(29.96) and times[750] == 30.0
