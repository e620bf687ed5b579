"""The demo's voice: poem lines chanted by espeak-ng, tuned to the tonic, mixed in."""

from __future__ import annotations

import math
from pathlib import Path

import librosa
import numpy as np
import pretty_midi
import soundfile as sf
import soxr

from fixturegen.catalogue import Voice
from fixturegen.compose import Plan
from fixturegen.render import normalise, rms, run
from fixturegen.truth import seconds

DEMO_SR = 44100
VOICE_DB = 6.0  # chanted voice level over the band in the same window


def speak(text: str, tmp: Path, target_hz: float) -> np.ndarray:
    """Chant one line with espeak-ng: a near-monotone voice tuned to ``target_hz``."""
    wav = tmp / "voice.wav"
    ssml = f'<speak><prosody range="x-low">{text}</prosody></speak>'
    run(
        ["espeak-ng", "-m", "-v", "en-us", "-s", "118", "-p", "90", "-g", "3", "-w", str(wav), ssml]
    )
    voice_audio, sr = sf.read(wav, dtype="float32")
    voice_audio, _ = librosa.effects.trim(voice_audio, top_db=40)
    f0, voiced, _ = librosa.pyin(voice_audio, fmin=70, fmax=300, sr=sr)
    steps = 12 * math.log2(target_hz / float(np.nanmedian(f0[voiced])))
    voice_audio = librosa.effects.pitch_shift(voice_audio, sr=sr, n_steps=steps)
    return soxr.resample(voice_audio, sr, DEMO_SR, quality="HQ")


def add_voice(
    band_audio: np.ndarray, pm: pretty_midi.PrettyMIDI, plan: Plan, voice: Voice, tmp: Path
) -> tuple[np.ndarray, list[list]]:
    """Mix chanted poem lines at two-bar phrase starts of the sections between intro and
    outro, one stanza per section; returns the mix and the lyrics as [start, end, line]."""
    tonic_hz = librosa.midi_to_hz(48 + plan.key.tonic.pitchClass)  # tonic in octave 3
    mix = band_audio.astype(np.float64).copy()
    lyrics: list[list] = []
    sung = [i for i, s in enumerate(plan.form) if s.label not in ("intro", "outro")]
    for si, stanza in zip(sung, voice.stanzas, strict=True):
        bars = [b for b in plan.bars if b[1] == si]
        for line, (start_ql, _, _) in zip(voice.poem[stanza], bars[::2], strict=True):
            v = speak(line, tmp, tonic_hz)
            a = round(seconds(pm, start_ql) * DEMO_SR)
            seg = mix[a : a + len(v)]
            v = v[: len(seg)] * (rms(seg) * 10 ** (VOICE_DB / 20) / rms(v))
            mix[a : a + len(v)] += v
            lyrics.append([round(a / DEMO_SR, 3), round((a + len(v)) / DEMO_SR, 3), line])
    return normalise(mix), lyrics
