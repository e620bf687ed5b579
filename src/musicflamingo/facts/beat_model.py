"""Beats from a small learned beat and downbeat activation, fitted on our own rendered
train split, decoded by a dynamic Bayesian network.

A temporal convolutional network (Böck & Davies, "Deconstruct, analyse, reconstruct", ISMIR
2020, scaled down): one convolution over the log-mel spectrum, its positive flux and the
chroma (`Spectral`, 43 frames per second), then residual blocks of dilated convolutions
(dilations doubling from 1 frame, listed in the weights' ``dilations``), then per frame the
probability of a beat and of a downbeat. It is fitted by `scripts/train_beat_model.py` on the
train split of the facts corpus (its own manifest; no dev or test piece) and shipped as
``beat_model.npz`` (0.2 MB). Inference is numpy (a few matrix products per layer),
so no deep-learning framework loads on the analysis path.

`track` decodes the beats from the beat activation with metricon's (MIT) bar-pointer
state space (Krebs, Böck & Widmer, ISMIR 2015) and Viterbi. The downbeat output is the
network's second training task (it helps the beats, as in Böck & Davies); as a bar cue of
`meter` it lowered dev meter accuracy (0.685 -> 0.652 at weight 0.5), so bars come from
the music's own cues there.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from musicflamingo.facts.features import HOP, SILENCE_MARGIN, SR, Spectral
from musicflamingo.facts.rhythm import Beats, in_chunks, joined

WEIGHTS = Path(__file__).with_name("beat_model.npz")
KERNEL = 3
DB_RANGE = 80.0  # the log-mel's floor below its loudest frame (`features.spectral`)
FLUX_SCALE = 10.0  # dB
DECODER_FPS = 50  # the decoder counts whole frames per second; activations are resampled
TEMPO_RANGE = (40.0, 220.0)  # BPM the decoder considers
NUM_TEMPI = 60  # log-spaced tempo states (Krebs et al., eq. 8)
# The first 1/lambda of each beat period reads the beat probability. At metricon's 16 a
# 200 BPM beat (15 frames) had one such state, narrower than the network's peak (about three
# of its 23 ms frames), while half the tempo had two: every 4/4 song of the band set over
# 180 BPM was read at half its tempo though the network fired on each beat. At 8, 8 of those
# 12 are found (dev tempo Acc1 0.924 -> 0.946, beat F 0.936 -> 0.948: README); tempi between
# whole-frame periods (15 and 14 frames: 200 and 214 BPM) may still be halved. The wider
# window also lets slow compound time slip to a faster level between its strong pulses
# (a 48 BPM 12/8 read in eighths), so the narrow window's beats are decoded too and win
# where they sit on clearly stronger activation (`PEAK_MARGIN`).
OBSERVATION_LAMBDAS = (8, 16)  # wide (the default reading), narrow
# Mean beat probability at the beats by which the narrow window's reading must beat the wide
# one's to replace it. On dev and the band set's dev half the narrow reading was right and
# the wide one wrong where it led by 0.12 and 0.23, and the wide one right where the narrow
# led by up to 0.08 (its half-tempo readings lie on the same peaks); chosen on those (README).
PEAK_MARGIN = 0.1
# Below this contrast (beat probability at the decoded beats over the median frame's) the
# network hears no beat in unpitched sound: 20 s of white, pink and brown noise score
# 0.08-0.27, the dev split's music 0.41 (a solo reel) and up. Pitched music keeps its beats
# whatever the contrast (its confidence says how weak they are), as with essentia's tracker.
NO_BEAT = 0.3
# A reading at half the tempo: where the network fires midway between the decoded beats
# nearly as strongly as on them (`midpoint_ratio` at least this), in music of chords
# (`Spectral.thinness` 0), the midpoints are beats too and are added if the tempo stays within
# `TEMPO_RANGE`. The decoder halves fast 4/4 where its tempo falls between whole-frame periods
# (a 208 BPM band song read at 104: ratio 0.89). Thick textures read at their tempo reach 0.72
# on dev, the band set's dev half and train (a 2/2 song's quarter notes), thin solo tunes 0.85
# (a reel's even eighths), hence the texture condition; midway between 0.72 and 0.89 (README).
DOUBLE_AT = 0.8
# A solo line at a steady tempo: where the decoder follows the off-beat for a stretch (a
# strain whose accents fall between the beats) and comes back, the beats that stray more
# than `OFF_GRID` of a beat from the piece's own grid (its dominant phase, with a linear drift)
# for at least `DETOUR_BEATS` in a row, keeping one offset (inside the run, but for its first
# and last beat, within `DETOUR_SPREAD` of a beat; a drifting tempo wanders off the grid and
# back gradually), are put back on that grid between the beats around them. Only where at
# least `STEADY_SHARE` of the beats lie on the grid (a steady tempo).
OFF_GRID = 0.15
DETOUR_BEATS = 4
STEADY_SHARE = 0.65
DETOUR_SPREAD = 0.25
# An unpitched stretch at least this long (s) at either end of a part (applause, a crowd) in
# which the network does not hear the music's beat is no part of the music: about a bar at a
# moderate tempo (a shorter one costs a beat or two).
UNPITCHED_EDGE = 2.0


def model_inputs(spec: Spectral) -> np.ndarray:
    """(140, T) float32: the log-mel spectrum scaled to [0, 1] under the song's loudest
    bin, its positive frame-to-frame change (in units of 10 dB) and the chroma."""
    logmel = spec.logmel
    mel = (logmel - logmel.max()) / DB_RANGE + 1.0
    flux = np.maximum(0.0, np.diff(logmel, axis=1, prepend=logmel[:, :1])) / FLUX_SCALE
    return np.concatenate([mel, flux, spec.chroma]).astype(np.float32)


@functools.cache
def weights() -> dict[str, np.ndarray]:
    with np.load(WEIGHTS) as data:
        return {k: data[k] for k in data.files}


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, dilation: int = 1) -> np.ndarray:
    """Same-length 1-D convolution as torch's Conv1d (cross-correlation, zero padding):
    x (C_in, T), w (C_out, C_in, K), b (C_out,)."""
    k = w.shape[2]
    pad = dilation * (k // 2)
    xp = np.pad(x, ((0, 0), (pad, pad)))
    t = x.shape[1]
    out = np.broadcast_to(b[:, None], (w.shape[0], t)).copy()
    for j in range(k):
        out += w[:, :, j] @ xp[:, j * dilation : j * dilation + t]
    return out


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def activations(spec: Spectral) -> tuple[np.ndarray, np.ndarray]:
    """Per frame of ``spec``: (beat, downbeat) probabilities, each (T,)."""
    w = weights()
    h = _elu(_conv(model_inputs(spec), w["inp.weight"], w["inp.bias"]))
    for i, d in enumerate(w["dilations"].tolist()):
        y = _elu(_conv(h, w[f"blocks.{i}.dilated.weight"], w[f"blocks.{i}.dilated.bias"], d))
        h = h + _conv(y, w[f"blocks.{i}.mix.weight"], w[f"blocks.{i}.mix.bias"])
    logits = _conv(h, w["out.weight"], w["out.bias"])
    prob = 1.0 / (1.0 + np.exp(-logits))
    return prob[0].astype(np.float32), prob[1].astype(np.float32)


def beat_activation(spec: Spectral) -> np.ndarray:
    """The network's beat probability per frame of `DECODER_FPS` (linearly resampled)."""
    beat, _ = activations(spec)
    grid = np.arange(int(len(beat) * HOP / SR * DECODER_FPS)) / DECODER_FPS
    return np.interp(grid, np.arange(len(beat)) * HOP / SR, beat)


@functools.cache
def _decoder(observation_lambda: int):
    import metricon

    lo, hi = TEMPO_RANGE
    return metricon.BeatTracker(
        fps=DECODER_FPS,
        min_bpm=lo,
        max_bpm=hi,
        num_tempi=NUM_TEMPI,
        observation_lambda=observation_lambda,
    )


def _peaks_at(x: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Per beat (seconds): the largest of ``x`` (at `DECODER_FPS`) within a frame of it."""
    at = np.clip(np.round(times * DECODER_FPS).astype(int), 0, len(x) - 1)
    near = np.clip(at[:, None] + np.arange(-1, 2)[None, :], 0, len(x) - 1)
    return x[near].max(axis=1)


def readings(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Beat times (seconds) of a beat activation at `DECODER_FPS`, decoded with each of
    `OBSERVATION_LAMBDAS`: (wide window, narrow window)."""
    logits = _logits(x)
    wide, narrow = (
        np.asarray(_decoder(lam).track(logits).times, dtype=float) for lam in OBSERVATION_LAMBDAS
    )
    return wide, narrow


def decode(x: np.ndarray, thick: bool = False) -> np.ndarray:
    """Beat times (seconds) of a beat activation at `DECODER_FPS`: the wide window's reading,
    or the narrow one's where its beats sit on activation `PEAK_MARGIN` stronger; in a
    ``thick`` texture (chords, not a solo line) doubled where `midpoint_ratio` is at least
    `DOUBLE_AT`, in a thin one with its detours off the beat undone (`realign_detours`)."""
    wide, narrow = readings(x)
    if len(wide) < 2 or len(narrow) < 2:
        return wide
    times = (
        narrow if _peaks_at(x, narrow).mean() > _peaks_at(x, wide).mean() + PEAK_MARGIN else wide
    )
    if not thick:
        return realign_detours(times)
    if 120.0 / float(np.median(np.diff(times))) > TEMPO_RANGE[1]:
        return times
    if midpoint_ratio(x, times) >= DOUBLE_AT:
        return np.sort(np.concatenate([times, _midpoints(times)]))
    return times


def _wrap(beats: np.ndarray) -> np.ndarray:
    """Offsets in beats wrapped to the nearest beat: within [-0.5, 0.5)."""
    return (beats + 0.5) % 1.0 - 0.5


def grid_offsets(times: np.ndarray, period: float) -> np.ndarray:
    """Each beat's offset (in beats, within half a beat) from the grid of ``period`` (s)
    through the beats' dominant phase, with a linear drift fitted to the beats on it."""
    k = np.arange(len(times))
    phase = (times - period * k) / period
    centres = np.linspace(0.0, 1.0, 100, endpoint=False)
    near = np.abs(_wrap(phase[None, :] - centres[:, None])) <= OFF_GRID
    offset = _wrap(phase - centres[np.argmax(near.sum(axis=1))])
    on = np.abs(offset) <= OFF_GRID
    if on.sum() >= 2:
        slope, intercept = np.polyfit(k[on], offset[on], 1)
        offset = _wrap(offset - (intercept + slope * k))
    return offset


def _steady(offsets: np.ndarray) -> bool:
    """Do these offsets (in beats, wrapped) stay within `DETOUR_SPREAD` of each other?"""
    mean = np.angle(np.exp(2j * np.pi * offsets).mean()) / (2 * np.pi)
    spread = _wrap(offsets - mean)
    return bool(spread.max() - spread.min() <= DETOUR_SPREAD)


def realign_detours(times: np.ndarray) -> np.ndarray:
    """The beats with each detour off the piece's grid (`grid_offsets` at the median beat
    interval; at least `DETOUR_BEATS` in a row more than `OFF_GRID` off, between beats on it)
    replaced by beats evenly spaced between the beats around it, as many as that interval
    fits."""
    if len(times) < 4 * DETOUR_BEATS:
        return times
    period = float(np.median(np.diff(times)))
    offsets = grid_offsets(times, period)
    on = np.abs(offsets) <= OFF_GRID
    if on.mean() < STEADY_SHARE:
        return times
    out, i = [], 0
    while i < len(times):
        if on[i]:
            out.append(times[i])
            i += 1
            continue
        j = i
        while j < len(times) and not on[j]:
            j += 1
        if i == 0 or j == len(times) or j - i < DETOUR_BEATS or not _steady(offsets[i + 1 : j - 1]):
            out.extend(times[i:j])
        else:
            span = times[j] - times[i - 1]
            n = max(1, round(span / period))
            out.extend(times[i - 1] + span * np.arange(1, n) / n)
        i = j
    return np.asarray(out)


def _midpoints(times: np.ndarray) -> np.ndarray:
    return (times[:-1] + times[1:]) / 2


def midpoint_ratio(x: np.ndarray, times: np.ndarray) -> float:
    """Mean beat probability (``x`` at `DECODER_FPS`) midway between the beats (s) over
    that at the beats: near 1 where the network hears a beat between each two."""
    at_beats = _peaks_at(x, times).mean()
    return float(_peaks_at(x, _midpoints(times)).mean() / at_beats) if at_beats > 0 else 0.0


def _logits(prob: np.ndarray) -> np.ndarray:
    p = np.clip(prob, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def hears_beat(x: np.ndarray, grid: np.ndarray) -> bool:
    """Does the activation ``x`` (at `DECODER_FPS`) on the beats ``grid`` (s, evenly spaced)
    stand out by at least `NO_BEAT` from that between them (a third, half and two thirds of
    the way)? Noise dense with onsets (applause) peaks as often off the grid as on it."""
    if len(grid) < 2:
        return False
    period = abs(float(grid[1] - grid[0]))
    off = np.mean([_peaks_at(x, grid + f * period).mean() for f in (1 / 3, 1 / 2, 2 / 3)])
    return float(_peaks_at(x, grid).mean()) - float(off) >= NO_BEAT


def music_span(
    x: np.ndarray, times: np.ndarray, spec: Spectral, start: float, end: float
) -> tuple[float, float]:
    """The part [start, end) (s) without an unpitched stretch of at least `UNPITCHED_EDGE`
    seconds at either end (before its first or after its last pitched frame,
    `Spectral.pitched_span`) in which the network does not hear the music's beat: its
    activation at the beat grid of the music's first (last) eight beats, carried on into the
    stretch from the second beat beyond the music (the first may hold the music's own attack
    or release), against that between those beats (`hears_beat`). Applause or a crowd goes; a
    drum intro, on the music's grid, stays."""
    pitched = spec.pitched_span(start, end)
    inside = times[(times >= pitched[0]) & (times <= pitched[1])] if pitched else times[:0]
    if pitched is None or len(inside) < 9:
        return start, end
    first, last = pitched
    if first - start >= UNPITCHED_EDGE:
        period = float(np.median(np.diff(inside[:9])))
        if not hears_beat(x, np.arange(inside[0] - 2 * period, start, -period)):
            start = first - SILENCE_MARGIN
    if end - last >= UNPITCHED_EDGE:
        period = float(np.median(np.diff(inside[-9:])))
        if not hears_beat(x, np.arange(inside[-1] + 2 * period, end, period)):
            end = last + SILENCE_MARGIN
    return start, end


def track(spec: Spectral, pitched: bool = True) -> Beats:
    """Beats of the song: the network's beat activation resampled to `DECODER_FPS` and,
    in each stretch of music between long silences (`Spectral.parts`: no beat in silence,
    and a part after a silence finds its own beat) without applause at its ends
    (`music_span`), decoded in 5-minute chunks (`decode`, thick where `Spectral.thinness`
    is 0). Tempo is the median beat interval; confidence the contrast of the beat probability
    at the beats (its peak within a frame) over the median frame's; no beats where that is
    under `NO_BEAT` and the sound is not ``pitched``. Parts are summarised as `in_chunks`
    summarises chunks (weighted by their length); ``parts`` are the stretches decoded."""
    thick = spec.thinness() == 0

    def part(x: np.ndarray) -> Beats:
        if len(x) < 2 * DECODER_FPS:  # under 2 s
            return Beats(np.empty(0), 0.0, 0.0)
        times = decode(x, thick)
        if len(times) < 2:
            return Beats(times, 0.0, 0.0)
        contrast = float(_peaks_at(x, times).mean() - np.median(x))
        if contrast < NO_BEAT and not pitched:
            return Beats(np.empty(0), 0.0, contrast)
        return Beats(times, 60.0 / float(np.median(np.diff(times))), contrast)

    def stretch(x: np.ndarray, start: float, end: float) -> tuple[Beats, int]:
        a, b = round(start * DECODER_FPS), round(end * DECODER_FPS)
        found = in_chunks(x[a:b], DECODER_FPS, part)
        return Beats(
            found.times + a / DECODER_FPS, found.bpm, found.confidence, [(start, end)]
        ), b - a

    x = beat_activation(spec)
    found = []
    for start, end in spec.parts():
        beats, length = stretch(x, start, end)
        music = music_span(x, beats.times, spec, start, end)
        found.append((beats, length) if music == (start, end) else stretch(x, *music))
    return joined(found)
