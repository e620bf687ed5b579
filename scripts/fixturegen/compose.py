"""The seeded composition engine: a song spec becomes a music21 score with annotations.

Chords come from the spec's Roman numerals; bass, accompaniment, pad and drums follow
per-meter patterns by section energy; the melody is drawn from a generator seeded by
(song seed, section letter, bar), so a repeated section repeats its melody.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from music21 import chord, duration, instrument, key, meter, note, roman, stream, tempo

from fixturegen.catalogue import QL, Meter, Section, Song, beat_grid
from fixturegen.truth import SYNTH_LICENCE, Piece

DRUM_CHANNEL = 9  # GM channel 10, zero-based
KICK, STICK, SNARE, CLOSED_HAT, PEDAL_HAT, CRASH = 36, 37, 38, 42, 44, 49


@dataclass(frozen=True)
class Event:
    """Notes sounding together: onset and length in quarter lengths, MIDI pitches, velocity."""

    offset: QL
    dur: QL
    pitches: tuple[int, ...]
    vel: int


@dataclass
class Slot:
    """A span of one chord."""

    start: QL
    end: QL
    rn: roman.RomanNumeral
    new: bool = True  # differs from the previous slot's numeral


@dataclass
class Plan:
    """The bar and chord grid of a synthetic song."""

    spec: Song
    form: tuple[Section, ...]
    meter: Meter
    key: key.Key
    bars: list[tuple[QL, int, int]]  # (start, section index, bar index within the section)
    slots: list[Slot]
    end: QL
    patterns: Patterns
    _starts: list[QL] = field(default_factory=list)

    def slot_index(self, t: QL) -> int:
        """Index of the chord slot sounding at score position ``t``."""
        if not self._starts:
            self._starts = [s.start for s in self.slots]
        return bisect.bisect_right(self._starts, t + 1e-9) - 1

    def chord_at(self, t: QL) -> Slot:
        """The chord slot sounding at score position ``t``."""
        return self.slots[self.slot_index(t)]

    def key_of(self, si: int) -> key.Key:
        """The key of form section ``si`` (the song's key unless the section modulates)."""
        label = self.form[si].key
        return self.key if label is None else music21_key(label)

    def is_final_bar(self, start: QL) -> bool:
        """Whether the bar starting at ``start`` is the last of the song."""
        return start + self.meter.bar_ql >= self.end - 1e-9


def music21_key(label: str) -> key.Key:
    """The music21 key of a mir_eval key label ('Bb major' -> B-, 'F# minor' -> f#)."""
    tonic, mode = label.split()
    tonic = tonic.replace("b", "-")
    return key.Key(tonic.lower() if mode == "minor" else tonic)


def key_label(k: key.Key) -> str:
    """mir_eval key string, e.g. 'Bb major'."""
    return f"{k.tonic.name.replace('-', 'b')} {k.mode}"


def harte(rn: roman.RomanNumeral) -> str:
    """Harte chord label of a realised Roman numeral, e.g. 'G:7'."""
    root = rn.root().name.replace("-", "b")
    tests = (
        (rn.isDominantSeventh, "7"),
        (rn.isDiminishedSeventh, "dim7"),
        (rn.isHalfDiminishedSeventh, "hdim7"),
        (rn.isMajorTriad, "maj"),
        (rn.isMinorTriad, "min"),
        (rn.isDiminishedTriad, "dim"),
        (rn.isAugmentedTriad, "aug"),
    )
    for test, quality in tests:
        if test():
            return f"{root}:{quality}"
    raise ValueError(f"no Harte quality for {rn.figure} ({rn.pitchedCommonName})")


def pcs(rn: roman.RomanNumeral) -> list[int]:
    """Pitch classes of a chord, root first."""
    return [p.pitchClass for p in rn.pitches]


def in_range(pc: int, lo: int) -> int:
    """The MIDI pitch of class ``pc`` in ``[lo, lo + 11]``."""
    return lo + (pc - lo) % 12


def voice(rn: roman.RomanNumeral, centre: float, prev: Sequence[int] | None) -> list[int]:
    """Close-position voicing near ``centre`` with smooth motion from ``prev``."""
    classes = pcs(rn)
    best: list[int] = []
    best_cost = math.inf
    for inv in range(len(classes)):
        order = classes[inv:] + classes[:inv]
        for base in range(int(centre) - 12, int(centre) + 1):
            if base % 12 != order[0]:
                continue
            notes = [base]
            for pc in order[1:]:
                notes.append(notes[-1] + (pc - notes[-1]) % 12)
            cost = abs(np.mean(notes) - centre)
            if prev:
                cost += 0.5 * sum(min(abs(n - p) for p in prev) for n in notes) / len(notes)
            if cost < best_cost:
                best, best_cost = notes, cost
    return best


def plan_song(spec: Song) -> Plan:
    """Lay out bars and chord slots of a song."""
    m = beat_grid(spec.meter)
    k = music21_key(spec.key)
    form = spec.parts()
    bars: list[tuple[QL, int, int]] = []
    slots: list[Slot] = []
    t = 0.0
    for si, s in enumerate(form):
        slot_ql = m.bar_ql / s.per_bar
        sk = k if s.key is None else music21_key(s.key)
        for b in range(s.bars):
            bars.append((t, si, b))
            for c in range(s.per_bar):
                fig = s.chords[(b * s.per_bar + c) % len(s.chords)]
                rn = roman.RomanNumeral(fig, sk)
                slots.append(Slot(t + c * slot_ql, t + (c + 1) * slot_ql, rn))
            t += m.bar_ql
    for prev, cur in zip(slots, slots[1:], strict=False):
        cur.new = cur.rn.figure != prev.rn.figure
    last = slots[-1].rn
    if last.scaleDegree != 1 or last.root().pitchClass != k.tonic.pitchClass:
        raise ValueError(f"{spec.name}: the song must end on the tonic, not {last.figure}")
    return Plan(spec, form, m, k, bars, slots, t, patterns(spec))


BASS_PATTERNS: dict[str, dict[int, list[tuple[QL, QL, str]]]] = {  # (offset, length, R/F/O)
    "4/4": {
        0: [(0, 2, "R"), (2, 2, "R")],
        1: [(0, 1.5, "R"), (1.5, 0.5, "R"), (2, 1.5, "F"), (3.5, 0.5, "R")],
        2: [(i * 0.5, 0.5, "ROR"[i % 3] if i < 6 else "FR"[i - 6]) for i in range(8)],
    },
    "3/4": {0: [(0, 3, "R")], 1: [(0, 1, "R")], 2: [(0, 1, "R"), (2, 1, "F")]},
    "2/4": {
        0: [(0, 2, "R")],
        1: [(0, 0.5, "R"), (1, 0.5, "F")],
        2: [(0, 0.5, "R"), (1, 0.5, "F"), (1.5, 0.5, "R")],
    },
    "6/8": {
        0: [(0, 3, "R")],
        1: [(0, 1.5, "R"), (1.5, 1.5, "F")],
        2: [(0, 1, "R"), (1, 0.5, "R"), (1.5, 1, "F"), (2.5, 0.5, "R")],
    },
}

COMP_PATTERNS: dict[str, dict[int, list[tuple[QL, QL, int]]]] = {  # idx -1: block chord
    "4/4": {
        0: [(0, 2, -1), (2, 2, -1)],
        1: [(b, 0.9, -1) for b in range(4)],
        2: [(i * 0.5, 0.42, -1) for i in range(8)],
    },
    "3/4": {0: [(0, 3, -1)], 1: [(1, 0.8, -1), (2, 0.8, -1)], 2: [(1, 0.8, -1), (2, 0.8, -1)]},
    "2/4": {
        0: [(0, 2, -1)],
        1: [(0.5, 0.4, -1), (1.5, 0.4, -1)],
        2: [(0.5, 0.4, -1), (1.5, 0.4, -1)],
    },
    "6/8": {
        0: [(0, 1.5, -1), (1.5, 1.5, -1)],
        1: [(i * 0.5, 0.5, (0, 1, 2, 3, 2, 1)[i]) for i in range(6)],
        2: [(i * 0.5, 0.5, (0, 1, 2, 3, 2, 1)[i]) for i in range(6)],
    },
}

DRUM_PATTERNS: dict[str, dict[int, list[tuple[QL, int, int]]]] = {  # (offset, note, velocity)
    "4/4": {
        0: [(b, CLOSED_HAT, 55) for b in range(4)],
        1: [(0, KICK, 100), (2, KICK, 90), (1, SNARE, 92), (3, SNARE, 92)]
        + [(i * 0.5, CLOSED_HAT, 72 if i % 2 == 0 else 52) for i in range(8)],
        2: [(0, KICK, 110), (2, KICK, 100), (2.5, KICK, 85), (1, SNARE, 108), (3, SNARE, 108)]
        + [(i * 0.5, CLOSED_HAT, 88 if i % 2 == 0 else 66) for i in range(8)],
    },
    "3/4": {
        0: [(b, PEDAL_HAT, 55) for b in range(3)],
        1: [(0, KICK, 96), (1, STICK, 62), (2, STICK, 62)]
        + [(b, CLOSED_HAT, 60) for b in range(3)],
        2: [(0, KICK, 108), (1, SNARE, 80), (2, SNARE, 80)]
        + [(i * 0.5, CLOSED_HAT, 80 if i % 2 == 0 else 58) for i in range(6)],
    },
    "2/4": {
        0: [(b, CLOSED_HAT, 55) for b in range(2)],
        1: [(0, KICK, 100), (1, SNARE, 95)]
        + [(i * 0.5, CLOSED_HAT, 72 if i % 2 == 0 else 52) for i in range(4)],
        2: [(0, KICK, 110), (1, SNARE, 108), (1.5, SNARE, 80)]
        + [(i * 0.5, CLOSED_HAT, 86 if i % 2 == 0 else 62) for i in range(4)],
    },
    "6/8": {
        0: [(0, PEDAL_HAT, 55), (1.5, PEDAL_HAT, 55)],
        1: [(0, KICK, 98), (1.5, SNARE, 88)]
        + [(i * 0.5, CLOSED_HAT, 74 if i % 3 == 0 else 50) for i in range(6)],
        2: [(0, KICK, 110), (1.0, KICK, 80), (1.5, SNARE, 104)]
        + [(i * 0.5, CLOSED_HAT, 88 if i % 3 == 0 else 62) for i in range(6)],
    },
}

MELODY_RHYTHMS: dict[str, list[tuple[QL, ...]]] = {
    "4/4": [
        (1, 1, 1, 1),
        (1.5, 0.5, 1, 1),
        (2, 1, 1),
        (1, 0.5, 0.5, 2),
        (0.5, 0.5, 1, 0.5, 0.5, 1),
        (1, 1, 2),
    ],
    "3/4": [(2, 1), (1, 1, 1), (1.5, 0.5, 1), (1, 2)],
    "2/4": [(1, 1), (0.5, 0.5, 1), (1.5, 0.5), (0.5, 0.5, 0.5, 0.5)],
    "6/8": [(1.5, 1.5), (1, 0.5, 1.5), (1, 0.5, 1, 0.5), (0.5, 0.5, 0.5, 1.5), (1.5, 1, 0.5)],
}
CADENCE_RHYTHMS: dict[str, tuple[QL, ...]] = {"4/4": (2, 2), "3/4": (3,), "2/4": (2,), "6/8": (3,)}
ENERGY_VEL = {0: 52, 1: 68, 2: 86}


@dataclass(frozen=True)
class Patterns:
    """Per-energy bass, comping and drum patterns, melody rhythms and the cadence rhythm."""

    bass: dict[int, list[tuple[QL, QL, str]]]
    comp: dict[int, list[tuple[QL, QL, int]]]
    drums: dict[int, list[tuple[QL, int, int]]]
    rhythms: list[tuple[QL, ...]]
    cadence: tuple[QL, ...]


def strong_beats(n: int) -> list[int]:
    """Beats that start a group: 4 = 2+2, 5 = 3+2, 6 = 3+3; 2 and 3 are one group."""
    return {4: [0, 2], 5: [0, 3], 6: [0, 3]}.get(n, [0])


def generic_patterns(m: Meter) -> Patterns:
    """Patterns for any meter from its beats, beat length and subdivision (2/2, 12/8, 5/4,
    3/8, 9/8): roots on group starts, kick on group starts, snare on the other beats."""
    n, b = m.beats, m.beat_ql
    sub = 3 if b == 1.5 else 2
    s = b / sub
    strong = strong_beats(n)
    ends = [*strong[1:], n]
    weak = [k for k in range(n) if k not in strong]
    subs = range(n * sub)
    bass = {
        0: [(g * b, (e - g) * b, "R") for g, e in zip(strong, ends, strict=True)],
        1: [
            (g * b, (e - g) * b, "R" if i == 0 else "F")
            for i, (g, e) in enumerate(zip(strong, ends, strict=True))
        ],
        2: [(k * b, b, "R" if k in strong else ("O" if k % 2 else "F")) for k in range(n)],
    }
    comp = {
        0: [(g * b, (e - g) * b, -1) for g, e in zip(strong, ends, strict=True)],
        1: [(k * b, 0.9 * b, -1) for k in range(n)],
        2: [(i * s, 0.85 * s, -1 if sub == 2 else (0, 1, 2)[i % 3]) for i in subs],
    }
    drums = {
        0: [(k * b, PEDAL_HAT, 55) for k in range(n)],
        1: [(g * b, KICK, 98) for g in strong]
        + [(k * b, SNARE, 88) for k in weak if k % 2 or n == 3 or len(weak) == 1]
        + [(i * s, CLOSED_HAT, 74 if i % sub == 0 else 50) for i in subs],
        2: [(g * b, KICK, 110) for g in strong]
        + [(g * b + (sub - 1) * s, KICK, 82) for g in strong]
        + [(k * b, SNARE, 104) for k in weak]
        + [(i * s, CLOSED_HAT, 88 if i % sub == 0 else 62) for i in subs],
    }
    rhythms: list[tuple[QL, ...]] = [
        (b,) * n,
        (s,) * sub + (b,) * (n - 1),
        (b,) * (n - 1) + (s,) * sub,
    ]
    if n >= 3:
        rhythms += [(2 * b,) + (b,) * (n - 2), (b,) * (n - 2) + (2 * b,)]
    else:
        rhythms.append((b + s, b - s))
    cadence = (3 * b, 2 * b) if n == 5 else (n * b / 2,) * 2 if n in (4, 6) else (n * b,)
    return Patterns(bass, comp, drums, rhythms, cadence)


def syncopate(p: Patterns, m: Meter) -> Patterns:
    """Off-beat comping (the push of ragtime, ska, funk) and melody rhythms that tie across
    the beat."""
    n, b = m.beats, m.beat_ql
    s = b / (3 if b == 1.5 else 2)
    offbeats = [(k * b + s, 0.8 * s, -1) for k in range(n)]
    rhythms = [
        (s,) + (b,) * (n - 1) + (b - s,),
        (b + s, b - s) + (b,) * (n - 2),
        (b - s, 2 * s) + (b - s,) + (b,) * (n - 2) if n >= 2 else (b,),
    ]
    return Patterns(p.bass, {**p.comp, 1: offbeats}, p.drums, p.rhythms + rhythms, p.cadence)


ALBERTI = (0, 2, 1, 2)  # low, high, middle, high voicing note


def broken(step: QL, n: int, order: Sequence[int] = ALBERTI, start: QL = 0.0) -> list:
    """``n`` single notes ``step`` apart cycling through the voicing indices ``order``."""
    return [(start + i * step, step, order[i % len(order)]) for i in range(n)]


def blocks(offsets: Sequence[QL], length: QL) -> list:
    """Block chords at ``offsets``."""
    return [(off, length, -1) for off in offsets]


# classical accompaniments per meter and energy, each a list of variants (one per song):
# Alberti basses, waltz and minuet after-beats, polonaise and siciliano rhythms, repeated
# string chords, broken chords in the compound meters
CLASSICAL_COMP: dict[str, dict[int, list[list[tuple[QL, QL, int]]]]] = {
    "4/4": {
        0: [blocks([0, 2], 1.9), blocks([0], 3.9)],
        1: [broken(0.5, 8), broken(0.5, 8, (0, 1, 2, 1))],
        2: [broken(0.25, 16), blocks([i * 0.5 for i in range(8)], 0.45)],
    },
    "3/4": {
        0: [blocks([0], 2.9), blocks([0, 2], 0.9)],
        1: [blocks([1, 2], 0.8), broken(0.5, 6, (0, 2, 1, 2, 1, 2))],
        2: [
            blocks([0, 0.5, 0.75, 1, 1.5, 2, 2.5], 0.24),  # polonaise
            broken(0.25, 12),
        ],
    },
    "2/4": {
        0: [blocks([0, 1], 0.9), blocks([0], 1.9)],
        1: [broken(0.25, 8), blocks([0.5, 1.5], 0.4)],
        2: [blocks([i * 0.5 for i in range(4)], 0.4), broken(0.25, 8, (0, 1, 2, 1))],
    },
    "6/8": {
        0: [blocks([0, 1.5], 1.4), blocks([0, 1, 1.5, 2.5], 0.45)],
        1: [broken(0.5, 6, (0, 1, 2, 3, 2, 1)), blocks([0.5, 1, 2, 2.5], 0.45)],
        2: [broken(0.5, 6, (0, 2, 1, 2, 1, 2)), broken(0.25, 12, (0, 1, 2, 3, 2, 1))],
    },
    "2/2": {
        0: [blocks([0, 2], 1.9), blocks([0], 3.9)],
        1: [broken(0.5, 8), blocks([1, 3], 0.9)],
        2: [blocks(range(4), 0.9), broken(0.5, 8, (0, 1, 2, 1))],
    },
    "3/8": {
        0: [blocks([0], 1.4), blocks([0, 1], 0.45)],
        1: [blocks([0.5, 1], 0.4), broken(0.25, 6, (0, 2, 1, 2, 1, 2))],
        2: [broken(0.25, 6, (0, 2, 1, 2, 1, 2)), blocks([0, 0.5, 1], 0.45)],
    },
}
CLASSICAL_RHYTHMS: dict[str, list[tuple[QL, ...]]] = {
    "4/4": [
        (1, 1, 1, 1),
        (1.5, 0.5, 1, 1),
        (2, 1, 1),
        (0.75, 0.25, 0.75, 0.25, 2),
        (0.25, 0.25, 0.25, 0.25, 1, 2),
        (0.5, 0.5, 0.5, 0.5, 1, 1),
        (3, 1),
    ],
    "3/4": [(2, 1), (1, 1, 1), (1.5, 0.5, 1), (0.75, 0.25, 1, 1), (0.5, 0.5, 0.5, 0.5, 1)]
    + [(0.25, 0.25, 0.5, 1, 1), (3,)],
    "2/4": [(1, 1), (0.5, 0.5, 1), (0.75, 0.25, 1), (0.25, 0.25, 0.25, 0.25, 1), (2,)],
    "6/8": [(1.5, 1.5), (1, 0.5, 1.5), (0.75, 0.25, 0.5, 1.5), (0.5,) * 6, (3,), (1.5, 1, 0.5)],
    "2/2": [(2, 2), (1, 1, 2), (1.5, 0.5, 1, 1), (0.5, 0.5, 0.5, 0.5, 2), (3, 1)],
    "3/8": [(1, 0.5), (0.5, 0.5, 0.5), (0.75, 0.25, 0.5), (0.25,) * 4 + (0.5,), (1.5,)],
}


def classical_patterns(spec: Song) -> Patterns:
    """A classical texture: the generic bass and cadence, no drums, one accompaniment
    variant per energy drawn from the song's seed, and melody rhythms with dotted and
    running figures; the compound meters without hand-written figures break the chord
    in eighths."""
    m = beat_grid(spec.meter)
    p = generic_patterns(m)
    rng = np.random.default_rng([spec.seed, 7])
    if spec.meter in CLASSICAL_COMP:
        comp = {e: v[int(rng.integers(len(v)))] for e, v in CLASSICAL_COMP[spec.meter].items()}
        rhythms = CLASSICAL_RHYTHMS[spec.meter]
    else:
        eighths = round(m.bar_ql / 0.5)
        comp = {0: p.comp[0], 1: broken(0.5, eighths, (0, 1, 2, 1, 2, 1)), 2: p.comp[2]}
        rhythms = p.rhythms
    return Patterns(p.bass, comp, {0: [], 1: [], 2: []}, rhythms, p.cadence)


def patterns(spec: Song) -> Patterns:
    """The patterns of a song: hand-written for 4/4, 3/4, 2/4 and 6/8, generic otherwise;
    a classical texture has its own accompaniments and melody rhythms."""
    if spec.texture == "classical":
        return classical_patterns(spec)
    m = beat_grid(spec.meter)
    if spec.meter in BASS_PATTERNS:
        p = Patterns(
            BASS_PATTERNS[spec.meter],
            COMP_PATTERNS[spec.meter],
            DRUM_PATTERNS[spec.meter],
            MELODY_RHYTHMS[spec.meter],
            CADENCE_RHYTHMS[spec.meter],
        )
    else:
        p = generic_patterns(m)
    return syncopate(p, m) if spec.syncopation else p


def bass_events(plan: Plan) -> list[Event]:
    """Bass line: roots on downbeats and chord changes, fifths in between."""
    events = []
    for start, si, _ in plan.bars:
        s = plan.form[si]
        pattern = (
            [(0.0, plan.meter.bar_ql, "R")]
            if plan.is_final_bar(start)
            else plan.patterns.bass[s.energy]
        )
        for off, length, kind in pattern:
            slot = plan.chord_at(start + off)
            root = in_range(slot.rn.root().pitchClass, 36)
            if kind == "F" and not (slot.new and abs(slot.start - start - off) < 1e-9):
                pitch = in_range(slot.rn.fifth.pitchClass, root) if slot.rn.fifth else root
                pitch = pitch if pitch <= 50 else pitch - 12
            else:
                pitch = root + 12 if kind == "O" else root
            vel = ENERGY_VEL[s.energy] + 14 + (6 if off == 0 else 0)
            events.append(
                Event(start + off, length * (0.97 if length >= 1 else 0.85), (pitch,), vel)
            )
    return events


def comp_events(plan: Plan, centre: float) -> list[Event]:
    """Accompaniment that follows the meter (comping, oom-pah-pah, arpeggios, march)."""
    events = []
    voicings: dict[int, list[int]] = {}
    prev: list[int] | None = None
    for i, slot in enumerate(plan.slots):
        prev = voicings[i] = voice(slot.rn, centre, prev)
    for start, si, _ in plan.bars:
        s = plan.form[si]
        final = plan.is_final_bar(start)
        pattern = [(0.0, plan.meter.bar_ql, -1)] if final else plan.patterns.comp[s.energy]
        for off, length, idx in pattern:
            notes = voicings[plan.slot_index(start + off)]
            if idx >= 0:
                notes = [notes[idx] if idx < len(notes) else notes[0] + 12]
            vel = ENERGY_VEL[s.energy] + (8 if off == 0 else 0)
            events.append(Event(start + off, length * 0.98, tuple(notes), vel))
    return events


def pad_events(plan: Plan) -> list[Event]:
    """Sustained chords that thicken the full (energy 2) sections and the final bar."""
    events = []
    prev: list[int] | None = None
    for slot in plan.slots:
        notes = voice(slot.rn, 67, prev)
        prev = notes
        si = next(b[1] for b in reversed(plan.bars) if b[0] <= slot.start + 1e-9)
        if plan.form[si].energy >= 2 or slot.end >= plan.end - 1e-9:
            events.append(Event(slot.start, (slot.end - slot.start) * 0.98, tuple(notes), 60))
    return events


def melody_range(k: key.Key, energy: int) -> tuple[int, int, float]:
    """Lowest and highest melody pitch and the register centre for a section in key ``k``."""
    tonic = k.tonic.pitchClass
    centre = 72 + ((tonic + 6) % 12 - 6) + (4 if energy >= 2 else 0)
    return centre - 9, centre + 10, float(centre)


def allowed_pitches(k: key.Key, rn: roman.RomanNumeral, lo: int, hi: int) -> list[int]:
    """Scale tones that do not clash with chromatic chord tones, plus the chord tones."""
    scale = {p.pitchClass for p in k.pitches}
    chord_pcs = set(pcs(rn))
    chromatic = chord_pcs - scale
    ok = {pc for pc in scale if all(min((pc - c) % 12, (c - pc) % 12) > 1 for c in chromatic)}
    ok |= chord_pcs
    return [p for p in range(lo, hi + 1) if p % 12 in ok]


def pick(rng: np.random.Generator, cands: Sequence[int], prev: int, centre: float) -> int:
    """Choose a pitch near the previous one and the register centre."""
    c = np.asarray(cands, dtype=float)
    w = np.exp(-np.abs(c - prev) / 2.5 - np.abs(c - centre) / 8.0)
    w[c == prev] *= 0.15
    return int(rng.choice(np.asarray(cands), p=w / w.sum()))


def melody_events(plan: Plan) -> list[Event]:
    """Seeded melody from chord tones on beats and scale tones between them.

    Each bar draws from a generator seeded by (song, section letter, bar), so a repeated
    section repeats its melody; a primed section (A') re-draws its second half.
    """
    events: list[Event] = []
    m = plan.meter
    prev = 0
    for start, si, b in plan.bars:
        s = plan.form[si]
        if not s.melody:
            continue
        sk = plan.key_of(si)
        lo, hi, centre = melody_range(sk, s.energy)
        if b == 0:
            prev = int(centre)
        varied = s.label.endswith("'") and b >= s.bars // 2
        tag = s.label if varied else s.label.rstrip("'")
        rng = np.random.default_rng([plan.spec.seed, zlib.crc32(tag.encode()), b])
        final = plan.is_final_bar(start)
        cadence = b == s.bars - 1 or b % 4 == 3 or final
        rhythms = plan.patterns.rhythms
        rhythm = plan.patterns.cadence if cadence else rhythms[rng.integers(len(rhythms))]
        off = 0.0
        for j, length in enumerate(rhythm):
            slot = plan.chord_at(start + off)
            chord_tones = [p for p in range(lo, hi + 1) if p % 12 in pcs(slot.rn)]
            if cadence and j == len(rhythm) - 1 and (b == s.bars - 1 or final):
                root = slot.rn.root().pitchClass
                cands = [p for p in chord_tones if p % 12 == root]
            elif abs(off % m.beat_ql) < 1e-9:
                cands = chord_tones
            else:
                cands = [p for p in allowed_pitches(sk, slot.rn, lo, hi) if abs(p - prev) <= 4]
                cands = cands or chord_tones
            prev = pick(rng, cands, prev, centre)
            vel = ENERGY_VEL[s.energy] + 22 + (6 if off == 0 else 0) + int(rng.integers(-4, 5))
            events.append(Event(start + off, length * 0.92, (prev,), min(vel, 120)))
            off += length
    return events


def drum_events(plan: Plan) -> list[Event]:
    """GM drum kit: kick on downbeats, snare on backbeats, hats, crashes and fills."""
    events = []
    m = plan.meter
    for i, (start, si, b) in enumerate(plan.bars):
        s = plan.form[si]
        if plan.is_final_bar(start):
            events += [Event(start, 1.0, (CRASH,), 100), Event(start, 1.0, (KICK,), 105)]
            continue
        hits = list(plan.patterns.drums[s.energy])
        nxt = plan.form[plan.bars[i + 1][1]]
        if b == s.bars - 1 and nxt.energy > s.energy:  # fill into a fuller section
            fill_at = m.bar_ql - m.beat_ql
            step = m.beat_ql / (3 if m.beat_ql == 1.5 else 4)
            hits = [h for h in hits if h[0] < fill_at - 1e-9]
            n_fill = round(m.beat_ql / step)
            hits += [(fill_at + k * step, SNARE, 70 + 10 * k) for k in range(n_fill)]
        if b == 0 and s.energy >= 2:
            hits.append((0.0, CRASH, 96))
        events += [Event(start + off, 0.25, (pitch,), vel) for off, pitch, vel in hits]
    return events


def tempo_map(plan: Plan) -> list[tuple[QL, float]]:
    """(offset, quarter-note BPM) events: one constant tempo, one per section for step
    changes, or one per beat for a drift."""
    spec, m = plan.spec, plan.meter
    if spec.tempo_steps is not None:
        starts = [plan.bars[0][0]] + [start for start, si, b in plan.bars if b == 0 and si > 0]
        return [(t, bpm * m.beat_ql) for t, bpm in zip(starts, spec.tempo_steps, strict=True)]
    if spec.bpm_end is None:
        return [(0.0, spec.bpm * m.beat_ql)]
    n = round(plan.end / m.beat_ql)
    return [
        (k * m.beat_ql, (spec.bpm + (spec.bpm_end - spec.bpm) * k / (n - 1)) * m.beat_ql)
        for k in range(n)
    ]


def swing_warp(ratio: float) -> Callable[[QL], QL]:
    """Score time to played time with the off-beat eighth of each quarter at ``ratio``
    (0.5 straight, 2/3 triplet swing); beats themselves do not move."""

    def warp(t: QL) -> QL:
        beat, frac = divmod(t, 1.0)
        if frac <= 0.5:
            return beat + frac * 2 * ratio
        return beat + ratio + (frac - 0.5) * 2 * (1 - ratio)

    return warp


def events_to_part(
    events: Sequence[Event],
    program: int,
    name: str,
    channel: int | None = None,
    warp: Callable[[QL], QL] | None = None,
    shift: QL = 0.0,
) -> stream.Part:
    """A music21 part holding the events (simultaneous notes become chords); ``warp``
    maps score time to played time (swing), ``shift`` delays everything (a pickup)."""
    part = stream.Part()
    part.partName = name
    inst = instrument.Instrument()
    inst.instrumentName = name
    inst.midiProgram = program
    if channel is not None:
        inst.midiChannel = channel
    part.insert(0, inst)
    for ev in events:
        start, end = ev.offset, ev.offset + ev.dur
        if warp is not None:
            start, end = warp(start), warp(end)
        part.insert(round(start + shift, 6), event_note(ev, round(end - start, 6)))
    return part


def event_note(ev: Event, length: QL) -> note.Note | chord.Chord:
    """A music21 note (or chord) of the event's pitches and velocity."""
    obj = note.Note(ev.pitches[0]) if len(ev.pitches) == 1 else chord.Chord(list(ev.pitches))
    obj.duration = duration.Duration(length)
    obj.volume.velocity = ev.vel
    return obj


def pickup_events(plan: Plan, drums: bool) -> list[Event]:
    """The anacrusis, in its own time from 0: melody notes climbing to the first bar (up
    from the dominant), or a snare pick-up on each subdivision."""
    m, n = plan.meter, plan.spec.pickup
    if drums:
        step = m.beat_ql / (3 if m.beat_ql == 1.5 else 2)
        k = round(n * m.beat_ql / step)
        return [Event(i * step, step * 0.5, (SNARE,), 60 + 40 * i // k) for i in range(k)]
    lo, _, centre = melody_range(plan.key, 1)
    degrees = (5, 6, 7)[3 - n :]
    out = []
    for i, d in enumerate(degrees):
        pc = plan.key.pitchFromDegree(d).pitchClass
        out.append(Event(i * m.beat_ql, m.beat_ql * 0.9, (in_range(pc, int(centre) - 7),), 84))
    return out


def comp_centre(spec: Song) -> float:
    """The accompaniment's register: a left hand for a classical texture, lower in 6/8."""
    return 55 if spec.texture == "classical" else 57 if spec.meter == "6/8" else 62


def build_score(plan: Plan) -> tuple[stream.Score, list[int]]:
    """Assemble the parts, meter, key and tempo marks; returns the score and GM programs."""
    band, spec = plan.spec.band, plan.spec
    shift = spec.pickup * plan.meter.beat_ql
    roles: list[tuple[str, int, list[Event], int | None]] = [
        ("melody", band.melody, melody_events(plan), None),
        ("comp", band.comp, comp_events(plan, comp_centre(plan.spec)), None),
        ("bass", band.bass, bass_events(plan), None),
    ]
    if band.pad is not None:
        roles.append(("pad", band.pad, pad_events(plan), None))
    if plan.spec.drums:
        roles.append(("drums", 0, drum_events(plan), DRUM_CHANNEL))
    warp = swing_warp(spec.swing) if spec.swing != 0.5 else None
    score = stream.Score()
    programs = []
    for i, (role, program, events, channel) in enumerate(roles):
        if not events:
            continue
        part = events_to_part(events, program, role, channel, warp, shift)
        if shift and role == ("drums" if spec.drums else "melody"):
            for ev in pickup_events(plan, spec.drums):
                part.insert(ev.offset, event_note(ev, ev.dur))
        part.insert(0, meter.TimeSignature(plan.spec.meter))
        part.insert(0, key.KeySignature(plan.key.sharps))
        if i == 0:
            marks = tempo_map(plan)
            if shift:
                part.insert(
                    0, tempo.MetronomeMark(number=marks[0][1], referent=duration.Duration(1.0))
                )
            for off, qbpm in marks:
                part.insert(
                    off + shift, tempo.MetronomeMark(number=qbpm, referent=duration.Duration(1.0))
                )
        score.insert(0, part)
        if channel is None:
            programs.append(program)
    return score, programs


def compose(spec: Song) -> Piece:
    """Compose a synthetic song and annotate it in score time (a pickup starts at 0 and
    shifts the bars by its length)."""
    plan = plan_song(spec)
    score, programs = build_score(plan)
    m = plan.meter
    shift = spec.pickup * m.beat_ql
    n_beats = round(plan.end / m.beat_ql) + spec.pickup
    chords = [(s.start + shift, s.end + shift, harte(s.rn)) for s in plan.slots]
    if shift:
        chords.insert(0, (0.0, shift, "N"))
    sections, keys = [], []
    t = shift
    for s in plan.form:
        sections.append((t, t + s.bars * m.bar_ql, s.label))
        keys.append((t, t + s.bars * m.bar_ql, s.key or spec.key))
        t += s.bars * m.bar_ql
    sections[0] = (0.0, *sections[0][1:])
    keys[0] = (0.0, *keys[0][1:])
    modulates = any(s.key not in (None, spec.key) for s in plan.form)
    return Piece(
        spec.name,
        "synthetic",
        SYNTH_LICENCE,
        spec.description,
        score,
        spec.meter,
        key_label(plan.key),
        None if spec.bpm_end or spec.tempo_steps else float(spec.bpm),
        [k * m.beat_ql for k in range(n_beats)],
        [b[0] + shift for b in plan.bars],
        plan.end + shift,
        chords,
        sections,
        programs,
        spec.drums,
        pickup=shift > 0,
        keys=keys if modulates else None,
    )
