"""Tempo and beats (essentia RhythmExtractor2013), and the tempo curve from the beats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from musicflamingo.facts import essentia_lib, features
from musicflamingo.facts.features import Spectral
from musicflamingo.facts.schema import Tempo, TempoPoint

ESSENTIA_MAX_CONFIDENCE = 5.32  # RhythmExtractor2013 multifeature confidence scale
MIN_CONFIDENCE = 1.0 / ESSENTIA_MAX_CONFIDENCE  # essentia's "very low" band: no steady beat
MAX_JITTER = 0.025  # median change between successive beat intervals / interval; noise ~0.04
DRIFT_TOLERANCE = 0.04
CHUNK_SECONDS = 300.0
CHUNK_OVERLAP = 15.0
LOW_CONFIDENCE = 1.5 / ESSENTIA_MAX_CONFIDENCE  # essentia's "low" band and below
UNSURE_FAST_BPM = 120.0
OCTAVE_SPAN = 180.0  # seconds of onset envelope (from the middle) for the octave check
PHASE_SHIFTS = (1 / 3, 1 / 2, 2 / 3)  # of a beat: the off-beat eighths (simple, compound time)
# log ratio of the harmonic change a shifted grid must carry over the tracked one. On the dev
# split essentia follows the off-beat eighth in solo fiddle tunes (right period, beat F 0);
# this moves four of them (three from beat F 0 to 0.99) and no other piece (quarter-beat
# shifts also moved a chorale off its beats)
PHASE_MARGIN = 0.1
TRIPLE_RATIO = 1.15  # onsets at a beat's thirds over those at its half: triple subdivision
# A solo melody in even sixteenths is often tracked in dotted eighths, three sixteenths, at
# 4/3 of its tempo; its beat then looks triply divided, but its three thirds are alike (they
# cycle through the bar's sixteenths), where a jig's beat has a first note and a short-long
# pattern. Percival's estimator (pulse trains at the beat's multiples) hears the quarter;
# where it says 3/4 of the tracker's tempo and the thirds are alike, the tracker runs again
# within RETRACK_RANGE of it. On the dev split: six reels and hornpipes, thirds' spread
# 0.02-0.08, move to their tempo; a jig (spread 0.18) that Percival hears at 3/4 stays.
DOTTED = 4 / 3
THIRDS_ALIKE = 0.13  # spread of onset strength over a beat's thirds, in standard deviations
DOTTED_TOLERANCE = 0.03
PERCIVAL_SPAN = 60.0  # seconds from the middle of the song (its cost grows with length)
RETRACK_RANGE = 0.15


@dataclass
class Beats:
    times: np.ndarray
    bpm: float
    confidence: float
    parts: list[tuple[float, float]] = field(default_factory=list)  # (s) tracked; [] unknown


def in_chunks(samples: np.ndarray, sr: int, track: Callable[[np.ndarray], Beats]) -> Beats:
    """Run a beat tracker over overlapping 5-minute chunks (trackers' memory grows with
    length: essentia's ~50 MB per minute) and stitch the beats at the chunk centres."""
    chunk, overlap = int(CHUNK_SECONDS * sr), int(CHUNK_OVERLAP * sr)
    times: list[np.ndarray] = []
    bpms, confs, weights = [], [], []
    for start in range(0, max(len(samples), 1), chunk):
        if start and len(samples) - start < overlap:
            break
        lo = max(0, start - overlap)
        hi = len(samples) if len(samples) - start < chunk + overlap else start + chunk + overlap
        part = track(samples[lo:hi])
        t0, t1 = start / sr, hi / sr if hi == len(samples) else (start + chunk) / sr
        found = np.asarray(part.times, dtype=float) + lo / sr
        keep = (found >= t0) & (found < t1)
        times.append(found[keep])
        bpms.append(part.bpm)
        confs.append(part.confidence)
        weights.append(hi - lo)
        if hi == len(samples):
            break
    beats = np.concatenate(times) if times else np.empty(0)
    if len(beats) > 2:  # drop stitching doubles closer than half a beat
        ibi = np.median(np.diff(beats))
        single = np.concatenate([[True], np.diff(beats) > 0.5 * ibi])
        beats = beats[single]
    bpm = float(np.average(bpms, weights=weights)) if sum(weights) else 0.0
    conf = float(np.average(confs, weights=weights)) if sum(weights) else 0.0
    return Beats(beats, bpm, conf)


def joined(parts: list[tuple[Beats, int]]) -> Beats:
    """The beats of consecutive parts of a song, each given with its length (any unit):
    tempo and confidence are their length-weighted means over the parts with beats."""
    if len(parts) == 1:
        return parts[0][0]
    with_beats = [(b, n) for b, n in parts if b.bpm > 0]
    times = np.concatenate([b.times for b, _ in parts])
    spans = [span for b, _ in parts for span in b.parts]
    if not with_beats:
        return Beats(times, 0.0, 0.0, spans)
    weights = [n for _, n in with_beats]
    bpm = float(np.average([b.bpm for b, _ in with_beats], weights=weights))
    conf = float(np.average([b.confidence for b, _ in with_beats], weights=weights))
    return Beats(times, bpm, conf, spans)


def essentia_beats(
    samples: np.ndarray, sr: int, tempo_range: tuple[float, float] | None = None
) -> Beats:
    """Beat times and tempo from essentia's multi-feature beat tracker (expects 44.1 kHz),
    optionally held within ``tempo_range`` (BPM; at least 21 BPM wide, as essentia needs)."""
    es = essentia_lib.standard()
    if sr != 44_100:
        raise ValueError("essentia RhythmExtractor2013 needs 44.1 kHz input")
    bounds = {}
    if tempo_range is not None:
        lo = max(40, int(tempo_range[0]))
        bounds = {"minTempo": lo, "maxTempo": min(250, max(int(np.ceil(tempo_range[1])), lo + 21))}
    extractor = es.RhythmExtractor2013(method="multifeature", **bounds)

    def track(part: np.ndarray) -> Beats:
        bpm, ticks, confidence, _, _ = extractor(part)
        conf = float(np.clip(confidence / ESSENTIA_MAX_CONFIDENCE, 0, 1))
        return Beats(np.asarray(ticks, dtype=float), float(bpm), conf)

    return in_chunks(samples, sr, track)


def at_level(beats: Beats, times: np.ndarray) -> Beats:
    """The same tracking read at another metrical level (e.g. eighths regrouped into the
    dotted quarters of 6/8): the tempo scales with the median beat interval."""
    if len(times) < 2 or len(beats.times) < 2:
        return Beats(times, beats.bpm, beats.confidence)
    scale = float(np.median(np.diff(beats.times)) / np.median(np.diff(times)))
    return Beats(times, beats.bpm * scale, beats.confidence)


def resolve_octave(beats: Beats, spec: Spectral) -> Beats:
    """Second opinion on the metrical level. Slow music without drums is often tracked in
    its eighth notes; halve (keep every other beat, on the parity with stronger onsets) when
    the onset-autocorrelation tempo (`onset_tempo`) is half the tracker's, or when the
    tracker itself is unsure (essentia's "low" confidence or below) of a tempo above 120
    BPM. The second rule is a prior tuned on chorales (fixtures and the dev split, where
    slow four-part textures are tracked in their eighth notes), stated as such."""
    if len(beats.times) < 16:  # too few beats to judge
        return beats
    frame_rate = features.SR / features.HOP
    span = int(OCTAVE_SPAN * frame_rate)  # the tempogram's memory grows with length
    mid = max(0, (len(spec.onset) - span) // 2)
    other = onset_tempo(spec.onset[mid : mid + span], frame_rate)
    unsure_fast = beats.confidence < LOW_CONFIDENCE and beats.bpm > UNSURE_FAST_BPM
    if len(beats.times) < 16 or (
        abs(other * 2 / beats.bpm - 1) > DRIFT_TOLERANCE and not unsure_fast
    ):
        return beats
    # the true beats carry the onsets and the harmonic changes
    cue = _z(features.peak_near(spec.onset, spec, beats.times)) + _z(
        features.chroma_novelty(spec, beats.times)
    )
    parity = int(np.argmax([cue[p::2].mean() for p in (0, 1)]))
    return Beats(beats.times[parity::2], beats.bpm / 2, beats.confidence)


def subdivision_is_triple(beats: np.ndarray, spec: Spectral) -> bool:
    """Do onsets fall at thirds of the beat rather than at its half?"""
    ibi = np.diff(beats)
    starts = beats[:-1]
    env = spec.onset
    at = {
        k: features.peak_near(env, spec, starts + ibi * k / 6, radius=1).mean() for k in (2, 3, 4)
    }
    return bool((at[2] + at[4]) / 2 > TRIPLE_RATIO * at[3])


def thirds_spread(beats: np.ndarray, spec: Spectral) -> float:
    """How different a beat's first, second and third thirds sound: the spread of their mean
    onset strengths, in standard deviations of the onset strength at all of them."""
    gaps = np.diff(beats)
    at = np.stack(
        [
            features.peak_near(spec.onset, spec, beats[:-1] + k / 3 * gaps, radius=1)
            for k in range(3)
        ]
    )
    return float(at.mean(axis=1).std() / (at.std() + 1e-9))


def percival_tempo(samples: np.ndarray, sr: int) -> float:
    """essentia's PercivalBpmEstimator (BPM) over the middle `PERCIVAL_SPAN` seconds."""
    span = int(PERCIVAL_SPAN * sr)
    start = max(0, (len(samples) - span) // 2)
    part = np.ascontiguousarray(samples[start : start + span], dtype=np.float32)
    return float(essentia_lib.standard().PercivalBpmEstimator(sampleRate=sr)(part))


def resolve_dotted(beats: Beats, spec: Spectral, samples: np.ndarray, sr: int) -> Beats:
    """Second opinion on beats that look triply divided into thirds that sound alike: where
    Percival's tempo is 3/4 of the tracker's, the tracker followed dotted eighths
    (`DOTTED`); track again near Percival's tempo."""
    if len(beats.times) < 16 or not subdivision_is_triple(beats.times, spec):
        return beats
    if thirds_spread(beats.times, spec) > THIRDS_ALIKE:
        return beats
    other = percival_tempo(samples, sr)  # 0 where the middle of the song is silent
    if other <= 0 or abs(beats.bpm / other / DOTTED - 1) > DOTTED_TOLERANCE:
        return beats
    bounds = (other * (1 - RETRACK_RANGE), other * (1 + RETRACK_RANGE))
    return essentia_beats(samples, sr, bounds)


def resolve_phase(beats: Beats, spec: Spectral) -> Beats:
    """Second opinion on where the beat falls. Harmony changes on beats, not between them:
    when the grid shifted by a third, half or two thirds of each beat carries clearly more
    chroma change (`features.chroma_novelty`) than the tracked one, the tracker locked onto
    an off-beat (a solo melody in even eighths gives it nothing else), and the beats move."""
    if len(beats.times) < 16:  # too few beats to judge
        return beats

    def change(times: np.ndarray) -> float:
        return float(features.chroma_novelty(spec, times)[1:-1].mean()) + 1e-9

    gaps, tracked = np.diff(beats.times), change(beats.times)
    grids = [beats.times[:-1] + fr * gaps for fr in PHASE_SHIFTS]
    ratios = [np.log(change(g) / tracked) for g in grids]
    best = int(np.argmax(ratios))
    if ratios[best] <= PHASE_MARGIN:
        return beats
    return Beats(grids[best], beats.bpm, beats.confidence)


def onset_tempo(onset: np.ndarray, frame_rate: float) -> float:
    """librosa.feature.tempo of an onset envelope with its defaults (the mean of an 8 s
    windowed-autocorrelation tempogram, log-normal prior around 120 BPM, nothing above
    320 BPM), computed as librosa does, with numpy's FFT for scipy's: librosa's import
    and its numba JIT cost more than the rest of the song's analysis."""
    win = int(8.0 * frame_rate)
    fac = np.linspace(-np.pi, np.pi, win + 1)[:-1]  # periodic Hann, as scipy builds it
    window = 0.5 + 0.5 * np.cos(fac)
    padded = np.pad(onset, win // 2, mode="linear_ramp", end_values=0)
    frames = np.lib.stride_tricks.sliding_window_view(padded, win).T[:, : len(onset)]
    n_fft = 1 << (2 * win - 1).bit_length()  # room for every lag: no circular wrap
    spectrum = np.fft.rfft(frames * window[:, None], n=n_fft, axis=0)
    acf = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=n_fft, axis=0)[:win]
    peak = np.abs(acf).max(axis=0, keepdims=True)
    peak[peak < np.finfo(acf.dtype).tiny] = 1.0
    tempogram = (acf / peak).mean(axis=1)
    bpms = np.full(win, np.inf)
    bpms[1:] = 60.0 * frame_rate / np.arange(1.0, win)
    logprior = -0.5 * (np.log2(bpms) - np.log2(120.0)) ** 2
    logprior[: int(np.argmax(bpms < 320.0))] = -np.inf
    return float(bpms[np.argmax(np.log1p(1e6 * tempogram) + logprior)])


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def local_tempo(beats: np.ndarray, span: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Local BPM at each beat: median inter-beat interval over ``span`` beats around it."""
    ibi = np.diff(beats)
    if len(ibi) == 0:
        return np.empty(0), np.empty(0)
    half = span // 2
    local = np.array([np.median(ibi[max(0, i - half) : i + half + 1]) for i in range(len(ibi))])
    return beats[:-1] + ibi / 2, 60.0 / local


def tempo_from_beats(beats: Beats, pitched: bool) -> Tempo | None:
    """Global tempo, its confidence, a tempo curve and whether it drifts. None for unpitched
    sound (noise) when the tracker is unsure (essentia's "very low" confidence) and the
    beats are irregular; pitched music keeps its tempo, with the low confidence stated."""
    if len(beats.times) < 8:
        return None
    ibi = np.diff(beats.times)
    jitter = np.median(np.abs(np.diff(ibi))) / np.median(ibi)  # tempo changes barely move it
    if not pitched and beats.confidence < MIN_CONFIDENCE and jitter > MAX_JITTER:
        return None
    times, bpm = local_tempo(beats.times)
    median = float(np.median(bpm))
    lo, hi = np.percentile(bpm, [5, 95])
    stable = bool(hi / median - 1 <= DRIFT_TOLERANCE and 1 - lo / median <= DRIFT_TOLERANCE)
    step = max(1, len(times) // 64)
    curve = [
        TempoPoint(time=round(float(t), 3), bpm=round(float(b), 2))
        for t, b in zip(times[::step], bpm[::step], strict=True)
    ]
    # essentia's histogram tempo is robust for steady music; a drifting piece is summarised
    # by the median of its local tempo.
    value = beats.bpm if stable and abs(beats.bpm / median - 1) < DRIFT_TOLERANCE else median
    return Tempo(
        bpm=round(value, 2), confidence=round(beats.confidence, 3), stable=stable, curve=curve
    )
