"""Chords: Chordino (NNLS chroma + HMM, the paper's tool) through the Vamp host, labels in
Harte syntax, changes moved onto the beat grid, and a compact progression summary like
"Am F C G ×4"."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from musicflamingo import theory
from musicflamingo.facts.schema import ChordSegment
from musicflamingo.theory import pitch_class

# Chordino's chord-dictionary suffixes -> Harte shorthands.
_QUALITY = {
    "": "maj",
    "m": "min",
    "aug": "aug",
    "dim": "dim",
    "7": "7",
    "maj7": "maj7",
    "m7": "min7",
    "m7b5": "hdim7",
    "dim7": "dim7",
    "6": "maj6",
    "m6": "min6",
    "sus4": "sus4",
    "sus2": "sus2",
    "9": "9",
    "maj9": "maj9",
    "m9": "min9",
}
_SHORT = {v: k for k, v in _QUALITY.items()}
_DEGREE = ["1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7"]
# Chordino's block and step at 44.1 kHz. The Vamp host counts them in samples, so at other
# rates they are scaled to cover the same seconds (at 22.05 kHz the plugin's own sizes
# doubled its frames: 0.02 less majmin WCSR on the dev split).
CHORDINO_BLOCK, CHORDINO_STEP = 16_384, 2_048
SNAP_SECONDS = 0.2  # a chord change this close to a beat moves onto it


def _vamp_path() -> str:
    spec = importlib.util.find_spec("chord_extractor")
    if spec is None or spec.origin is None:
        raise RuntimeError("Chordino plugin not found: pip install chord-extractor")
    return str(Path(spec.origin).parent / "_lib")


def chordino_to_harte(label: str) -> str:
    """'Am7' -> 'A:min7', 'C/E' -> 'C:maj/3', 'N' -> 'N'; a symbol theory cannot read -> 'X'."""
    label = label.strip()
    if label in ("N", "", "X"):
        return "N"
    try:
        harte = theory.to_harte(label)
    except ValueError:
        return "X"
    chord, slash, bass = harte.partition("/")
    return (chord if ":" in chord else chord + ":maj") + slash + bass


def short_name(harte: str) -> str:
    """Lead-sheet symbol of a Harte label: 'A:min7' -> 'Am7', 'C:maj/3' -> 'C/E'."""
    if harte in ("N", "X"):
        return harte
    root, _, rest = harte.partition(":")
    quality, _, bass = rest.partition("/")
    name = root + _SHORT.get(quality or "maj", quality)
    if bass:
        name += "/" + theory.SHARPS[(pitch_class(root) + _DEGREE.index(bass)) % 12]
    return name


def tuning_frequency(samples: np.ndarray, sr: int) -> float:
    """The pitch of A4 (Hz, within a quarter tone of 440) the recording is tuned to, by the
    NNLS Chroma plugin's tuning estimate (Chordino tunes itself the same way); 440.0 when it
    finds no pitch."""
    os.environ.setdefault("VAMP_PATH", _vamp_path())
    import vamp

    found = vamp.collect(samples, sr, "nnls-chroma:tuning", output="tuning")["list"]
    hz = float(found[0]["values"][0]) if found else 440.0
    return hz if np.isfinite(hz) and abs(theory.cents_from_a440(hz)) <= 50 else 440.0


def chordino(samples: np.ndarray, sr: int, duration: float) -> list[ChordSegment]:
    """Chord segments tiling [0, duration] from Chordino's 'simplechord' output."""
    os.environ.setdefault("VAMP_PATH", _vamp_path())
    import vamp

    scale = sr / 44_100
    events = vamp.collect(
        samples,
        sr,
        "nnls-chroma:chordino",
        output="simplechord",
        block_size=round(CHORDINO_BLOCK * scale),
        step_size=round(CHORDINO_STEP * scale),
    )["list"]
    changes = [(float(e["timestamp"].to_float()), chordino_to_harte(e["label"])) for e in events]
    return tile(changes, duration)


def tile(changes: list[tuple[float, str]], duration: float) -> list[ChordSegment]:
    """Turn (time, label) change points into contiguous segments covering the song."""
    if not changes or changes[0][0] > 0:
        changes = [(0.0, "N"), *changes]
    segs = []
    for (t, label), nxt in zip(changes, [*changes[1:], (duration, "")], strict=True):
        end = min(nxt[0], duration)
        if end > t:
            segs.append(ChordSegment(start=round(t, 3), end=round(end, 3), label=label))
    return segs


def snap_to_beats(
    segs: list[ChordSegment], beats: list[float], tolerance: float = SNAP_SECONDS
) -> list[ChordSegment]:
    """Chord segments with each change within ``tolerance`` of a beat moved onto it;
    segments left empty vanish and neighbours with the same label join."""
    if not segs:
        return []
    grid = np.asarray(beats, dtype=float)
    starts = [s.start for s in segs]
    for i in range(1, len(starts) if len(grid) else 0):
        near = float(grid[np.abs(grid - starts[i]).argmin()])
        if abs(near - starts[i]) <= tolerance:
            starts[i] = max(near, starts[i - 1])
    out: list[ChordSegment] = []
    for s, start, end in zip(segs, starts, [*starts[1:], segs[-1].end], strict=True):
        if end <= start:
            continue
        if out and out[-1].label == s.label:
            out[-1] = out[-1].model_copy(update={"end": round(end, 3)})
        else:
            out.append(ChordSegment(start=round(start, 3), end=round(end, 3), label=s.label))
    return out


def rest_in(segs: list[ChordSegment], spans: list[tuple[float, float]]) -> list[ChordSegment]:
    """The chords with "N" over ``spans`` (s, e.g. `Spectral.silences`): Chordino's smoothing
    carries a chord into the silence before and after the music."""
    if not segs or not spans:
        return segs
    end = segs[-1].end
    pieces = [(a, min(b, end), "N") for a, b in spans if a < end]
    for s in segs:
        parts = [(s.start, s.end)]
        for a, b in spans:
            parts = [
                p for lo, hi in parts for p in ((lo, min(hi, a)), (max(lo, b), hi)) if p[1] > p[0]
            ]
        pieces += [(lo, hi, s.label) for lo, hi in parts]
    out: list[ChordSegment] = []
    for lo, hi, label in sorted(pieces):
        if out and out[-1].label == label:
            out[-1] = out[-1].model_copy(update={"end": round(hi, 3)})
        else:
            out.append(ChordSegment(start=round(lo, 3), end=round(hi, 3), label=label))
    return out


def chord_changes(segs: list[ChordSegment]) -> np.ndarray:
    """Times where the sounding chord changes (excluding the song start)."""
    return np.array([s.start for s in segs[1:]])


def triad(harte: str) -> str:
    """The triad of a Harte label, for summaries: 'A:min7' -> 'A:min', 'D:maj6/5' -> 'D:maj'."""
    if harte in ("N", "X"):
        return harte
    root, _, rest = harte.partition(":")
    quality = rest.partition("/")[0] or "maj"
    for prefix, base in (("hdim", "dim"), ("dim", "dim"), ("aug", "aug"), ("min", "min")):
        if quality.startswith(prefix):
            return f"{root}:{base}"
    return f"{root}:maj"


def summarize(labels: list[str], max_period: int = 8) -> str:
    """Compact progression of the triads, cycles folded: 'Am F C G ×4 | Dm G C'."""
    seq = [short_name(triad(x)) for x in labels if x != "N"]
    seq = [c for i, c in enumerate(seq) if i == 0 or c != seq[i - 1]]
    parts, i = [], 0
    while i < len(seq):
        best_p, best_k = 1, 1
        for p in range(1, min(max_period, len(seq) - i) + 1):
            k = 1
            while seq[i + k * p : i + (k + 1) * p] == seq[i : i + p]:
                k += 1
            if k >= 2 and k * p > best_k * best_p:
                best_p, best_k = p, k
        if best_k >= 2:
            parts.append(" ".join(seq[i : i + best_p]) + f" ×{best_k}")
            i += best_p * best_k
        else:
            j = i + 1
            while j < len(seq) and not _repeats_at(seq, j, max_period):
                j += 1
            parts.append(" ".join(seq[i:j]))
            i = j
    return " | ".join(parts)


def _repeats_at(seq: list[str], i: int, max_period: int) -> bool:
    return any(
        seq[i : i + p] == seq[i + p : i + 2 * p]
        for p in range(1, min(max_period, (len(seq) - i) // 2) + 1)
    )
