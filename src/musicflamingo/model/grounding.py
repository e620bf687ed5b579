"""Measured facts in and out of the model: the ``grounded`` prompt text, and the check of the
model's key facts against what signal analysis measured."""

from __future__ import annotations

import re

from musicflamingo import theory
from musicflamingo.facts.harmony import short_name
from musicflamingo.facts.schema import SongFacts
from musicflamingo.util import clock

from .parsing import KeyFacts
from .report import CheckItem, FactCheck, Verdict

MAX_SECTIONS = 16
_NO_VOCALS = re.compile(r"\b(none|no vocals?|instrumental|without vocals?)\b", re.IGNORECASE)


def grounded_context(facts: SongFacts) -> str:
    """The measured tempo, key, meter, chords, sections and vocals as short prompt lines."""
    lines = []
    if facts.tempo:
        t = facts.tempo
        drift = (
            "steady"
            if t.stable or not t.curve
            else (f"drifting {min(p.bpm for p in t.curve):.0f}-{max(p.bpm for p in t.curve):.0f}")
        )
        lines.append(f"- tempo: {t.bpm:.1f} BPM ({drift})")
    if facts.key:
        lines.append(f"- key: {facts.key.label}")
    if facts.meter:
        lines.append(f"- meter: {facts.meter.label}")
    if facts.progression:
        lines.append(f"- chords: {facts.progression}")
    if facts.sections:
        shown = facts.sections[:MAX_SECTIONS]
        parts = [
            f"{s.label} {clock(s.start)}-{clock(s.end)}"
            + (f" ({s.progression})" if s.progression else "")
            for s in shown
        ]
        hidden = len(facts.sections) - len(shown)
        more = f"; {hidden} more" if hidden else ""
        lines.append("- sections: " + "; ".join(parts) + more)
    if facts.vocals is not None:
        lines.append(
            f"- vocals: present in {facts.vocals.fraction:.0%} of the song"
            if facts.vocals.present
            else "- vocals: none detected"
        )
    return "\n".join(lines)


def _tempo(model_bpm: float, measured: float) -> tuple[Verdict, str]:
    change = (model_bpm / measured - 1) * 100
    if theory.tempo_matches(model_bpm, measured):
        return "agrees", f"{change:+.1f} %"
    factor = theory.tempo_factor(model_bpm, measured, theory.OCTAVE_FACTORS)
    if factor is not None:
        return "half/double", f"model says {'double' if factor > 1 else 'half'} time"
    return "contradicts", f"{change:+.0f} %"


_KEY_VERDICTS: dict[theory.KeyRelation, tuple[Verdict, str]] = {
    "same": ("agrees", ""),
    "relative": ("relative", ""),
    "parallel": ("parallel", ""),
    "dominant": ("fifth", "a fifth above"),
    "subdominant": ("fifth", "a fifth below"),
    "unrelated": ("contradicts", ""),
}


def _key(model_key: str, measured: str) -> tuple[Verdict, str]:
    try:
        return _KEY_VERDICTS[theory.key_relation(model_key, measured)]
    except ValueError:
        return "not comparable", "unreadable key name"


def _meter(model_meter: str, measured: str) -> tuple[Verdict, str]:
    try:
        return ("agrees" if theory.same_meter(model_meter, measured) else "contradicts"), ""
    except ValueError:
        return "not comparable", "unreadable time signature"


def _chords(model: list[str], facts: SongFacts) -> tuple[Verdict, str, str]:
    heard = [c.label for c in facts.chords if c.label not in theory.NO_CHORDS]
    measured = " ".join(sorted({short_name(c) for c in heard}))
    said = []
    for name in model:
        try:
            said.append(theory.to_harte(name))
        except ValueError:
            continue
    if not said:
        return "not comparable", "", "unreadable chord names"
    found = sum(theory.chords_found(said, heard))
    verdict: Verdict = "agrees" if found * 2 >= len(said) else "contradicts"
    return verdict, measured, f"{found} of {len(said)} chords measured"


def fact_check(key_facts: KeyFacts, facts: SongFacts) -> FactCheck:
    """Compare the model's key facts with the measured ones, aspect by aspect.

    All music theory is `musicflamingo.theory`'s. Tempo agrees within its tolerance (4 %;
    2x or 0.5x is "half/double"); keys agree when the same (a key without a mode agrees with
    either mode of its tonic), else are labelled relative, parallel or a fifth apart; time
    signatures compare exactly; chords agree when at least half the model's chords (root and
    triad) occur in the measured ones; vocals compare presence. Aspects one side lacks, or
    that cannot be read, are "not comparable".
    """
    items: list[CheckItem] = []

    def add(
        aspect: str, model: str | None, measured: str | None, verdict: Verdict, note: str = ""
    ) -> None:
        items.append(
            CheckItem(aspect=aspect, model=model, measured=measured, verdict=verdict, note=note)
        )

    kf = key_facts
    if kf.bpm is not None:
        if facts.tempo:
            add(
                "tempo",
                f"{kf.bpm:g} BPM",
                f"{facts.tempo.bpm:.1f} BPM",
                *_tempo(kf.bpm, facts.tempo.bpm),
            )
        else:
            add("tempo", f"{kf.bpm:g} BPM", None, "not comparable", "not measured")
    if kf.key:
        if facts.key:
            add("key", kf.key, facts.key.label, *_key(kf.key, facts.key.label))
        else:
            add("key", kf.key, None, "not comparable", "not measured")
    if kf.meter:
        if facts.meter:
            add("meter", kf.meter, facts.meter.label, *_meter(kf.meter, facts.meter.label))
        else:
            add("meter", kf.meter, None, "not comparable", "not measured")
    if kf.chords:
        if any(c.label not in ("N", "X") for c in facts.chords):
            verdict, measured, note = _chords(kf.chords, facts)
            add("chords", " ".join(kf.chords), measured, verdict, note)
        else:
            add("chords", " ".join(kf.chords), None, "not comparable", "not measured")
    if kf.vocals:
        if facts.vocals is not None:
            said = not _NO_VOCALS.search(kf.vocals)
            measured = (
                f"present ({facts.vocals.fraction:.0%})"
                if facts.vocals.present
                else "none detected"
            )
            add(
                "vocals",
                kf.vocals,
                measured,
                "agrees" if said == facts.vocals.present else "contradicts",
            )
        else:
            add("vocals", kf.vocals, None, "not comparable", "not measured")
    if kf.instruments:
        add(
            "instruments",
            ", ".join(kf.instruments),
            None,
            "not comparable",
            "instruments are not measured",
        )
    return FactCheck(items=items)
