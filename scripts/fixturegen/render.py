"""Audio: FluidSynth rendering of the MIDI, trimming, resampling, levels and encoding."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RENDER_SR = 44100
TAIL_S = 1.0  # release kept after the last bar line
FADE_S = 0.3  # fade-out at the very end of the tail
PEAK_DBFS = -1.0
OGG_CODEC = ["-c:a", "libvorbis", "-q:a", "2"]  # ~40 kbit/s for mono 22.05 kHz
MP3_CODEC = ["-c:a", "libmp3lame", "-b:a", "48k"]


RENDER_TIMEOUT_S = 300  # FluidSynth has been seen rendering on without end (GBs of WAV)


def run(cmd: Sequence[str], timeout: float | None = None) -> None:
    """Run a command; fail with its stderr, or when it runs past ``timeout`` seconds."""
    try:
        proc = subprocess.run(
            list(cmd), capture_output=True, text=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{cmd[0]} did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")


def render(midi: Path, soundfont: Path, wav: Path) -> np.ndarray:
    """Render MIDI with the FluidSynth CLI; returns mono float audio at RENDER_SR."""
    run(
        [
            "fluidsynth",
            "-ni",
            "-q",
            "-F",
            str(wav),
            "-T",
            "wav",
            "-O",
            "float",
            "-r",
            str(RENDER_SR),
            "-g",
            "0.6",
            str(soundfont),
            str(midi),
        ],
        timeout=RENDER_TIMEOUT_S,
    )
    audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    if sr != RENDER_SR:
        raise RuntimeError(f"fluidsynth wrote {sr} Hz, not {RENDER_SR} Hz")
    return audio.mean(axis=1)


def finish(audio: np.ndarray, end_s: float, sr_out: int) -> np.ndarray:
    """Cut to the last bar line plus the release tail, fade, resample, peak-normalise."""
    n = round((end_s + TAIL_S) * RENDER_SR)
    audio = np.pad(audio, (0, max(0, n - len(audio))))[:n].astype(np.float64)
    fade = round(FADE_S * RENDER_SR)
    audio[-fade:] *= np.cos(np.linspace(0, np.pi / 2, fade)) ** 2
    if sr_out != RENDER_SR:
        audio = soxr.resample(audio, RENDER_SR, sr_out, quality="HQ")
    n_out = round((end_s + TAIL_S) * sr_out)
    audio = np.pad(audio, (0, max(0, n_out - len(audio))))[:n_out]
    return normalise(audio)


def normalise(audio: np.ndarray) -> np.ndarray:
    """Scale the peak to PEAK_DBFS."""
    peak = float(np.max(np.abs(audio)))
    if peak <= 0:
        raise ValueError("silent render")
    return (audio * (10 ** (PEAK_DBFS / 20) / peak)).astype(np.float32)


def encode(audio: np.ndarray, sr: int, path: Path, codec: list[str], tmp: Path) -> None:
    """Encode mono audio with ffmpeg (bit-exact container flags for reproducibility)."""
    wav = tmp / f"{path.stem}_final.wav"
    sf.write(wav, audio, sr, subtype="FLOAT")
    run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(wav),
            "-ac",
            "1",
            "-ar",
            str(sr),
            *codec,
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            str(path),
        ]
    )


def rms(x: np.ndarray) -> float:
    """Root-mean-square level."""
    return float(np.sqrt(np.mean(np.square(x)) + 1e-12))
