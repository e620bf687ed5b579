"""Downbeats and meter from the beat grid: a beat-synchronous estimator with learned weights.

Every bar length P in {2, 3, 4, 5, 6} beats and phase is a candidate. Each is described by
how well its bar-start indicator correlates with the cues that mark bar starts in real
music (chord changes, harmonic (chroma) novelty, bass/kick onsets, overall onset strength),
whether the bar starts on the first beat of the music (at or after its first note) or one
beat later (an upbeat), and its bar length and kind of beat (simple or compound); each of
these also times the song's harmonic rhythm
(the share of beats with a chord change), so a chorale, whose chords change on every beat,
weighs its cues otherwise than a song, and times how thin the texture is (thinness: how
far fewer than 2.5 pitch classes sound at once; 0 for every chorale and four in five of the
train split's songs), so an unaccompanied tune, whose cues are faint and whose score says
2/2 where a band's says 4/4, gets bar lengths of its own. A linear score of these features
picks the candidate; the weights (``meter_model.json``) are a conditional logit fitted by
`scripts/train_meter_model.py` on the facts corpus's train split (no dev or test piece),
with the downbeats of the notated score as truth, in two stages (the thinness terms last,
the rest held, so music of thinness 0 keeps the bars of a fit without them), so
conventions such as 2/2 reels and 12/8 shuffles come from scores, not from hand-set
priors. (A tracker's own downbeat activation as one more cue, fitted the same way on
madmom's, lowered dev meter accuracy with that backend, 0.783 -> 0.707: bars come from the
music's cues whatever tracked the beats.)
The beat subdivision (duple or triple, from the onset envelope between beats) turns the bar
length into a time signature: 2 -> 2/4 or 6/8, 3 -> 3/4 or 9/8, 4 -> 4/4 or 12/8 (5 -> 5/4:
quintuple compound time is rare).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicflamingo.facts.features import HOP, SR, Spectral, chroma_novelty, peak_near
from musicflamingo.facts.rhythm import subdivision_is_triple
from musicflamingo.facts.schema import Meter

MODEL = Path(__file__).with_name("meter_model.json")
BAR_LENGTHS = (2, 3, 4, 5, 6)
CUES = ("chord", "chroma", "low", "onset")
TEXTURES = ("harmonic_rhythm", "thinness")  # thinness last: its terms are fitted last
# bar lengths (in tracked beats) that mean the tracker followed a subdivision of the beat:
# (tracked beats per beat, beats per bar)
REGROUP = {6: (3, 2)}
# beats further apart than this are not heard as beats (the slowest tempo a listener
# entrains to, about 30 BPM: London, "Hearing in Time", 2012), so no regrouping may make them
SLOWEST_BEAT = 2.0
START_DB = 30.0  # the music starts at the first frame this close (dB) to the loudest
ON_BEAT = 0.15  # a first note at most this much of a beat early is on that beat


@dataclass
class MeterResult:
    meter: Meter
    beats: np.ndarray  # possibly regrouped (eighths -> dotted quarters in 6/8)
    downbeats: np.ndarray


def _z(x: np.ndarray) -> np.ndarray:
    s = x.std()
    return (x - x.mean()) / s if s > 1e-9 else np.zeros_like(x)


def changes_at(beats: np.ndarray, chord_changes: np.ndarray) -> np.ndarray:
    """Per beat 1.0 where a chord change (s) falls within 0.3 beat of it, else 0.0."""
    if not len(chord_changes):
        return np.zeros(len(beats))
    ibi = np.median(np.diff(beats))
    dist = np.abs(beats[:, None] - np.asarray(chord_changes)[None, :]).min(axis=1)
    return (dist < 0.3 * ibi).astype(float)


def beat_cues(beats: np.ndarray, spec: Spectral, changed: np.ndarray) -> dict[str, np.ndarray]:
    """Per-beat evidence (`CUES`) that a bar starts there, each z-normalised; ``changed`` is
    `changes_at` of the beats."""
    return {
        "chord": _z(changed),
        "chroma": _z(chroma_novelty(spec, beats)),
        "low": _z(peak_near(spec.low_onset, spec, beats)),
        "onset": _z(peak_near(spec.onset, spec, beats)),
    }


def base_names() -> list[str]:
    kinds = [f"bars_of_{p}_{kind}" for kind in ("simple", "compound") for p in BAR_LENGTHS]
    return [*CUES, "starts_on_the_first_beat", "starts_a_beat_later", *kinds]


def feature_names() -> list[str]:
    """The candidate features, in the order of the model's weights: each base feature, then
    each times each of the `TEXTURES`."""
    base = base_names()
    return base + [f"{name}*{texture}" for texture in TEXTURES for name in base]


def texture(spec: Spectral, changed: np.ndarray) -> np.ndarray:
    """The song's `TEXTURES`: the share of beats with a chord change (``changed``, per beat)
    and its `Spectral.thinness`."""
    return np.array([float(changed.mean()), spec.thinness()])


@dataclass
class Candidates:
    bars: list[tuple[int, int]]  # (beats per bar, phase: index of the first bar's beat)
    features: np.ndarray  # (len(bars), len(feature_names()))
    triple: bool  # the beat divides in three


def candidates(
    beats: np.ndarray, spec: Spectral, chord_changes: np.ndarray, after: float = 0.0
) -> Candidates:
    """Every (bar length, phase) the beats allow, with its features (`feature_names`); the
    music starts at or after ``after`` s (`start_beat`)."""
    changed = changes_at(beats, chord_changes)
    cues = beat_cues(beats, spec, changed)
    n = len(beats)
    ibi = float(np.median(np.diff(beats)))
    triple = subdivision_is_triple(beats, spec)
    first = start_beat(beats, spec, after)
    names = base_names()
    bars, rows = [], []
    for p in BAR_LENGTHS:
        if n < 2 * p or (p in REGROUP and REGROUP[p][0] * ibi > SLOWEST_BEAT):
            continue  # too few bars, or beats too slow to be a subdivision
        for phase in range(p):
            ind = (np.arange(n) % p == phase).astype(float)
            ind = (ind - ind.mean()) / ind.std()
            f = {k: float((c * ind).mean()) for k, c in cues.items()}
            f["starts_on_the_first_beat"] = float(phase == first % p)
            f["starts_a_beat_later"] = float(phase == (first + 1) % p)
            f[f"bars_of_{p}_{'compound' if triple else 'simple'}"] = 1.0
            bars.append((p, phase))
            rows.append([f.get(k, 0.0) for k in names])
    base = np.array(rows).reshape(len(rows), len(names))
    scaled = [t * base for t in texture(spec, changed)]
    return Candidates(bars, np.concatenate([base, *scaled], axis=1), triple)


@functools.cache
def model_weights() -> np.ndarray:
    """The fitted weights of `feature_names` (``meter_model.json``)."""
    weights = json.loads(MODEL.read_text())["weights"]
    return np.array([weights[name] for name in feature_names()])


def bars_of(beats: np.ndarray, downbeats: np.ndarray, p: int) -> np.ndarray:
    """Start indices (into ``beats``) of the bars that are ``p`` beats long."""
    start = np.searchsorted(beats, downbeats)
    return start[:-1][np.diff(start) == p]


def half_bar_is_a_beat(beats: np.ndarray, downbeats: np.ndarray, spec: Spectral) -> bool:
    """In bars of three tracked beats, is the bar's midpoint (an off-beat in 3/4) struck
    harder than the second and third beats? Then the tracked beats are the quarter notes
    of 6/8 (three per bar at 1.5 x the tempo), not beats."""
    start = bars_of(beats, downbeats, 3)
    start = start[start + 3 < len(beats)]
    if len(start) < 4:
        return False
    mid = (beats[start] + beats[start + 3]) / 2
    second_third = np.concatenate([beats[start + 1], beats[start + 2]])
    return bool(
        peak_near(spec.onset, spec, mid).mean() > peak_near(spec.onset, spec, second_third).mean()
    )


def two_beats_per_bar(beats: np.ndarray, downbeats: np.ndarray) -> np.ndarray:
    """Beats at each bar start and bar midpoint (the dotted quarters of 6/8)."""
    bars = np.concatenate([downbeats, [downbeats[-1] + np.median(np.diff(downbeats))]])
    halves = (bars[:-1] + bars[1:]) / 2
    out = np.sort(np.concatenate([downbeats, halves[halves <= beats[-1] + 1e-6]]))
    lead = downbeats[0] - (bars[1] - bars[0]) / 2  # a pickup half bar
    return np.concatenate([[lead], out]) if lead >= beats[0] - 1e-6 else out


def start_beat(beats: np.ndarray, spec: Spectral, after: float = 0.0) -> int:
    """Index on the beat grid (extended back, so possibly negative: trackers often leave out
    the first note's beat) of the first beat at or after where the music starts (its first
    loud frame at or after ``after`` s). A tune's pickup of a note or two, shorter than a
    beat, leads into it."""
    loud = np.flatnonzero(spec.loud(START_DB)[spec.frame_of(after) :]) + spec.frame_of(after)
    start = loud[0] * HOP / SR if len(loud) else beats[0]
    return int(np.ceil((start - beats[0]) / np.median(np.diff(beats)) - ON_BEAT))


def estimate_meter(
    beats: np.ndarray,
    spec: Spectral,
    chord_changes: np.ndarray,
    half_bars: bool = False,
    after: float = 0.0,
) -> MeterResult | None:
    """Bar length and phase from the beat grid's cues; the confidence is the model's
    probability of the bar length. ``half_bars``: the beats come from a tracker that may
    follow the quarter notes of 6/8 (essentia's, madmom's), so a three-beat bar whose
    midpoint is struck harder than its beats (`half_bar_is_a_beat`) becomes two dotted
    quarters; the learned network's beats are not regrouped so (on the dev sets that rule
    fired only on 3/4 polonaises, whose mid-bar accent is a rhythm, not a beat). The music
    starts at or after ``after`` s."""
    if len(beats) < 8:
        return None
    found = candidates(beats, spec, chord_changes, after)
    if not found.bars:
        return None
    score = found.features @ model_weights()
    prob = np.exp(score - score.max())
    prob /= prob.sum()
    p, phase = found.bars[int(np.argmax(score))]
    confidence = float(prob[[length == p for length, _ in found.bars]].sum())
    ibi = float(np.median(np.diff(beats)))
    triple = found.triple
    if p in REGROUP:  # tracked beats are a subdivision of the beat: regroup them
        group, per_bar = REGROUP[p]
        beats = beats[phase % group :: group]
        p, phase = per_bar, phase // group
        triple = triple or group == 3
    elif (
        half_bars
        and p == 3
        and 1.5 * ibi <= SLOWEST_BEAT
        and half_bar_is_a_beat(beats, beats[phase::p], spec)
    ):
        downbeats = beats[phase::p]
        beats = two_beats_per_bar(beats, downbeats)
        p, phase, triple = 2, int(np.searchsorted(beats, downbeats[0])), True
    numerator, denominator = (p * 3, 8) if triple and p != 5 else (p, 4)
    meter = Meter(
        numerator=numerator,
        denominator=denominator,
        beats_per_bar=p,
        confidence=round(confidence, 3),
    )
    return MeterResult(meter=meter, beats=beats, downbeats=beats[phase::p])


def bars_by_part(
    beats: np.ndarray,
    parts: list[tuple[float, float]],
    spec: Spectral,
    chord_changes: np.ndarray,
    half_bars: bool = False,
) -> MeterResult | None:
    """`estimate_meter` in each stretch of music the beats were tracked in (``parts``, s:
    `Spectral.parts` split a hidden track or movements on one file at long silences;
    `beat_model.music_span` leaves out applause), each from where its music starts, so a
    part's bars start there, not where the bar count of the part before would put them.
    Beats between parts are left out (those before the first or after the last go with it);
    the song's meter is that of the part with the most beats, and a part with too few beats
    for bars keeps its beats without downbeats."""
    found, kept, downbeats = [], [], []
    for i, (start, end) in enumerate(parts):
        inside = beats[((beats >= start) | (i == 0)) & ((beats < end) | (i == len(parts) - 1))]
        bars = estimate_meter(inside, spec, chord_changes, half_bars, start)
        if bars is not None:
            found.append(bars)
            downbeats.append(bars.downbeats)
        kept.append(inside if bars is None else bars.beats)
    if not found:
        return None
    return MeterResult(
        meter=max(found, key=lambda r: len(r.beats)).meter,
        beats=np.concatenate(kept),
        downbeats=np.concatenate(downbeats),
    )
