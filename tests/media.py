"""Test media: real encoded files written with PyAV/FFmpeg encoders (no pre-made files),
and where the rendered fixtures and the demo song live."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "4.1", 6: "5.1", 7: "6.1", 8: "7.1"}
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "fixtures"
DEMO = ROOT / "examples" / "demo" / "demo.mp3"
DRUM_INTRO = ROOT / "tests" / "data" / "drum_intro.ogg"  # scripts/render_drum_intro.py


def fixture_names() -> list[str]:
    """Names of the rendered fixtures (each has NAME.ogg and its ground truth NAME.json)."""
    return sorted(p.stem for p in FIXTURES.glob("*.json") if p.name != "index.json")


def tone(seconds: float, sr: int, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    """A (channels, n) chord of sines with a different partial per channel."""
    t = np.arange(int(seconds * sr)) / sr
    rows = [0.3 * np.sin(2 * np.pi * freq * (1 + 0.25 * c) * t) for c in range(channels)]
    return np.asarray(rows, dtype=np.float32)


def encode(
    path: Path,
    samples: np.ndarray,
    sr: int,
    codec: str,
    fmt: str | None = None,
    video: bool = False,
) -> Path:
    """Encode (channels, n) float samples with an FFmpeg encoder into ``path``."""
    channels = samples.shape[0]
    with av.open(str(path), "w", format=fmt) as out:
        if video:
            v = out.add_stream("mpeg4", rate=10)
            v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        stream = out.add_stream(codec, rate=sr, layout=LAYOUTS[channels])
        frame_fmt = stream.codec_context.codec.audio_formats[0].name
        step = stream.codec_context.frame_size or 1024
        pcm = samples if frame_fmt.endswith("p") else samples.T.reshape(1, -1)
        for i in range(0, samples.shape[1], step):
            chunk = np.ascontiguousarray(
                samples[:, i : i + step]
                if frame_fmt.endswith("p")
                else pcm[:, i * channels : (i + step) * channels]
            )
            if frame_fmt.startswith("s16"):
                chunk = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)
            elif frame_fmt.startswith("s32"):
                chunk = (np.clip(chunk, -1, 1) * 2147483647).astype(np.int32)
            frame = av.AudioFrame.from_ndarray(chunk, format=frame_fmt, layout=LAYOUTS[channels])
            frame.sample_rate = sr
            frame.pts = i
            frame.time_base = Fraction(1, sr)
            out.mux(stream.encode(frame))
            if video and i % sr < step:
                img = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
                img.pts = i // (sr // 10)
                out.mux(v.encode(img))
        out.mux(stream.encode(None))
        if video:
            out.mux(v.encode(None))
    return path


def video_only(path: Path, seconds: float = 1.0) -> Path:
    with av.open(str(path), "w") as out:
        v = out.add_stream("mpeg4", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(seconds * 10)):
            img = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i, np.uint8), format="rgb24")
            img.pts = i
            out.mux(v.encode(img))
        out.mux(v.encode(None))
    return path


def applause(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """Applause (float32, peak 1): 40 people clapping out of step, 3-5 claps a second each;
    a clap is a bright burst of noise decaying in 5 ms."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    clicks = np.zeros(n)
    for _ in range(40):
        period = 1 / rng.uniform(3.0, 5.0)
        times = rng.uniform(0, period) + np.cumsum(period * rng.uniform(0.85, 1.15, n // sr * 6))
        clicks[(times[times < seconds] * sr).astype(int)] += rng.uniform(0.5, 1.0)
    burst = np.diff(rng.standard_normal(int(0.03 * sr) + 1)) * np.exp(
        -np.arange(int(0.03 * sr)) / (0.005 * sr)
    )
    out = np.convolve(clicks, burst)[:n]
    return (out / np.abs(out).max()).astype(np.float32)
