"""Score measured facts against ground truth with the field's standard metrics (mir_eval).

Used by the accuracy benchmark and the tests; the truth format is the one the fixture
renderer (`scripts/render_fixtures.py`) writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import mir_eval
import numpy as np
from pydantic import BaseModel

from musicflamingo.facts.schema import SongFacts
from musicflamingo.theory import TEMPO_TOLERANCE, parse_meter

TARGETS = {  # issue 9's targets, measured on the never-tuned test split
    "tempo_acc1": 0.90,
    "tempo_acc2": 0.98,
    "beat_f": 0.92,
    "downbeat_f": 0.80,
    "meter": 0.90,  # beats per bar
    "meter_2x": None,  # beats per bar, or twice or half of them (4/4 as 2/4, 12/8 as 6/8)
    "meter_exact": None,  # the same time signature (6/8 is not 2/4)
    "key_weighted": 0.85,
    "key_sections": None,  # MIREX weighted, per second, where the truth gives a key per section
    "chord_majmin": 0.85,
    "chord_mirex": None,
    "section_f_0.5": None,
    "section_f_3": 0.60,
}


class Truth(BaseModel):
    name: str
    duration: float
    meter: str
    tempo_bpm: float
    tempo_varies: bool = False
    beats: list[float]
    downbeats: list[float]
    key: str
    keys: list[tuple[float, float, str]] | None = None  # the key of each section
    chords: list[tuple[float, float, str]] | None = None
    sections: list[tuple[float, float, str]] | None = None

    @classmethod
    def load(cls, path: Path) -> Truth:
        return cls.model_validate(json.loads(Path(path).read_text()))


class Estimate(BaseModel):
    """What a system under test claims; SongFacts converts to this, baselines fill it too.

    A field left at None is a fact the system does not measure at all (its metrics are
    None, "not scored"); an empty answer ("" or []) is a measured miss and scores 0."""

    tempo_bpm: float | None = None
    beats: list[float] | None = None
    downbeats: list[float] | None = None
    meter: str | None = None  # a time signature, "" when undetected
    beats_per_bar: int | None = None  # for systems that count beats but name no signature
    key: str | None = None
    keys: list[tuple[float, float, str]] | None = None  # None: the one key all through
    chords: list[tuple[float, float, str]] | None = None
    sections: list[tuple[float, float, str]] | None = None

    @classmethod
    def from_facts(cls, f: SongFacts) -> Estimate:
        return cls(
            keys=[(k.start, k.end, k.label) for k in f.keys] or None,
            tempo_bpm=f.tempo.bpm if f.tempo else None,
            beats=f.beats,
            downbeats=f.downbeats,
            meter=f.meter.label if f.meter else "",
            key=f.key.label if f.key else "",
            chords=[(c.start, c.end, c.label) for c in f.chords],
            sections=[(s.start, s.end, s.label) for s in f.sections],
        )

    def bar_beats(self) -> int | None:
        """Beats per bar claimed (0 when the meter was not detected)."""
        if self.beats_per_bar is not None:
            return self.beats_per_bar
        if self.meter is None:
            return None
        return parse_meter(self.meter).beats_per_bar if self.meter else 0


def tempo_accuracy(est: float | None, ref: float) -> tuple[float, float]:
    """(Accuracy1, Accuracy2): within 4 %; Acc2 also at x2, x3, x1/2, x1/3."""
    if est is None:
        return 0.0, 0.0
    ok = [abs(est - ref * f) <= TEMPO_TOLERANCE * ref * f for f in (1, 2, 3, 1 / 2, 1 / 3)]
    return float(ok[0]), float(any(ok))


def key_timeline(ref: list, est: list) -> float:
    """MIREX weighted key score per second of the reference's key spans: each stretch where
    a reference span and an estimated span overlap scores their keys (mir_eval)."""
    total = sum(b - a for a, b, _ in ref)
    got = 0.0
    for ra, rb, rk in ref:
        for ea, eb, ek in est:
            overlap = min(rb, eb) - max(ra, ea)
            if overlap > 0:
                got += overlap * (mir_eval.key.weighted_score(rk, ek) if ek else 0.0)
    return got / total if total > 0 else 0.0


def _chords(ref: list, est: list, duration: float) -> dict[str, float]:
    if not est:
        return {"majmin": 0.0, "mirex": 0.0}
    ri = np.array([[a, b] for a, b, _ in ref])
    ei = np.array([[a, b] for a, b, _ in est])
    ei, el = mir_eval.util.adjust_intervals(ei, [x[2] for x in est], ri.min(), ri.max(), "N", "N")
    merged = mir_eval.util.merge_labeled_intervals(ri, [x[2] for x in ref], ei, el)
    intervals, r, e = merged
    weights = mir_eval.util.intervals_to_durations(intervals)
    out = {}
    for name, fn in (("majmin", mir_eval.chord.majmin), ("mirex", mir_eval.chord.mirex)):
        comp = fn(r, e)
        out[name] = float(mir_eval.chord.weighted_accuracy(comp, weights))
    return out


PART_NAMES = {"intro", "verse", "pre-chorus", "chorus", "bridge", "outro"}


def _sections(ref: list, est: list, duration: float) -> dict[str, float | None]:
    """Boundary F at 0.5 and 3 s; label agreement as mir_eval's pairwise frame F and
    normalized conditional entropy F (which parts repeat, whatever their names); and, where
    the truth names verse/chorus, the share of time the estimate gives the same name."""
    named = bool((PART_NAMES - {"intro", "outro"}) & {x[2] for x in ref})
    if not est:
        zero: dict[str, float | None] = dict.fromkeys(SECTION_METRICS, 0.0)
        return zero | {"section_names": 0.0 if named else None}
    ri = np.array([[a, b] for a, b, _ in ref])
    ei = np.array([[a, b] for a, b, _ in est])
    ei[-1, 1] = ri[-1, 1]
    out: dict[str, float | None] = {
        f"section_f_{w:g}": float(mir_eval.segment.detection(ri, ei, window=w, trim=True)[2])
        for w in (0.5, 3.0)
    }
    rl = [x[2] for x in ref]
    ei, el = mir_eval.util.adjust_intervals(
        ei, [x[2] for x in est], ri[0, 0], ri[-1, 1], "N", "N"
    )  # the estimate cut or padded to the truth's span
    out["section_pairwise_f"] = float(mir_eval.segment.pairwise(ri, rl, ei, el)[2])
    out["section_nce_f"] = float(mir_eval.segment.nce(ri, rl, ei, el)[2])
    out["section_names"] = None
    if named:
        t = np.arange(0.0, ri[-1, 1], 0.1)
        ref_at = np.array(rl)[np.searchsorted(ri[:, 1], t, side="right").clip(0, len(rl) - 1)]
        est_at = np.array(el)[np.searchsorted(ei[:, 1], t, side="right").clip(0, len(el) - 1)]
        out["section_names"] = float((ref_at == est_at).mean())
    return out


SECTION_METRICS = ("section_f_0.5", "section_f_3", "section_pairwise_f", "section_nce_f")


def _f_measure(ref: list[float], est: list[float] | None) -> float | None:
    """mir_eval's beat F-measure (±70 ms) after the standard trim of the first 5 s."""
    if est is None:
        return None
    trim = mir_eval.beat.trim_beats
    return float(mir_eval.beat.f_measure(trim(np.array(ref)), trim(np.array(est, dtype=float))))


def meter_2x(est: int, ref: int) -> float:
    """Beats per bar right, or twice or half of them: the bar one hypermetrical level up
    or down (2/4 read as 4/4, 12/8 as 6/8), as tempo Accuracy2 allows the tempo octave.
    Which of the two a score writes is often convention (reels in 2/2 or 4/4)."""
    return float(est > 0 and est in (ref, 2 * ref) or 2 * est == ref)


def score(est: Estimate, truth: Truth) -> dict[str, float | None]:
    """Every metric for one piece; None where the truth has no such annotation or the
    system does not measure that fact."""
    acc1, acc2 = tempo_accuracy(est.tempo_bpm, truth.tempo_bpm)
    bar_beats = est.bar_beats()
    ref_bar_beats = parse_meter(truth.meter).beats_per_bar
    out: dict[str, float | None] = {
        "key_weighted": None
        if est.key is None
        else mir_eval.key.weighted_score(truth.key, est.key)
        if est.key
        else 0.0,
        "tempo_acc1": acc1,
        "tempo_acc2": acc2,
        "beat_f": _f_measure(truth.beats, est.beats),
        "downbeat_f": _f_measure(truth.downbeats, est.downbeats),
        "meter": None if bar_beats is None else float(bar_beats == ref_bar_beats),
        "meter_2x": None if bar_beats is None else meter_2x(bar_beats, ref_bar_beats),
        "meter_exact": None if est.meter is None else float(est.meter == truth.meter),
    }
    out["key_sections"] = None
    if truth.keys and est.key is not None:
        whole = [(0.0, truth.duration, est.key)]
        out["key_sections"] = key_timeline(truth.keys, est.keys or whole)
    if truth.chords and est.chords is not None:
        chords = _chords(truth.chords, est.chords, truth.duration)
        out["chord_majmin"], out["chord_mirex"] = chords["majmin"], chords["mirex"]
    else:
        out["chord_majmin"] = out["chord_mirex"] = None
    if truth.sections and len(truth.sections) > 1 and est.sections is not None:
        # one section has no inner boundary: mir_eval (trim=True) would score every system 0
        out.update(_sections(truth.sections, est.sections, truth.duration))
    else:
        out.update(dict.fromkeys((*SECTION_METRICS, "section_names")))
    return out


def mean_scores(rows: list[dict[str, float | None]]) -> dict[str, float]:
    """Mean of each metric over the pieces that annotate it."""
    means = {}
    for k in rows[0] if rows else []:
        values = [v for r in rows if (v := r[k]) is not None]
        if values:
            means[k] = float(np.mean(values))
    return means
