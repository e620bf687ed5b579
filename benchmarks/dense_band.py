"""A dense band recording for speed and robustness checks: drums, bass, two distorted
guitars, organ, strings and a lead, rendered by FluidSynth, panned to stereo, with room
reverb and a noise floor, encoded as Ogg Vorbis. Seeded: the same file every time.

    python benchmarks/dense_band.py OUT.ogg [--seconds 90]

Needs Debian's `fluidsynth`, `fluid-soundfont-gm` and `ffmpeg`.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf
from scipy.signal import fftconvolve

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SR = 44_100
BPM = 126.0
KEY_ROOT = 57  # A3: the song is in A minor
PROGRESSION = [(0, "min"), (-4, "maj"), (3, "maj"), (-2, "maj")]  # i VI III VII
# (program, pan -1..1, gain) per part; drums are channel 10
PARTS = {
    "bass": (33, 0.0, 1.0),
    "guitar_l": (30, -0.7, 0.8),
    "guitar_r": (29, 0.7, 0.8),
    "organ": (17, 0.3, 0.5),
    "strings": (48, -0.3, 0.5),
    "lead": (81, 0.1, 0.6),
}


def _note(inst: pretty_midi.Instrument, pitch: int, start: float, end: float, vel: int) -> None:
    inst.notes.append(pretty_midi.Note(velocity=vel, pitch=pitch, start=start, end=end))


def compose(seconds: float, seed: int = 7) -> dict[str, pretty_midi.PrettyMIDI]:
    """One MIDI file per part (rendered separately, so each can be panned)."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / BPM
    n_bars = int(seconds / (4 * beat))
    parts = {name: pretty_midi.Instrument(program=p) for name, (p, _, _) in PARTS.items()}
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    scale = [0, 2, 3, 5, 7, 8, 10]
    lead_pitch = KEY_ROOT + 12
    for bar in range(n_bars):
        t0 = bar * 4 * beat
        shift, quality = PROGRESSION[bar % 4]
        root = KEY_ROOT + shift
        third = 3 if quality == "min" else 4
        chorus = (bar // 8) % 2 == 1
        for e in range(8):  # eighth notes
            t = t0 + e * beat / 2
            _note(parts["bass"], root - 24, t, t + beat / 2 * 0.9, 100 if e % 2 == 0 else 80)
            for p in (root - 12, root - 5, root):  # power chord
                _note(parts["guitar_l"], p, t, t + beat / 2 * 0.8, 90)
            if chorus:
                _note(parts["guitar_r"], root + 7 - 12, t, t + beat / 2 * 0.8, 85)
            drums.notes.append(pretty_midi.Note(80 + 20 * (e % 2 == 0), 42, t, t + 0.05))
            if chorus:  # sixteenth hats in the chorus
                drums.notes.append(pretty_midi.Note(60, 42, t + beat / 4, t + beat / 4 + 0.05))
        for b in range(4):
            t = t0 + b * beat
            drums.notes.append(pretty_midi.Note(110, 36 if b % 2 == 0 else 38, t, t + 0.1))
            if b == 2 and rng.random() < 0.5:
                drums.notes.append(pretty_midi.Note(90, 36, t + beat / 2, t + beat / 2 + 0.1))
        if bar % 8 == 0:
            drums.notes.append(pretty_midi.Note(110, 49, t0, t0 + 1.0))
        for p in (root, root + third, root + 7):
            _note(parts["organ"], p, t0, t0 + 4 * beat, 70)
            _note(parts["strings"], p + 12, t0, t0 + 4 * beat, 60 if chorus else 45)
        for k in range(8 if chorus else 4):  # a wandering melody on the scale
            step = 4 * beat / (8 if chorus else 4)
            degree = int(rng.integers(-2, 3))
            pcs = [(KEY_ROOT + s) % 12 for s in scale]
            lead_pitch = int(np.clip(lead_pitch + degree, KEY_ROOT + 5, KEY_ROOT + 24))
            while lead_pitch % 12 not in pcs:
                lead_pitch += 1
            _note(parts["lead"], lead_pitch, t0 + k * step, t0 + (k + 0.9) * step, 95)
    out = {}
    for name, inst in [*parts.items(), ("drums", drums)]:
        pm = pretty_midi.PrettyMIDI(initial_tempo=BPM)
        pm.instruments.append(inst)
        out[name] = pm
    return out


def _render(pm: pretty_midi.PrettyMIDI, tmp: Path, name: str) -> np.ndarray:
    mid, wav = tmp / f"{name}.mid", tmp / f"{name}.wav"
    pm.write(str(mid))
    subprocess.run(
        ["fluidsynth", "-ni", "-q", "-F", str(wav), "-T", "wav", "-r", str(SR), "-g", "0.5"]
        + [str(SOUNDFONT), str(mid)],
        check=True,
        capture_output=True,
    )
    x, _ = sf.read(wav, dtype="float32", always_2d=True)
    return x.mean(axis=1)


def make(path: Path, seconds: float = 90.0, seed: int = 7) -> Path:
    """Render the band to ``path`` (Ogg Vorbis, stereo, 44.1 kHz, ``seconds`` long)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    mix = np.zeros((2, n))
    with tempfile.TemporaryDirectory() as td:
        for name, pm in compose(seconds, seed).items():
            x = _render(pm, Path(td), name)[:n]
            pan, gain = PARTS[name][1:] if name in PARTS else (0.0, 1.3)
            x = x * gain / (np.sqrt(np.mean(x**2)) + 1e-9)
            mix[0, : len(x)] += x * np.sqrt((1 - pan) / 2)
            mix[1, : len(x)] += x * np.sqrt((1 + pan) / 2)
        tail = np.arange(int(1.2 * SR)) / SR
        for ch in range(2):  # a decorrelated exponential-decay room per channel
            ir = rng.standard_normal(len(tail)) * np.exp(-tail * 6.9 / 1.2)
            ir /= np.sqrt(np.sum(ir**2))
            mix[ch] += 0.35 * fftconvolve(mix[ch], ir)[:n]
        white = np.fft.rfft(rng.standard_normal((2, n)))
        pink = np.fft.irfft(white / np.sqrt(np.arange(white.shape[1]) + 1.0))
        mix += pink[:, :n] / np.std(pink) * np.std(mix) * 10 ** (-30 / 20)
        mix = np.tanh(1.5 * mix / np.abs(mix).max()) * 0.9  # bus saturation
        wav = Path(td) / "mix.wav"
        sf.write(wav, mix.T.astype(np.float32), SR, subtype="FLOAT")
        subprocess.run(
            ["ffmpeg", "-y", "-loglevel", "error", "-i", str(wav), "-c:a", "libvorbis"]
            + ["-q:a", "5", "-fflags", "+bitexact", str(path)],
            check=True,
        )
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seconds", type=float, default=90.0)
    args = ap.parse_args()
    print(make(args.out, args.seconds))


if __name__ == "__main__":
    main()
