"""The measured facts of a song as the compact JSON the stage-3 prompts carry."""

from __future__ import annotations

import json
from typing import Any

from musicflamingo.facts.schema import SongFacts
from musicflamingo.skills.records import SegmentCaption
from musicflamingo.util import clock

MAX_CHORDS = 150  # chord changes listed one by one; the progression summary covers the rest


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 2)


def factsheet(facts: SongFacts) -> dict[str, Any]:
    """Tempo, key, meter, chords, sections, loudness, vocals and lyrics; ``None`` where not
    measured, with the reason under ``not_available``. ``chords`` lists ``[start seconds,
    Harte label]`` changes ("N": no chord), each lasting until the next; each section has
    its part's name (``label``: verse, chorus, …) and its repetition letter (``group``)."""
    loud = facts.loudness
    return {
        "duration_seconds": _r(facts.duration),
        "tempo_bpm": _r(facts.tempo.bpm) if facts.tempo else None,
        "tempo_steady": facts.tempo.stable if facts.tempo else None,
        "key": facts.key.label if facts.key else None,
        "meter": facts.meter.label if facts.meter else None,
        "bars": len(facts.downbeats) or None,
        "chord_progression": facts.progression or None,
        "chords": [[_r(c.start), c.label] for c in facts.chords[:MAX_CHORDS]],
        "sections": [
            {
                "start": _r(s.start),
                "end": _r(s.end),
                "label": s.label,
                "group": s.group,
                "chords": s.progression,
            }
            for s in facts.sections
        ],
        "loudness": {"integrated_lufs": _r(loud.integrated_lufs), "range_lu": _r(loud.range_lu)}
        if loud
        else None,
        "vocals": {"present": facts.vocals.present, "fraction": _r(facts.vocals.fraction)}
        if facts.vocals
        else None,
        "lyrics": [
            {"start": _r(x.start), "end": _r(x.end), "text": x.text} for x in facts.lyrics.lines
        ]
        if facts.lyrics
        else None,
        "not_available": dict(facts.undetected),
    }


def facts_json(facts: SongFacts) -> str:
    return json.dumps(factsheet(facts), ensure_ascii=False, separators=(",", ":"))


def segments_text(captions: list[SegmentCaption]) -> str:
    if not captions:
        return "(none: no audio-language model was run on this song)"
    return "\n".join(f"- {clock(c.start)}-{clock(c.end)}: {c.text}" for c in captions)
