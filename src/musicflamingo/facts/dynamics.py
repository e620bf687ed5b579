"""Loudness (ITU-R BS.1770-4 integrated, EBU Tech 3342 loudness range) and an energy curve.

The meter is fed block by block while the file decodes, so it sees the real channels
(stereo for multichannel sources) without holding them in memory. The K-weighting
filters are pyloudnorm's design (RBJ-cookbook biquads with its BS.1770 parameters, so any
sample rate works), run by essentia's stateful IIR across blocks: pyloudnorm and scipy's
filters would import scipy.signal and scipy.stats, a second of every call.
"""

from __future__ import annotations

import math

import numpy as np

from musicflamingo.facts import essentia_lib
from musicflamingo.facts.schema import Loudness

SUB_BLOCK = 0.1  # seconds; gating blocks are built from these
GATE_BLOCK = 0.4  # seconds: one BS.1770 gating block, the shortest audio whose loudness exists
SILENCE_LUFS = -60.0  # integrated loudness below this (or no gated block) counts as silence
CURVE_STEP = 0.5
HIGH_SHELF = (4.0, 1 / math.sqrt(2), 1500.0)  # gain dB, Q, corner Hz (pyloudnorm's values)
HIGH_PASS = (0.5, 38.0)  # Q, corner Hz


def _power_to_lufs(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(power)


def k_weighting(sr: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two K-weighting biquads at ``sr`` as normalised (b, a): the RBJ-cookbook high
    shelf and high-pass with the parameters above."""
    gain, q, fc = HIGH_SHELF
    amp, w0 = 10 ** (gain / 40), 2 * math.pi * fc / sr
    alpha, cos = math.sin(w0) / (2 * q), math.cos(w0)
    root = 2 * math.sqrt(amp) * alpha
    shelf_b = [
        amp * ((amp + 1) + (amp - 1) * cos + root),
        -2 * amp * ((amp - 1) + (amp + 1) * cos),
        amp * ((amp + 1) + (amp - 1) * cos - root),
    ]
    shelf_a = [(amp + 1) - (amp - 1) * cos + root, 2 * ((amp - 1) - (amp + 1) * cos)]
    shelf_a.append((amp + 1) - (amp - 1) * cos - root)
    q, fc = HIGH_PASS
    w0 = 2 * math.pi * fc / sr
    alpha, cos = math.sin(w0) / (2 * q), math.cos(w0)
    pass_b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    pass_a = [1 + alpha, -2 * cos, 1 - alpha]
    return [
        (np.array(b) / a[0], np.array(a) / a[0]) for b, a in ((shelf_b, shelf_a), (pass_b, pass_a))
    ]


class LoudnessMeter:
    """Streaming BS.1770 meter; call `feed` with (channels, n) blocks, then `result`."""

    def __init__(self, sr: int):
        self.sr = sr
        self._sections = k_weighting(sr)
        self._iir: list[list] | None = None  # per channel, per section: a stateful filter
        self._sub = int(round(SUB_BLOCK * sr))
        self._carry: np.ndarray | None = None
        self._energy: list[float] = []  # summed channel mean-square per 100 ms sub-block
        self.peak = 0.0

    def feed(self, block: np.ndarray) -> None:
        block = np.atleast_2d(block).astype(np.float32)
        if block.shape[1] == 0:
            return
        self.peak = max(self.peak, float(np.abs(block).max()))
        if self._iir is None:
            es = essentia_lib.standard()
            self._iir = [
                [
                    es.IIR(numerator=b.astype(np.float32), denominator=a.astype(np.float32))
                    for b, a in self._sections
                ]
                for _ in range(block.shape[0])
            ]
        weighted: np.ndarray = np.empty(block.shape, np.float64)
        for ch, filters in enumerate(self._iir):
            y = np.ascontiguousarray(block[ch])
            for f in filters:
                y = f(y)
            weighted[ch] = y
        if self._carry is not None:
            weighted = np.concatenate([self._carry, weighted], axis=1)
        n_full = weighted.shape[1] // self._sub
        if n_full:
            body = weighted[:, : n_full * self._sub].reshape(weighted.shape[0], n_full, self._sub)
            self._energy.extend((body**2).mean(axis=2).sum(axis=0).tolist())
        self._carry = weighted[:, n_full * self._sub :]

    def _windowed(self, n_sub: int) -> np.ndarray:
        """Mean power of sliding windows of ``n_sub`` sub-blocks, one per sub-block step."""
        e = np.asarray(self._energy)
        if len(e) < n_sub:
            return np.empty(0)
        c = np.concatenate([[0.0], np.cumsum(e)])
        return (c[n_sub:] - c[:-n_sub]) / n_sub

    @property
    def too_short(self) -> bool:
        """True until one whole gating block has been fed (its loudness is undefined)."""
        return len(self._energy) < round(GATE_BLOCK / SUB_BLOCK)

    def integrated(self) -> float | None:
        power = self._windowed(round(GATE_BLOCK / SUB_BLOCK))  # 400 ms blocks, 75 % overlap
        power = power[_power_to_lufs(power) > -70.0]
        if len(power) == 0:
            return None
        relative = _power_to_lufs(np.array([power.mean()]))[0] - 10.0
        gated = power[_power_to_lufs(power) > relative]
        return float(_power_to_lufs(np.array([gated.mean()]))[0])

    def loudness_range(self) -> float | None:
        short = _power_to_lufs(self._windowed(30))  # 3 s blocks every 100 ms
        short = short[short > -70.0]
        if len(short) == 0:
            return None
        short = short[short > 10 * np.log10(np.mean(10 ** (short / 10))) - 20.0]
        lo, hi = np.percentile(short, [10, 95])
        return float(hi - lo)

    def curve(self) -> tuple[list[float], list[float]]:
        """Short-term (3 s) loudness every 0.5 s, centred on its window, floored at -70."""
        short = _power_to_lufs(self._windowed(30))
        step = int(round(CURVE_STEP / SUB_BLOCK))
        idx = np.arange(0, len(short), step)
        times = (idx + 15) * SUB_BLOCK
        values = np.maximum(short[idx], -70.0)
        return [round(float(t), 2) for t in times], [round(float(v), 2) for v in values]

    def result(self) -> Loudness:
        times, values = self.curve()
        integrated = self.integrated()
        return Loudness(
            integrated_lufs=None if integrated is None else round(integrated, 2),
            range_lu=None if (r := self.loudness_range()) is None else round(r, 2),
            peak_dbfs=round(float(20 * np.log10(max(self.peak, 1e-10))), 2),
            curve_times=times,
            curve_lufs=values,
        )


def is_silent(loudness: Loudness) -> bool:
    """True when nothing in the file rises above the silence threshold."""
    return loudness.integrated_lufs is None or loudness.integrated_lufs < SILENCE_LUFS
