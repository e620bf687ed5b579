"""Sections: bar-synchronous structure features for boundaries, repeat groups, roles.

No maintained offline structure model exists, so this is a classic estimator on the bar
grid: boundaries are peaks of structure-feature novelty (Serrà et al. 2014: how the
repetition pattern of timbre (MFCC), harmony (chroma) and energy changes from bar to
bar, on librosa's recurrence matrix and time-lag form, computed here as librosa does
with numpy); segments are then grouped by comparing their bar sequences, so a repeat
reuses its letter (A … A) and a close variant gets a prime (A′); the groups' order,
returns and loudness then name the parts a musician would write: intro, verse,
pre-chorus, chorus, bridge, outro (the letter stays where no role can be told)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicflamingo.facts.features import SILENCE_MARGIN, Spectral, beat_sync
from musicflamingo.facts.harmony import summarize
from musicflamingo.facts.schema import SILENCE, ChordSegment, Section
from musicflamingo.facts.smoothing import gaussian_smooth, moving_median

NEIGHBOURS = 0.2  # recurrence: nearest neighbours per bar, as a share of all bars
SMOOTH_BARS = 2.0
MIN_SECTION_BARS = 4
SAME = 0.6  # mean bar cosine for a repeat (repeats score ~0.85, different parts < 0.3)
VARIANT = 0.45  # … for a varied repeat (prime)
SHIFT_BARS = 2  # repeats are compared with their starts up to this many bars apart


def _unit(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=1, keepdims=True)
    x = x / (x.std(axis=1, keepdims=True) + 1e-9)
    return x / (np.linalg.norm(x, axis=0, keepdims=True) + 1e-9)


def bar_features(bars: np.ndarray, spec: Spectral) -> np.ndarray:
    """Unit-norm per-bar vectors: chroma, MFCC (timbre) and loudness, equally weighted."""
    chroma = _unit(beat_sync(spec.chroma, spec, bars))
    mfcc = _unit(beat_sync(spec.mfcc[1:], spec, bars))
    energy = beat_sync(spec.logmel.mean(axis=0, keepdims=True), spec, bars)
    energy = (energy - energy.mean()) / (energy.std() + 1e-9) / 3
    feats = np.vstack([chroma, mfcc, energy])
    return feats / (np.linalg.norm(feats, axis=0, keepdims=True) + 1e-9)


def recurrence(feats: np.ndarray, k: int) -> np.ndarray:
    """Bar affinity matrix: librosa.segment.recurrence_matrix(feats, k=k, width=1,
    metric="cosine", sym=True, mode="affinity"), step for step as librosa and
    scikit-learn's brute-force neighbour search compute it (same numpy calls, so the same
    ties win): each bar's ``k`` nearest other bars by cosine distance (a distance of 0
    is no link), kept where the nearness is mutual, as exp(-distance / bandwidth) with
    the median distance to the k-th neighbour as bandwidth. Importing librosa and
    scikit-learn for this cost more than the rest of the song's analysis."""
    x = np.ascontiguousarray(feats.T)
    t = len(x)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    norms[norms < 10 * np.finfo(norms.dtype).eps] = 1.0
    unit = x / norms[:, None]
    dist = np.clip(1 - unit @ unit.T, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    n = min(t - 1, k + 2) + 1  # the query bar itself is among its neighbours
    rows = np.arange(t)[:, None]
    near = np.argpartition(dist, n - 1, axis=1)[:, :n]
    near = near[rows, np.argsort(dist[rows, near])]
    others = near != rows
    others[others.all(axis=1), 0] = False  # a duplicate stood in for the bar itself
    near = near[others].reshape(t, n - 1)
    graph = np.zeros_like(dist)
    for i in range(t):
        links = np.sort(near[i][dist[i, near[i]] > 0])
        keep = links[np.argsort(dist[i, links])][:k]
        graph[i, keep] = dist[i, keep]
    graph = np.minimum(graph, graph.T)
    kth = [np.sort(row[row > 0])[:k][-1] if (row > 0).any() else np.nan for row in graph]
    bandwidth = float(np.nanmedian(np.asarray(kth, dtype=graph.dtype)))
    return np.where(graph > 0, np.exp(graph / (-1 * bandwidth)), 0.0).T


def time_lag(rec: np.ndarray) -> np.ndarray:
    """librosa.segment.recurrence_to_lag(rec, pad=True): column ``i`` holds
    ``rec[(i + lag) mod 2t, i]`` of ``rec`` padded with t rows of zeros (row 2t - j:
    lag -j)."""
    t = len(rec)
    lag = np.zeros((2 * t, t), rec.dtype)
    for i in range(t):
        lag[: t - i, i] = rec[i:, i]
        lag[2 * t - i :, i] = rec[:i, i]
    return lag


def structure_novelty(feats: np.ndarray) -> np.ndarray:
    """Serrà et al.'s structure features: the bar recurrence matrix in time-lag form,
    smoothed along time; novelty is how fast that repetition pattern changes."""
    rec = recurrence(feats, k=max(2, int(NEIGHBOURS * feats.shape[1])))
    lag = gaussian_smooth(time_lag(rec), (0.5, SMOOTH_BARS))
    nov = np.concatenate([[0.0], np.linalg.norm(np.diff(lag, axis=1), axis=0)])
    return nov / (nov.max() + 1e-9)


def pick_boundaries(nov: np.ndarray, min_gap: int = MIN_SECTION_BARS) -> list[int]:
    """Bar indices of novelty peaks above an adaptive threshold, at least ``min_gap`` apart."""
    threshold = moving_median(nov, 2 * min_gap + 1)
    n = len(nov)
    candidates = [
        i
        for i in range(2, n - 1)
        if nov[i] >= nov[i - 1] and nov[i] >= nov[i + 1] and nov[i] > threshold[i]
    ]
    chosen: list[int] = []
    for i in sorted(candidates, key=lambda i: -nov[i]):
        if n - i >= 2 and all(abs(i - j) >= min_gap for j in chosen):
            chosen.append(i)
    return sorted(chosen)


def _similarity(feats: np.ndarray, a: tuple[int, int], b: tuple[int, int]) -> float:
    """Mean cosine of two bar sequences, aligned from their starts or with one shifted by
    up to `SHIFT_BARS` (a boundary a bar early or late), the best alignment; at least
    `MIN_SECTION_BARS` bars (or the shorter span) overlap."""
    best = 0.0
    for shift in range(-SHIFT_BARS, SHIFT_BARS + 1):
        i, j = a[0] + max(shift, 0), b[0] + max(-shift, 0)
        n = min(a[1] - i, b[1] - j)
        if n < min(MIN_SECTION_BARS, a[1] - a[0], b[1] - b[0]) or n <= 0:
            continue
        x, y = feats[:, i : i + n], feats[:, j : j + n]
        best = max(best, float((x * y).sum(axis=0).mean()))
    return best


def group_segments(feats: np.ndarray, spans: list[tuple[int, int]]) -> list[str]:
    """Repetition letters in order of first appearance: a repeat reuses its letter, a
    close variant gets a prime (A′)."""
    group: list[int] = []  # cluster id per span
    variant: list[bool] = []
    heads: list[tuple[int, int]] = []  # first span of each cluster
    for span in spans:
        sims = [_similarity(feats, span, h) for h in heads]
        best = int(np.argmax(sims)) if sims else -1
        if best >= 0 and sims[best] >= VARIANT:
            group.append(best)
            variant.append(sims[best] < SAME)
        else:
            heads.append(span)
            group.append(len(heads) - 1)
            variant.append(False)
    return [_letter(g) + ("′" if v else "") for g, v in zip(group, variant, strict=True)]


def _letter(k: int) -> str:
    return chr(ord("A") + k) if k < 26 else f"S{k}"


def bar_intensity(edges: np.ndarray, spec: Spectral) -> np.ndarray:
    """How loud and busy each bar is: z-scored loudness (mean log-mel, dB) plus z-scored
    onset strength (note density), one value per bar."""
    loud = beat_sync(spec.logmel.mean(axis=0, keepdims=True), spec, edges)[0]
    busy = beat_sync(spec.onset[None, :], spec, edges)[0]
    z = [(x - x.mean()) / (x.std() + 1e-9) for x in (loud, busy)]
    return z[0] + z[1]


def roles(groups: list[str], spans: list[tuple[int, int]], intensity: np.ndarray) -> list[str]:
    """Functional labels from the repetition letters: the most repeated, loudest
    recurring group is the chorus; the recurring group heard before choruses the verse
    (and one that always leads into a chorus the pre-chorus); a one-off between choruses
    the bridge; an unrepeated short (or, in a song with returns, quiet) first/last
    segment intro/outro. A group only heard in one run (A A B, a chorale's repeated
    opening) does not return: where nothing returns, the letters stay."""
    n = len(spans)
    base = [g.rstrip("′") for g in groups]
    members: dict[str, list[int]] = {}
    runs: dict[str, list[int]] = {}  # where each run of a group starts (A A: heard once)
    for i, g in enumerate(base):
        members.setdefault(g, []).append(i)
        if i == 0 or base[i - 1] != g:
            runs.setdefault(g, []).append(i)
    lengths = np.array([b - a for a, b in spans], float)
    level = np.array([intensity[a:b].mean() for a, b in spans])
    out: list[str | None] = [None] * n
    repeated = [g for g, starts in runs.items() if len(starts) > 1]  # it returns
    for pos, word in ((0, "intro"), (n - 1, "outro")):
        edge_only = set(members[base[pos]]) <= {0, n - 1}  # an opening that also closes
        short = lengths[pos] <= 0.75 * float(np.median(lengths))
        quiet = bool(repeated) and level[pos] < np.median(level)
        if n >= 3 and edge_only and (short or quiet):
            out[pos] = word
    inner = [g for g in repeated if any(out[i] is None for i in members[g])]
    if not inner:
        return [role or g for role, g in zip(out, groups, strict=True)]
    chorus = max(inner, key=lambda g: len(runs[g]) + level[members[g]].mean())
    choruses = members[chorus]
    verses = [g for g in inner if g != chorus and runs[g][0] < choruses[-1]]
    verse = max(verses, key=lambda g: (len(runs[g]), -runs[g][0]), default=None)
    for g in inner:
        if g == chorus:
            role = "chorus"
        elif g == verse:
            role = "verse"
        elif all(i + 1 in runs[chorus] for i in members[g]):
            role = "pre-chorus"
        else:
            continue
        for i in members[g]:
            out[i] = out[i] or role
    for i in range(1, n - 1):
        if out[i] is None and len(runs[base[i]]) == 1 and choruses[0] < i < choruses[-1]:
            out[i] = "bridge"
    return [role or g for role, g in zip(out, groups, strict=True)]


def estimate_sections(
    bars: np.ndarray, spec: Spectral, duration: float, chords: list[ChordSegment]
) -> list[Section]:
    """Sections tiling the song, on the bar grid given by ``bars`` (downbeat times; a
    2-second grid stands in where a part has none). A file in parts (`Spectral.parts`: a
    hidden track, a reprise, movements on one file) has each part's form found as if it were
    a file of its own, its long silences as sections of their own (`SILENCE`), and the parts'
    repetition letters shared (a reprise repeats A)."""
    forms = [_part_form(bars, spec, a, b) for a, b in _music_spans(spec, duration)]
    offsets = np.cumsum([0, *(f.feats.shape[1] for f in forms)])
    spans = [(a + o, b + o) for f, o in zip(forms, offsets, strict=False) for a, b in f.spans]
    letters = iter(group_segments(np.hstack([f.feats for f in forms]), spans))
    out: list[Section] = []
    for f in forms:
        if f.start > (at := out[-1].end if out else 0.0):
            out.append(Section(start=at, end=round(f.start, 3), label=SILENCE))
        groups = [next(letters) for _ in f.spans]
        labels = roles(groups, f.spans, f.intensity)
        times = [f.start, *(float(f.edges[a]) for a, _ in f.spans[1:]), f.end]
        out += [
            Section(
                start=round(a, 3),
                end=round(b, 3),
                label=lab,
                group=group,
                progression=_progression(chords, a, b),
            )
            for a, b, lab, group in zip(times[:-1], times[1:], labels, groups, strict=True)
        ]
    if forms[-1].end < duration:
        out.append(Section(start=out[-1].end, end=round(duration, 3), label=SILENCE))
    return out


@dataclass
class _PartForm:
    """One part's bar grid ``edges`` (s), its sections as bar-index ``spans``, its bar
    features and intensity."""

    start: float
    end: float
    edges: np.ndarray
    spans: list[tuple[int, int]]
    feats: np.ndarray
    intensity: np.ndarray


def _music_spans(spec: Spectral, duration: float) -> list[tuple[float, float]]:
    """`Spectral.parts`, the last one to the end of the file unless a long silence ends it;
    the whole file if all of it is silence."""
    parts = spec.parts()
    if not parts:
        return [(0.0, duration)]
    a, b = parts[-1]
    parts[-1] = (a, duration if b > duration - SILENCE_MARGIN else b)
    return parts


def _part_form(bars: np.ndarray, spec: Spectral, start: float, end: float) -> _PartForm:
    """Boundaries at structure-novelty peaks of the part [start, end) (s) on its bars."""
    inside = bars[(bars >= start) & (bars < end)]
    if len(inside) < 2:
        inside = np.arange(start, end, 2.0)
    edges = np.concatenate([inside, [end]]) if inside[-1] < end - 0.5 else inside
    if len(edges) < 2:
        edges = np.array([start, end])
    feats = bar_features(edges, spec)
    n = feats.shape[1]
    cuts = [] if n < 2 * MIN_SECTION_BARS else pick_boundaries(structure_novelty(feats))
    idx = [0, *cuts, n]
    spans = list(zip(idx[:-1], idx[1:], strict=True))
    return _PartForm(start, end, edges, spans, feats, bar_intensity(edges, spec))


def _progression(chords: list[ChordSegment], start: float, end: float) -> str:
    inside = [c.label for c in chords if c.end > start + 0.2 and c.start < end - 0.2]
    return summarize(inside)
