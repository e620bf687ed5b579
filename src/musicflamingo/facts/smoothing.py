"""The three scipy.ndimage filters the facts need, computed with numpy.

scipy's first import costs about a third of a second of CPU (its array-API layer loads
numpy.f2py and numpy.testing, and it parses ~200 docstrings): more than the rest of a
short file's analysis, on every call. These filters are small; each states the scipy call
it equals, and the tests hold them to it.
"""

from __future__ import annotations

import numpy as np

TRUNCATE = 4.0  # Gaussian taps reach this many sigmas, as scipy's default


def _odd(size: int) -> int:
    if size < 1 or size % 2 == 0:
        raise ValueError(f"window size must be odd and positive, not {size}")
    return size // 2


def moving_mean(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.uniform_filter1d(x, size, axis=-1, mode="nearest")`` for an odd
    ``size``: the mean of ``size`` samples centred on each, edges repeated; x's dtype."""
    half = _odd(size)
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(half + 1, half)], mode="edge")
    sums = np.cumsum(padded, axis=-1, dtype=np.float64)  # one leading pad sample: sums[i]
    return ((sums[..., size:] - sums[..., :-size]) / size).astype(x.dtype)  # ends a window


def moving_median(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(x, size, mode="nearest")`` of a 1-D ``x``, odd size."""
    half = _odd(size)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, half, mode="edge"), size)
    return np.median(windows, axis=-1).astype(x.dtype)


def gaussian_smooth(x: np.ndarray, sigma: tuple[float, ...]) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(x, sigma)`` (mode "reflect", truncate 4): one
    normalised Gaussian per axis, ``sigma`` in samples, mirrored edges; x's dtype."""
    out = np.asarray(x, dtype=np.float64)
    for axis, s in enumerate(sigma):
        radius = int(TRUNCATE * s + 0.5)
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / s) ** 2)
        taps /= taps.sum()
        moved = np.moveaxis(out, axis, -1)
        n = moved.shape[-1]
        padded = np.pad(moved, [(0, 0)] * (moved.ndim - 1) + [(radius, radius)], "symmetric")
        acc = np.zeros_like(moved)
        for k, w in enumerate(taps):  # a sum of shifted copies: memory stays O(x)
            acc += w * padded[..., k : k + n]
        out = np.moveaxis(acc, -1, axis)
    return out.astype(x.dtype)
