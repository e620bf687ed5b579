"""Frame-level spectral features shared by the meter, key and section estimators.

One short-time Fourier pass (numpy.fft) over bounded chunks, so an hour of audio needs tens
of megabytes, not gigabytes. Frame ``i`` is centred at ``i * HOP / SR`` seconds.

The filterbanks (mel, chroma) and the MFCC's DCT are librosa's and scipy's, computed once
by `librosa_filters` and shipped in ``filterbanks.npz``: importing librosa (and the numba
JIT it loads) would cost more than analysing a whole song. Nor is scipy imported on the
analysis path (a third of a second of CPU, see `smoothing`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicflamingo.facts.smoothing import moving_mean, moving_median

SR = 22_050
N_FFT = 2048
HOP = 512
N_MELS = 64
N_MFCC = 13
LOW_MELS = 8  # mel bands below ~200 Hz: kick drum and bass
CHUNK_FRAMES = 2048
FILTERBANKS = Path(__file__).with_name("filterbanks.npz")
THIN_BELOW = 2.5  # pitch classes at once: a solo line sounds 1.5-2, chords 3 or more
SILENCE_DB = 60.0  # below the loudest frame: a room's noise floor, nothing of the music
# A gap inside a file at least this long (s) has no beat or chord: a hidden track's lead-in,
# a pause between movements. A general pause within music is shorter and its beat goes on:
# the facts corpus's pauses (at most 1.1 s) are all shorter.
INNER_SILENCE = 5.0
SILENCE_MARGIN = 0.1  # s
MIN_TONALNESS = 0.1  # share of energy in spectral peaks; below it (noise, drums): unpitched


def librosa_filters() -> dict[str, np.ndarray]:
    """The feature matrices as librosa and scipy define them (regenerates the shipped file:
    ``python -m musicflamingo.facts.features``)."""
    import librosa
    import scipy.fft
    import scipy.signal

    return {
        "window": scipy.signal.get_window("hann", N_FFT, fftbins=True).astype(np.float32),
        "mel": librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS),
        "chroma": librosa.filters.chroma(sr=SR, n_fft=N_FFT, tuning=0.0),
        "dct": scipy.fft.dct(np.eye(N_MELS), type=2, norm="ortho", axis=0)[:N_MFCC],
    }


@functools.cache
def filters() -> dict[str, np.ndarray]:
    with np.load(FILTERBANKS) as data:
        return {k: data[k] for k in data.files}


@dataclass
class Spectral:
    chroma: np.ndarray  # (12, T), each frame max-normalised
    logmel: np.ndarray  # (N_MELS, T) in dB
    mfcc: np.ndarray  # (13, T)
    rms: np.ndarray  # (T,)
    onset: np.ndarray  # (T,) spectral flux over all bands
    low_onset: np.ndarray  # (T,) spectral flux below ~200 Hz
    tonalness: np.ndarray  # (T,) share of 60 Hz-5 kHz energy in spectral peaks (0 for noise)

    @property
    def n_frames(self) -> int:
        return self.rms.shape[0]

    def loud(self, db: float) -> np.ndarray:
        """Which frames are within ``db`` dB (a positive number) of the loudest."""
        return self.rms > self.rms.max() * 10 ** (-db / 20)

    def song_tonalness(self) -> float:
        """Upper-quartile tonalness over frames within 40 dB of the loudest: distorted
        guitars score ~0.2, noise of any colour under 0.05, clean instruments near 1."""
        loud = self.loud(40.0)
        return float(np.percentile(self.tonalness[loud], 75)) if loud.any() else 0.0

    def polyphony(self) -> float:
        """Median number of pitch classes sounding at once (the sum of each frame's
        max-normalised chroma) over frames within 30 dB of the loudest: a solo melody scores
        about 1.7, a four-part chorale 3.4."""
        loud = self.loud(30.0)
        return float(np.median(self.chroma[:, loud].sum(axis=0))) if loud.any() else 0.0

    def thinness(self) -> float:
        """How many pitch classes fewer than `THIN_BELOW` sound at once (`polyphony`): 0 for
        chords in three or more voices, about 0.8 for a solo melody."""
        return max(0.0, THIN_BELOW - self.polyphony())

    @functools.cached_property
    def silences(self) -> list[tuple[float, float]]:
        """Spans (s) where nothing sounds: frames more than `SILENCE_DB` below the loudest
        before the first sound (from 0), after the last (to the end of the last frame), and
        in gaps of at least `INNER_SILENCE` seconds between. Empty for a file all silent."""
        quiet = ~self.loud(SILENCE_DB)
        if quiet.all() or not quiet.any():
            return []
        edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
        spans = []
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            start, end = a * HOP / SR, b * HOP / SR
            if a == 0 or b == self.n_frames or end - start >= INNER_SILENCE:
                spans.append((start, end))
        return spans

    def parts(self) -> list[tuple[float, float]]:
        """(start, end) in s of each stretch of music: the file without its silences of at
        least `INNER_SILENCE` seconds (`silences`; `SILENCE_MARGIN` kept of each), so one
        part but for a hidden track or movements on one file. A shorter silence (a reverb
        tail, a breath before the downbeat, a general pause) is the music's own."""
        start, last = 0.0, self.n_frames * HOP / SR
        out = []
        for a, b in self.silences:
            if b - a < INNER_SILENCE:
                continue
            if a > start:
                out.append((start, a + SILENCE_MARGIN))
            start = b - SILENCE_MARGIN if b < last else last
        if start < last:
            out.append((start, last))
        return out

    @functools.cached_property
    def steady_tonalness(self) -> np.ndarray:
        """`tonalness` under a 1 s moving median."""
        return moving_median(self.tonalness, round(SR / HOP))

    def pitched_span(self, start: float, end: float) -> tuple[float, float] | None:
        """(first, last) time (s) in [start, end) of a pitched frame: not in silence (within
        `SILENCE_DB` of the loudest: a quiet opening is music), its 1 s median `tonalness` at
        least `MIN_TONALNESS` (a drum hit's frames dip, a clap's rise; the median keeps the
        music's edges); None if there is none."""
        lo, hi = (int(v) for v in self.frame_of(np.array([start, end])))
        loud = self.loud(SILENCE_DB)[lo:hi]
        tonal = self.steady_tonalness[lo:hi] >= MIN_TONALNESS
        found = np.flatnonzero(loud & tonal)
        if not len(found):
            return None
        return (lo + found[0]) * HOP / SR, (lo + found[-1]) * HOP / SR

    def in_silence(self, times: np.ndarray | list[float]) -> np.ndarray:
        """Which of ``times`` (s) lie in `silences`, more than `SILENCE_MARGIN` from the
        sound on either side (a beat a little before the first note is the first note's)."""
        t = np.asarray(times, dtype=float)
        out = np.zeros(t.shape, dtype=bool)
        last = self.n_frames * HOP / SR
        for start, end in self.silences:
            lo = -np.inf if start == 0 else start + SILENCE_MARGIN
            hi = np.inf if end >= last else end - SILENCE_MARGIN
            out |= (t > lo) & (t < hi)
        return out

    def frame_of(self, seconds: np.ndarray | float) -> np.ndarray:
        return np.clip(np.round(np.asarray(seconds) * SR / HOP).astype(int), 0, self.n_frames - 1)


def spectral(samples: np.ndarray, sr: int = SR) -> Spectral:
    """Chroma, log-mel, MFCC, RMS and onset envelopes of ``samples`` (at 22.05 kHz)."""
    if sr != SR:
        raise ValueError(f"features expect {SR} Hz audio")
    half = N_FFT // 2
    n_frames = 1 + len(samples) // HOP
    f = filters()
    chroma_t, mel_t = np.ascontiguousarray(f["chroma"].T), np.ascontiguousarray(f["mel"].T)
    band = slice(int(60 * N_FFT / SR), int(5000 * N_FFT / SR))
    # buffers reused across chunks (fresh ones would page-fault every time)
    windowed = np.empty((min(n_frames, CHUNK_FRAMES), N_FFT), np.float32)
    power = np.empty((len(windowed), N_FFT // 2 + 1), np.float32)  # frames x bins
    chroma, mel, rms, tonal = [], [], [], []
    for f0 in range(0, n_frames, CHUNK_FRAMES):
        f1 = min(n_frames, f0 + CHUNK_FRAMES)
        a, b = f0 * HOP - half, (f1 - 1) * HOP + half  # centred frames, zero-padded edges
        seg = samples[max(a, 0) : min(b, len(samples))].astype(np.float32, copy=False)
        if a < 0 or b > len(samples):
            seg = np.pad(seg, (max(0, -a), max(0, b - len(samples))))
        frames = np.lib.stride_tricks.sliding_window_view(seg, N_FFT)[::HOP]
        n = len(frames)
        np.multiply(frames, f["window"], out=windowed[:n])
        p = np.abs(np.fft.rfft(windowed[:n], axis=1), out=power[:n])
        np.square(p, out=p)
        chroma.append(p @ chroma_t)
        mel.append(p @ mel_t)
        rms.append(np.sqrt(p.sum(axis=1) * 2 / N_FFT**2))
        tonal.append(_peak_energy_share(p[:, band]))
    chroma_arr = np.concatenate(chroma).T
    chroma_arr /= np.maximum(chroma_arr.max(axis=0, keepdims=True), 1e-10)
    logmel = 10.0 * np.log10(np.maximum(np.concatenate(mel).T, 1e-10))
    logmel = np.maximum(logmel, logmel.max() - 80.0)
    flux = np.maximum(0.0, np.diff(logmel, axis=1, prepend=logmel[:, :1]))
    return Spectral(
        chroma=chroma_arr.astype(np.float32),
        logmel=logmel.astype(np.float32),
        mfcc=(f["dct"] @ logmel).astype(np.float32),
        rms=np.concatenate(rms).astype(np.float32),
        onset=flux.mean(axis=0).astype(np.float32),
        low_onset=flux[:LOW_MELS].mean(axis=0).astype(np.float32),
        tonalness=np.concatenate(tonal).astype(np.float32),
    )


def _peak_energy_share(power: np.ndarray, width: int = 15, ratio: float = 10.0) -> np.ndarray:
    """Per frame (row), the share of energy in bins ``ratio`` times above their local
    geometric mean across frequency. Noise of any colour scores ~0.02; pitched sound far more."""
    log_p = np.log(power + 1e-12)
    local = moving_mean(log_p, width)
    peaks = log_p - local > np.log(ratio)
    return (power * peaks).sum(axis=1) / (power.sum(axis=1) + 1e-12)


def beat_sync(feature: np.ndarray, spec: Spectral, beats: np.ndarray) -> np.ndarray:
    """Mean of ``feature`` (d, T) over each inter-beat span: (d, len(beats) - 1)."""
    idx = spec.frame_of(beats)
    out = np.empty((feature.shape[0], max(len(idx) - 1, 0)), dtype=np.float32)
    for i in range(len(idx) - 1):
        a, b = idx[i], max(idx[i + 1], idx[i] + 1)
        out[:, i] = feature[:, a:b].mean(axis=1)
    return out


def peak_near(envelope: np.ndarray, spec: Spectral, times: np.ndarray, radius: int = 2):
    """Maximum of a frame envelope within ``radius`` frames of each time."""
    idx = spec.frame_of(times)
    padded = np.pad(envelope, radius, mode="edge")
    return np.array([padded[i : i + 2 * radius + 1].max() for i in idx])


def chroma_novelty(spec: Spectral, beats: np.ndarray) -> np.ndarray:
    """Harmonic change arriving at each beat: cosine distance between the chroma of the
    spans before and after it (0 at the first and last beat)."""
    chroma = beat_sync(spec.chroma, spec, beats)  # span i = beats[i]..beats[i+1]
    norm = np.linalg.norm(chroma, axis=0) + 1e-9
    cos = (chroma[:, 1:] * chroma[:, :-1]).sum(axis=0) / (norm[1:] * norm[:-1])
    change = np.maximum(1.0 - cos, 0.0)  # rounding leaves -1e-7 where nothing changes
    return np.concatenate([[0.0], change, [0.0]])[: len(beats)]


if __name__ == "__main__":
    np.savez_compressed(FILTERBANKS, allow_pickle=False, **librosa_filters())
