"""Public-domain scores from the music21 corpus, expanded and re-orchestrated as written."""

from __future__ import annotations

import copy

import numpy as np
import pretty_midi
from music21 import bar, corpus, duration, instrument, key, meter, stream, tempo

from fixturegen.catalogue import QL, CorpusPiece, Meter, beat_grid
from fixturegen.truth import Piece

CORPUS_LICENCE = "public domain score (music21 corpus)"


def repeat_sections(part: stream.Part) -> list[tuple[QL, QL, str]]:
    """Sections of the repeat-expanded part: each repeat span (or plain span) is a letter."""
    if part.recurse().getElementsByClass("RepeatBracket"):
        raise ValueError("first/second-time endings are not supported")
    marks: list[tuple[QL, str]] = []
    for m in part.getElementsByClass(stream.Measure):
        if isinstance(m.leftBarline, bar.Repeat) and m.leftBarline.direction == "start":
            marks.append((m.offset, "start"))
        if isinstance(m.rightBarline, bar.Repeat) and m.rightBarline.direction == "end":
            marks.append((m.offset + m.duration.quarterLength, "end"))
    end = part.highestTime
    cuts = sorted({0.0, end, *(t for t, _ in marks)})
    ends = {t for t, d in marks if d == "end"}
    out: list[tuple[QL, QL, str]] = []
    t = 0.0
    for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        letter = chr(ord("A") + i)
        for _ in range(2 if b in ends else 1):
            out.append((t, t + b - a, letter))
            t += b - a
    return out


def concat_passes(score: stream.Score, passes: int) -> stream.Score:
    """Play a (repeat-expanded) score several times in a row."""
    if passes == 1:
        return score
    out = stream.Score()
    for part in score.parts:
        new = stream.Part()
        for _ in range(passes):
            for m in part.getElementsByClass(stream.Measure):
                new.append(copy.deepcopy(m))
        out.insert(0, new)
    return out


def metric_grid(part: stream.Part, m: Meter) -> tuple[list[QL], list[QL]]:
    """Beats and downbeats of an expanded part, allowing a pickup (anacrusis)."""
    measures = list(part.getElementsByClass(stream.Measure))
    first = measures[0].duration.quarterLength
    phase = (m.bar_ql - first) % m.bar_ql  # metric position of offset 0
    for meas in measures:
        full = abs(meas.duration.quarterLength - m.bar_ql) < 1e-9
        if full and abs((phase + meas.offset) % m.bar_ql) > 1e-9:
            raise ValueError(f"measure {meas.number} at {meas.offset} is off the bar grid")
    end = part.highestTime
    beats = list(np.arange((-phase) % m.beat_ql, end - 1e-9, m.beat_ql))
    downbeats = list(np.arange((-phase) % m.bar_ql, end - 1e-9, m.bar_ql))
    return [float(b) for b in beats], [float(d) for d in downbeats]


def bass_note(score: stream.Score, excerpt: bool) -> str:
    """The name of the bass part's final note (of a whole piece) or first (of an excerpt,
    which need not end at home), flats written ``b``."""
    notes = score.parts[-1].flatten().notes
    note = notes.first() if excerpt else notes.last()
    if note is None:
        raise ValueError("no notes")
    return note.pitches[0].name.replace("-", "b")


def signature_key(score: stream.Score, excerpt: bool = False) -> str:
    """The key of the key signature (major, else minor) whose tonic is the bass note
    (`bass_note`), or ValueError."""
    ks = score.recurse().getElementsByClass(key.KeySignature).first()
    if ks is None:
        raise ValueError("no key signature")
    bass = bass_note(score, excerpt)
    for mode in ("major", "minor"):
        if ks.asKey(mode).tonic.name.replace("-", "b") == bass:
            return f"{bass} {mode}"
    raise ValueError(f"the bass note {bass} is no tonic of {ks}")


def check_stated_key(score: stream.Score, stated: str, excerpt: bool = False) -> None:
    """The stated key must match the key signature and the bass note (`bass_note`)."""
    tonic, mode = stated.split()
    ks = score.recurse().getElementsByClass(key.KeySignature).first()
    if ks is None or ks.asKey(mode).tonic.name.replace("-", "b") != tonic:
        raise ValueError(f"key signature {ks} does not give {stated}")
    if (bass := bass_note(score, excerpt)) != tonic:
        raise ValueError(f"bass note {bass} is not the tonic of {stated}")


def excerpt(score: stream.Score, bars: int) -> stream.Score:
    """The first ``bars`` measures (a pickup measure 0 as well), played straight through:
    repeat barlines and tempo indications removed; first/second-time endings refused."""
    part = score.parts[0].getElementsByClass(stream.Measure)
    first = part.first().number
    out = score.measures(first, first + bars - 1)
    if out.recurse().getElementsByClass("RepeatBracket"):
        raise ValueError("first/second-time endings are not supported")
    for m in out.recurse().getElementsByClass(stream.Measure):
        for side in ("leftBarline", "rightBarline"):
            if isinstance(getattr(m, side), bar.Repeat):
                setattr(m, side, None)
    for mark in list(out.recurse().getElementsByClass(tempo.TempoIndication)):
        mark.activeSite.remove(mark)
    return out


def load_corpus(spec: CorpusPiece) -> Piece:
    """Load, expand and re-orchestrate a corpus score and annotate it in score time."""
    original = corpus.parse(spec.work)
    if spec.bars is not None:
        original = excerpt(original, spec.bars)
    if original.recurse().getElementsByClass("ChordSymbol"):
        raise ValueError("scores with chord symbols are not handled")
    check_stated_key(original, spec.key, excerpt=spec.bars is not None)
    ts = original.recurse().getElementsByClass(meter.TimeSignature).first()
    signatures = {t.ratioString for t in original.recurse().getElementsByClass(meter.TimeSignature)}
    if len(signatures) > 1:
        raise ValueError(f"the meter changes ({', '.join(sorted(signatures))})")
    if ts.ratioString != spec.meter:
        raise ValueError(f"{spec.work} is in {ts.ratioString}, not {spec.meter}")
    m = beat_grid(ts.ratioString)
    sections = repeat_sections(original.parts[0])
    score = concat_passes(original.expandRepeats(), spec.passes)
    one_pass = sections[-1][1]
    if abs(score.highestTime - one_pass * spec.passes) > 1e-9:
        raise ValueError("repeat expansion does not match the repeat barlines")
    sections = [
        (a + p * one_pass, b + p * one_pass, lab)
        for p in range(spec.passes)
        for a, b, lab in sections
    ]
    if len(spec.programs) != len(score.parts):
        raise ValueError(f"{spec.work} has {len(score.parts)} parts")
    for part, program in zip(score.parts, spec.programs, strict=True):
        for obj in list(
            part.recurse().getElementsByClass((instrument.Instrument, tempo.MetronomeMark))
        ):
            obj.activeSite.remove(obj)
        # repeat expansion re-inserts the signatures; MIDI readers would restart bars there
        for cls in (meter.TimeSignature, key.KeySignature):
            for obj in list(part.recurse().getElementsByClass(cls))[1:]:
                obj.activeSite.remove(obj)
        inst = instrument.Instrument()
        inst.midiProgram = program
        inst.instrumentName = pretty_midi.program_to_instrument_name(program)
        first = part.getElementsByClass(stream.Measure).first()
        first.insert(0, inst)
        if part is score.parts[0]:
            first.insert(
                0, tempo.MetronomeMark(number=spec.bpm * m.beat_ql, referent=duration.Duration(1.0))
            )
    beats, downbeats = metric_grid(score.parts[0], m)
    first_len = score.parts[0].getElementsByClass(stream.Measure).first().duration.quarterLength
    return Piece(
        spec.name,
        f"music21:{spec.work}",
        CORPUS_LICENCE,
        spec.description,
        score,
        ts.ratioString,
        spec.key,
        float(spec.bpm),
        beats,
        downbeats,
        score.highestTime,
        None,
        sections,
        list(spec.programs),
        False,
        pickup=abs(first_len - m.bar_ql) > 1e-9,
    )
