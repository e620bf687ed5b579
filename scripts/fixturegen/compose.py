"""The seeded composition engine: a song spec becomes a music21 score with annotations.

Chords come from the spec's Roman numerals; bass, accompaniment, pad and drums follow
per-meter patterns by section energy; the melody is drawn from a generator seeded by
(song seed, section letter, bar), so a repeated section repeats its melody.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Sequence
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
    _starts: list[QL] = field(default_factory=list)

    def slot_index(self, t: QL) -> int:
        """Index of the chord slot sounding at score position ``t``."""
        if not self._starts:
            self._starts = [s.start for s in self.slots]
        return bisect.bisect_right(self._starts, t + 1e-9) - 1

    def chord_at(self, t: QL) -> Slot:
        """The chord slot sounding at score position ``t``."""
        return self.slots[self.slot_index(t)]

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
        for b in range(s.bars):
            bars.append((t, si, b))
            for c in range(s.per_bar):
                fig = s.chords[(b * s.per_bar + c) % len(s.chords)]
                rn = roman.RomanNumeral(fig, k)
                slots.append(Slot(t + c * slot_ql, t + (c + 1) * slot_ql, rn))
            t += m.bar_ql
    for prev, cur in zip(slots, slots[1:], strict=False):
        cur.new = cur.rn.figure != prev.rn.figure
    last = slots[-1].rn
    if last.scaleDegree != 1 or last.root().pitchClass != k.tonic.pitchClass:
        raise ValueError(f"{spec.name}: the song must end on the tonic, not {last.figure}")
    return Plan(spec, form, m, k, bars, slots, t)


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


def bass_events(plan: Plan) -> list[Event]:
    """Bass line: roots on downbeats and chord changes, fifths in between."""
    events = []
    for start, si, _ in plan.bars:
        s = plan.form[si]
        pattern = (
            [(0.0, plan.meter.bar_ql, "R")]
            if plan.is_final_bar(start)
            else BASS_PATTERNS[plan.spec.meter][s.energy]
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
        pattern = (
            [(0.0, plan.meter.bar_ql, -1)] if final else COMP_PATTERNS[plan.spec.meter][s.energy]
        )
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


def melody_range(plan: Plan, energy: int) -> tuple[int, int, float]:
    """Lowest and highest melody pitch and the register centre for a section."""
    tonic = plan.key.tonic.pitchClass
    centre = 72 + ((tonic + 6) % 12 - 6) + (4 if energy >= 2 else 0)
    return centre - 9, centre + 10, float(centre)


def allowed_pitches(plan: Plan, rn: roman.RomanNumeral, lo: int, hi: int) -> list[int]:
    """Scale tones that do not clash with chromatic chord tones, plus the chord tones."""
    scale = {p.pitchClass for p in plan.key.pitches}
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
        lo, hi, centre = melody_range(plan, s.energy)
        if b == 0:
            prev = int(centre)
        varied = s.label.endswith("'") and b >= s.bars // 2
        tag = s.label if varied else s.label.rstrip("'")
        rng = np.random.default_rng([plan.spec.seed, zlib.crc32(tag.encode()), b])
        final = plan.is_final_bar(start)
        cadence = b == s.bars - 1 or b % 4 == 3 or final
        rhythm = (
            CADENCE_RHYTHMS[plan.spec.meter]
            if cadence
            else MELODY_RHYTHMS[plan.spec.meter][rng.integers(len(MELODY_RHYTHMS[plan.spec.meter]))]
        )
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
                cands = [p for p in allowed_pitches(plan, slot.rn, lo, hi) if abs(p - prev) <= 4]
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
        hits = list(DRUM_PATTERNS[plan.spec.meter][s.energy])
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
    """(offset, quarter-note BPM) events: one constant tempo or one per beat for a drift."""
    spec, m = plan.spec, plan.meter
    if spec.bpm_end is None:
        return [(0.0, spec.bpm * m.beat_ql)]
    n = round(plan.end / m.beat_ql)
    return [
        (k * m.beat_ql, (spec.bpm + (spec.bpm_end - spec.bpm) * k / (n - 1)) * m.beat_ql)
        for k in range(n)
    ]


def events_to_part(
    events: Sequence[Event], program: int, name: str, channel: int | None = None
) -> stream.Part:
    """A music21 part holding the events (simultaneous notes become chords)."""
    part = stream.Part()
    part.partName = name
    inst = instrument.Instrument()
    inst.instrumentName = name
    inst.midiProgram = program
    if channel is not None:
        inst.midiChannel = channel
    part.insert(0, inst)
    for ev in events:
        obj = note.Note(ev.pitches[0]) if len(ev.pitches) == 1 else chord.Chord(list(ev.pitches))
        obj.duration = duration.Duration(ev.dur)
        obj.volume.velocity = ev.vel
        part.insert(ev.offset, obj)
    return part


def build_score(plan: Plan) -> tuple[stream.Score, list[int]]:
    """Assemble the parts, meter, key and tempo marks; returns the score and GM programs."""
    band = plan.spec.band
    roles: list[tuple[str, int, list[Event], int | None]] = [
        ("melody", band.melody, melody_events(plan), None),
        ("comp", band.comp, comp_events(plan, 57 if plan.spec.meter == "6/8" else 62), None),
        ("bass", band.bass, bass_events(plan), None),
    ]
    if band.pad is not None:
        roles.append(("pad", band.pad, pad_events(plan), None))
    if plan.spec.drums:
        roles.append(("drums", 0, drum_events(plan), DRUM_CHANNEL))
    score = stream.Score()
    programs = []
    for i, (role, program, events, channel) in enumerate(roles):
        if not events:
            continue
        part = events_to_part(events, program, role, channel)
        part.insert(0, meter.TimeSignature(plan.spec.meter))
        part.insert(0, key.KeySignature(plan.key.sharps))
        if i == 0:
            for off, qbpm in tempo_map(plan):
                part.insert(off, tempo.MetronomeMark(number=qbpm, referent=duration.Duration(1.0)))
        score.insert(0, part)
        if channel is None:
            programs.append(program)
    return score, programs


def compose(spec: Song) -> Piece:
    """Compose a synthetic song and annotate it in score time."""
    plan = plan_song(spec)
    score, programs = build_score(plan)
    m = plan.meter
    n_beats = round(plan.end / m.beat_ql)
    chords = [(s.start, s.end, harte(s.rn)) for s in plan.slots]
    sections = []
    t = 0.0
    for s in plan.form:
        sections.append((t, t + s.bars * m.bar_ql, s.label))
        t += s.bars * m.bar_ql
    return Piece(
        spec.name,
        "synthetic",
        SYNTH_LICENCE,
        spec.description,
        score,
        spec.meter,
        key_label(plan.key),
        None if spec.bpm_end else float(spec.bpm),
        [k * m.beat_ql for k in range(n_beats)],
        [b[0] for b in plan.bars],
        plan.end,
        chords,
        sections,
        programs,
        spec.drums,
    )
