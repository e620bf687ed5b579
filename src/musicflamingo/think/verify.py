"""The deterministic step verifier of MF-Think: every checkable claim of a trace step is
compared with the measured `SongFacts`.

A trace is split into steps (`split_steps`); each step's claims are read and checked:
BPM, key, mode, meter, chord names and progressions, section counts and times, bar
counts, times, instruments and vocals, quoted lyrics. Keys, chords, tempi and meters are
compared through `musicflamingo.theory` and the MF-Skills fact checks
(`musicflamingo.skills.checks`), so the tolerances live in one place. A step is
``wrong`` when any claim contradicts the facts, ``ok`` when at least one claim was checked
and none failed, else ``unverifiable`` (left to the audio model, when one is given).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from musicflamingo import theory
from musicflamingo.facts.harmony import short_name, triad
from musicflamingo.facts.schema import Section, SongFacts
from musicflamingo.skills import checks
from musicflamingo.util import clock

Verdict = Literal["ok", "wrong", "unverifiable"]
ClaimKind = Literal[
    "tempo",
    "key",
    "mode",
    "meter",
    "chord",
    "progression",
    "sections",
    "section_time",
    "bars",
    "time",
    "instrument",
    "vocals",
    "lyric",
]

SECTION_SLACK = 2.0  # seconds a stated section start may be off (about one bar)
BAR_SLACK = 1  # bars a stated bar count may be off (pick-ups, a last partial bar)
VOCAL_MIN_FRACTION = 0.05  # below this share of the song, "no vocals" is not contradicted

NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]  # counts a trace may spell out
_NUMBER_WORDS = {w: i for i, w in enumerate(NUMBER_WORDS)}
_COUNT = rf"(\d{{1,3}}|{'|'.join(NUMBER_WORDS)})"
_ABBREV = re.compile(r"\b(?:approx|ca|e\.g|i\.e|vs|cf|no)\.$", re.I)
_SENTENCE = re.compile(r"(?<=[.!?…])[\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|step\s*\d+\s*[:.)-])\s*", re.I)

_BPM = re.compile(
    r"(\d{2,3}(?:\.\d+)?)\s*-?\s*(?i:bpm|beats[\s-]+(?:per|a|each)[\s-]+minute)\b"
    r"|(?i:\btempo\s+(?:of|at|near|around|about|is|sits at|settles at)\s+(?:roughly\s+|~)?)"
    r"(\d{2,3}(?:\.\d+)?)\b(?!\s*(?i:bars?|seconds?|s\b|%))"
)
_METER = re.compile(r"(?<![\d/.:])(\d{1,2})/(1|2|4|8|16)(?![\d/])(?!\s*(?i:notes?))")
_BEATS_PER_BAR = re.compile(
    rf"(?i:\b{_COUNT}\s+(?:strong\s+|felt\s+|main\s+)?beats?\s+(?:per|to\s+the|in\s+each|to\s+a|a)\s+"
    r"(?:bar|measure)\b)"
)
_METER_WORD = re.compile(r"(?i:\b(duple|triple|quadruple)\s+(?:meter|metre|time)\b)")
_METER_WORDS = {"duple": 2, "triple": 3, "quadruple": 4}
_MODE = re.compile(
    r"(?<![A-G] )(?<![A-G][#b] )\b(?i:(major|minor)(?:[\s-]+(?:key|mode|tonality))\b)"
)
_NOTE = r"[A-G](?:\s?(?:#|♯|b|♭|(?i:-?sharp|-?flat))(?![a-z]))?"
_KEY_ANYWHERE = re.compile(
    rf"(?<![\w/])({_NOTE})[\s-]+((?i:major|minor))\b"
    r"(?!\s*(?i:chord|triad|arpeggio|scale|seventh|ninth|sixth|third|7th|9th|6th|shape|voicing))"
)
_BORROWED = re.compile(r"(?i:\b(?:borrow\w*|modal\s+mixture)\b(?:\s+\w+){0,4}\s*$)")
_METER_NAME = re.compile(r"(?i:\b(common\s+time|cut\s+time|alla\s+breve|waltz\s+time)\b)")
_METER_NAMES = {"common": "4/4", "cut": "2/2", "alla": "2/2", "waltz": "3/4"}
_CHORD_TOKEN = r"[A-G](?:#|b|♯|♭)?(?:[a-zA-Z0-9#°ø+Δ]*)(?:/[A-G](?:#|b)?)?"
_PROGRESSION = re.compile(
    rf"(?<![\w/])({_CHORD_TOKEN}(?:\s*(?:–|—|→|->|-|\|)\s*{_CHORD_TOKEN}){{2,}})(?![\w#])"
)
_PROGRESSION_SPLIT = re.compile(r"\s*(?:–|—|→|->|-|\|)\s*")
# "five sections", "four distinct parts" (a bare "four parts" may be voices: not a count);
# not "the first two sections", "both sections".
_SECTION_COUNT = re.compile(
    r"(?i:(?<!first )(?<!last )(?<!next )(?<!final )(?<!other )(?<!opening )(?<!closing )"
    rf"\b{_COUNT}\s+(?:(?:distinct|separate|main|clear|formal|large)\s+(?:sections|parts)"
    r"|sections)\b)"
)
_SECTION_NAME = r"(?:[A-H]['′’]?|(?i:intro|outro|verse|pre-chorus|chorus|bridge))"
_SECTION_AT = re.compile(
    rf"(?:\b(?:the\s+)?({_SECTION_NAME})\s+(?:section|part)\b[^.;]{{0,40}}?"
    r"(?i:\b(?:at|from|around|near|by)\s+)(\d{1,2}:[0-5]\d)"
    rf"|\b(\d{{1,2}}:[0-5]\d)\b[^.;]{{0,30}}?\b(?:the\s+)?({_SECTION_NAME})\s+(?:section|part)\b)"
)
_SECTION_TIMES = re.compile(
    rf"(?:\b(?:the\s+)?({_SECTION_NAME})\s+(?:section|part)\b[^.;]{{0,40}}?"
    rf"(?i:\b(?:returns|comes back|recurs|appears|is heard|occurs)\s+)"
    rf"(?i:{_COUNT}\s+times|(once|twice|thrice))\b)"
)
# Only a whole-song bar count: "the piece runs 36 bars", "36 bars in all" (not "over four
# bars", which is a phrase).
_BARS = re.compile(
    rf"(?i:\b(?:runs|lasts|spans)\s+(?:for\s+)?(?:about\s+)?{_COUNT}\s+bars\b"
    rf"|\b{_COUNT}\s+bars\s+(?:in\s+all|in\s+total|long)\b)"
)
_VOCAL_NONE = re.compile(
    r"(?i:\b(?:no|without(?:\s+any)?)\s+(?:vocals?|voices?|singing|singers?|lyrics)\b"
    r"|\b(?:purely|entirely|wholly|strictly)\s+instrumental\b|\binstrumental\s+(?:piece|track)\b)"
)
# A singer, not a metaphor ("the violin sings") or a contrapuntal voice ("inner voices").
_VOCAL_SOME = re.compile(
    r"(?i:\b(?:lead\s+)?(?:vocals?|vocalist|singers?)\b(?!\s+(?:leading|line)\b)"
    r"|\b(?:singing|human|sung|lead)\s+voice\b|\bsung\b)"
)

# Instrument words -> family; a fact instrument ("Electric Bass (finger)") maps the same way.
_FAMILIES = {
    "piano": "piano",
    "keys": "piano",
    "rhodes": "piano",
    "organ": "organ",
    "guitar": "guitar",
    "bass": "bass",
    "contrabass": "bass",
    "tuba": "brass",
    "trumpet": "brass",
    "trombone": "brass",
    "horn": "brass",
    "horns": "brass",
    "brass": "brass",
    "cornet": "brass",
    "violin": "strings",
    "viola": "strings",
    "cello": "strings",
    "fiddle": "strings",
    "strings": "strings",
    "string": "strings",
    "harp": "harp",
    "flute": "flute",
    "piccolo": "flute",
    "clarinet": "reed",
    "oboe": "reed",
    "bassoon": "reed",
    "sax": "reed",
    "saxophone": "reed",
    "accordion": "accordion",
    "harmonica": "accordion",
    "choir": "choir",
    "synth": "synth",
    "synthesizer": "synth",
    "pad": "synth",
    "lead": "synth",
    "drums": "drums",
    "drum": "drums",
    "percussion": "drums",
    "snare": "drums",
    "hi-hat": "drums",
    "cymbals": "drums",
    "banjo": "banjo",
    "mandolin": "mandolin",
    "sitar": "sitar",
    "marimba": "mallets",
    "vibraphone": "mallets",
    "xylophone": "mallets",
    "glockenspiel": "mallets",
}
_CLAIM_WORDS = sorted(set(_FAMILIES) - {"keys", "lead", "pad", "string", "drum"}, key=len)
_INSTRUMENT = re.compile(
    r"(?i:\b(" + "|".join(re.escape(w) for w in reversed(_CLAIM_WORDS)) + r")\b)"
    r"(?!\s*(?i:line|lines|register|notes?|clef|voice|pedal|drum|section\s+of|-?pop|-?wave))"
    r"(?!-like)"
)
# Words before or after which an instrument word is not a claim that the instrument plays.
_NEGATED = re.compile(
    r"(?i:\b(?:no|without|nor|not|absent|lacks?|instead of|rather than)\s+(?:\w+\s+){0,2}$)"
)
_NEGATED_AFTER = re.compile(
    r"(?i:^\W*(?:\w+\s+){0,1}(?:is|are)\s+(?:absent|missing|nowhere|not\s+(?:heard|present)))"
)


@dataclass(frozen=True)
class Claim:
    """One checkable statement of a step and how it compares with the facts."""

    kind: ClaimKind
    text: str
    verdict: Verdict
    reason: str = ""  # a reason code when not ok
    detail: str = ""


@dataclass(frozen=True)
class StepCheck:
    """A step's verdict with its claims; ``reasons`` are the codes of the wrong claims."""

    step: str
    verdict: Verdict
    claims: tuple[Claim, ...]

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.claims if c.verdict == "wrong"]


def split_steps(trace: str | Sequence[str]) -> list[str]:
    """Steps of a trace: the items of a list, else the lines of a text, each line split
    into sentences (not after "approx." or inside numbers such as 1:05 or 3.5)."""
    lines = list(trace) if not isinstance(trace, str) else trace.splitlines()
    steps: list[str] = []
    for line in lines:
        line = _BULLET.sub("", line.strip())
        if not line:
            continue
        parts: list[str] = []
        for piece in _SENTENCE.split(line):
            if parts and _ABBREV.search(parts[-1]):
                parts[-1] = f"{parts[-1]} {piece}"
            else:
                parts.append(piece)
        steps += [p.strip() for p in parts if p.strip()]
    return steps


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


def _finding_claims(kind: ClaimKind, text: str, findings: list[checks.Finding]) -> list[Claim]:
    out = []
    for code, detail in findings:
        verdict: Verdict = "unverifiable" if code.endswith("_unmeasured") else "wrong"
        out.append(Claim(kind, text, verdict, code, detail))
    return out


def tempo_claims(step: str, facts: SongFacts) -> list[Claim]:
    """Stated BPM values: within `theory.TEMPO_TOLERANCE` of the measured tempo is ok, at
    half or double it or elsewhere is wrong (the checks' reason codes)."""
    out = []
    for m in _BPM.finditer(step):
        value = m.group(1) or m.group(2)
        findings = checks.check_tempo(f"{value} BPM", facts)
        out += _finding_claims("tempo", m.group(0), findings) or [Claim("tempo", m.group(0), "ok")]
    return out


def _broad_keys(step: str) -> list[tuple[re.Match[str], str]]:
    """ "X major"/"X minor" anywhere, unless it names a chord or scale ("the A minor chord")."""
    out = []
    for m in _KEY_ANYWHERE.finditer(step):
        if _BORROWED.search(step[: m.start()]):
            continue  # "a chord borrowed from D minor" is harmony, not the song's key
        tonic = re.sub(r"[\s-]", "", m.group(1))
        tonic = re.sub(r"(?i)sharp$", "#", re.sub(r"(?i)flat$", "b", tonic))
        out.append((m, f"{tonic} {m.group(2).lower()}"))
    return out


def key_claims(step: str, facts: SongFacts) -> list[Claim]:
    """Stated keys (a key without its mode states its tonic) and stated modes."""
    out = []
    stated = {m.start(): written for m, written in _broad_keys(step)}
    for written, _ in checks.stated_keys(step):
        stated.setdefault(-1 - len(stated), written)
    for written in dict.fromkeys(stated.values()):
        findings = checks.check_key(f"key of {written}", facts)
        out += _finding_claims("key", written, findings) or [Claim("key", written, "ok")]
    if not out:
        for m in _MODE.finditer(step):
            mode = m.group(1).lower()
            if facts.key is None:
                out.append(Claim("mode", m.group(0), "unverifiable", "key_unmeasured"))
            elif facts.key.mode != mode:
                detail = f"states {mode}; measured {facts.key.label}"
                out.append(Claim("mode", m.group(0), "wrong", "mode_mismatch", detail))
            else:
                out.append(Claim("mode", m.group(0), "ok"))
    return out


def meter_claims(step: str, facts: SongFacts) -> list[Claim]:
    """Time signatures ("6/8"), beats per bar (the numerator or the felt beats: six or two
    in 6/8) and "duple/triple/quadruple meter" (felt beats)."""
    out: list[Claim] = []
    meter = facts.meter
    for m in _METER.finditer(step):
        stated = f"{m.group(1)}/{m.group(2)}"
        try:
            theory.validate_meter(stated)
        except ValueError:
            continue
        findings = checks.check_meter(stated, facts)
        out += _finding_claims("meter", stated, findings) or [Claim("meter", stated, "ok")]
    for m in _METER_NAME.finditer(step):
        stated = _METER_NAMES[m.group(1).split()[0].lower()]
        if meter is None:
            out.append(Claim("meter", m.group(0), "unverifiable", "meter_unmeasured"))
        elif theory.same_meter(stated, meter.label) or (
            stated == "3/4" and meter.beats_per_bar == 3  # waltz time: three beats a bar
        ):
            out.append(Claim("meter", m.group(0), "ok"))
        else:
            detail = f"states {m.group(0)} ({stated}); measured {meter.label}"
            out.append(Claim("meter", m.group(0), "wrong", "meter_mismatch", detail))
    counts = [(m.group(0), _count(m.group(1)), True) for m in _BEATS_PER_BAR.finditer(step)]
    counts += [
        (m.group(0), _METER_WORDS[m.group(1).lower()], False) for m in _METER_WORD.finditer(step)
    ]
    for text, n, numerator_ok in counts:
        if meter is None:
            out.append(Claim("meter", text, "unverifiable", "meter_unmeasured"))
        elif n == meter.beats_per_bar or (numerator_ok and n == meter.numerator):
            out.append(Claim("meter", text, "ok"))
        else:
            detail = f"states {n} beats a bar; measured {meter.label}"
            out.append(Claim("meter", text, "wrong", "meter_mismatch", detail))
    return out


def _played(facts: SongFacts) -> list[str]:
    """The measured chord changes, repeated chords (same triad) merged."""
    seq: list[str] = []
    for c in facts.chords:
        if c.label in theory.NO_CHORDS:
            continue
        if not seq or not theory.same_triad(c.label, seq[-1]):
            seq.append(c.label)
    return seq


def _progression_played(said: list[str], played: list[str]) -> bool:
    merged = [c for i, c in enumerate(said) if i == 0 or not theory.same_triad(c, said[i - 1])]
    n = len(merged)
    return any(
        all(theory.same_triad(s, p) for s, p in zip(merged, played[i : i + n], strict=True))
        for i in range(len(played) - n + 1)
    )


def stated_progressions(step: str) -> list[list[str]]:
    """Harte labels of each written progression of three or more chords ("C – G – Am")."""
    out = []
    for m in _PROGRESSION.finditer(step):
        labels = []
        for token in _PROGRESSION_SPLIT.split(m.group(1)):
            try:
                labels.append(theory.to_harte(token))
            except ValueError:
                break
        else:
            out.append(labels)
    return out


def chord_claims(step: str, facts: SongFacts) -> list[Claim]:
    """Every chord named must sound in the song (root and triad); a progression of three
    or more chords must be heard in that order (repeats merged)."""
    progressions = stated_progressions(step)
    said = list(dict.fromkeys([*checks.stated_chords(step), *(c for p in progressions for c in p)]))
    out = []
    wrong = False
    for chord in said:
        name = short_name(chord)
        findings = checks.check_chords([chord], facts)
        wrong = wrong or bool(findings)
        out += _finding_claims("chord", name, findings) or [Claim("chord", name, "ok")]
    played = _played(facts)
    for prog in progressions if not wrong and played else []:
        text = " ".join(short_name(c) for c in prog)
        if _progression_played(prog, played):
            out.append(Claim("progression", text, "ok"))
        else:
            heard = " ".join(short_name(triad(c)) for c in played[:16])
            detail = f"{text} is not heard in that order; measured: {heard}"
            out.append(Claim("progression", text, "wrong", "progression_not_played", detail))
    return out


def _label_base(label: str) -> str:
    return label.rstrip("'′’").lower()


def _named(section: Section, name: str) -> bool:
    """Whether a stated name ("chorus", "B") is this section's label or repetition group."""
    return name in (_label_base(section.label), _label_base(section.group))


def section_claims(step: str, facts: SongFacts) -> list[Claim]:
    """Section counts ("five sections"), how often a labelled section recurs, when it
    starts (within `SECTION_SLACK`) and the bar count (within `BAR_SLACK`)."""
    out: list[Claim] = []
    sections = facts.sections
    for m in _SECTION_COUNT.finditer(step):
        n = _count(m.group(1))
        if not sections:
            out.append(Claim("sections", m.group(0), "unverifiable", "sections_unmeasured"))
        elif n == len(sections):
            out.append(Claim("sections", m.group(0), "ok"))
        else:
            detail = f"states {n} sections; measured {len(sections)}"
            out.append(Claim("sections", m.group(0), "wrong", "section_count_mismatch", detail))
    for m in _SECTION_TIMES.finditer(step):
        label = _label_base(m.group(1))
        word = m.group(3) or m.group(2)
        n = {"once": 1, "twice": 2, "thrice": 3}.get(word.lower()) or _count(word)
        heard = sum(_named(s, label) for s in sections)
        # "returns twice" may count the returns or every appearance
        if not sections:
            out.append(Claim("sections", m.group(0), "unverifiable", "sections_unmeasured"))
        elif n in (heard, heard - 1) and heard:
            out.append(Claim("sections", m.group(0), "ok"))
        else:
            detail = f"section {m.group(1)} is heard {heard} times"
            out.append(Claim("sections", m.group(0), "wrong", "section_count_mismatch", detail))
    for m in _SECTION_AT.finditer(step):
        label = _label_base(m.group(1) or m.group(4))
        shown = label.upper() if len(label) == 1 else label  # "B", "chorus"
        at = m.group(2) or m.group(3)
        minutes, seconds = at.split(":")
        t = int(minutes) * 60 + int(seconds)
        starts = [s.start for s in sections if _named(s, label)]
        if not sections:
            out.append(Claim("section_time", m.group(0), "unverifiable", "sections_unmeasured"))
        elif not starts:
            detail = f"no section {shown} was found"
            out.append(Claim("section_time", m.group(0), "wrong", "section_unknown", detail))
        elif any(s - SECTION_SLACK <= t <= s + SECTION_SLACK for s in starts):
            out.append(Claim("section_time", m.group(0), "ok"))
        elif any(s.start <= t < s.end for s in sections if _named(s, label)):
            out.append(Claim("section_time", m.group(0), "ok"))  # "the B section at 0:30"
        else:
            when = ", ".join(clock(s) for s in starts)
            detail = f"{shown} starts at {when}, not {at}"
            out.append(Claim("section_time", m.group(0), "wrong", "section_time_mismatch", detail))
    for m in _BARS.finditer(step):
        n, bars = _count(m.group(1)), len(facts.downbeats)
        if not bars:
            out.append(Claim("bars", m.group(0), "unverifiable", "bars_unmeasured"))
        elif abs(n - bars) <= BAR_SLACK:
            out.append(Claim("bars", m.group(0), "ok"))
        else:
            detail = f"states {n} bars; measured {bars}"
            out.append(Claim("bars", m.group(0), "wrong", "bar_count_mismatch", detail))
    return out


def time_claims(step: str, facts: SongFacts) -> list[Claim]:
    """Times (m:ss, seconds) must fall inside the song."""
    out = []
    for t in checks.stated_times(step):
        findings = checks.check_times([t], facts)
        out += _finding_claims("time", f"{t:g} s", findings) or [Claim("time", f"{t:g} s", "ok")]
    return out


def instrument_family(name: str) -> set[str]:
    """The families an instrument name belongs to ("Electric Bass (finger)" -> {"bass"})."""
    words = re.findall(r"[a-z]+(?:-[a-z]+)?", name.lower())
    return {_FAMILIES[w] for w in words if w in _FAMILIES}


def _negated(text: str, m: re.Match[str]) -> bool:
    return bool(_NEGATED.search(text[: m.start()]) or _NEGATED_AFTER.search(text[m.end() :]))


def instrument_words(text: str) -> list[str]:
    """The instrument words a text names as playing (not after "no", "without" ...)."""
    return [m.group(1).lower() for m in _INSTRUMENT.finditer(text) if not _negated(text, m)]


def instrument_claims(step: str, instruments: Iterable[str] | None) -> list[Claim]:
    """Instruments a step says it hears must be among the ``instruments`` known to play
    (by family: "upright bass" is the "Contrabass"); ``None``: nothing known, unverifiable."""
    if instruments is None:
        return []
    known = set().union(*(instrument_family(i) for i in instruments))
    out = []
    for m in _INSTRUMENT.finditer(step):
        if _negated(step, m):
            continue
        family = _FAMILIES[m.group(1).lower()]
        if family in known or (family == "synth" and "synth" in known):
            out.append(Claim("instrument", m.group(1), "ok"))
        else:
            detail = f"names {m.group(1)}; heard: {', '.join(sorted(known)) or 'none known'}"
            out.append(Claim("instrument", m.group(1), "wrong", "instrument_not_heard", detail))
    return out


def vocal_claims(step: str, facts: SongFacts) -> list[Claim]:
    """ "No vocals"/"instrumental" against sung vocals, and a singer against none."""
    none, some = _VOCAL_NONE.search(step), _VOCAL_SOME.search(step)
    if not none and not some:
        return []
    text = (none or some).group(0)  # type: ignore[union-attr]
    vocals = facts.vocals
    if vocals is None:
        return [Claim("vocals", text, "unverifiable", "vocals_unmeasured")]
    sung = vocals.present and vocals.fraction >= VOCAL_MIN_FRACTION
    if none and sung:
        detail = f"vocals measured in {vocals.fraction:.0%} of the song"
        return [Claim("vocals", text, "wrong", "vocals_mismatch", detail)]
    if some and not none and not vocals.present:
        return [Claim("vocals", text, "wrong", "vocals_mismatch", "no vocals were measured")]
    return [Claim("vocals", text, "ok")]


def lyric_claims(step: str, facts: SongFacts) -> list[Claim]:
    """Quoted passages (three words or more) must be in the transcript
    (`musicflamingo.skills.checks.LYRIC_MATCH`)."""
    out = []
    transcript = checks.normalise(facts.lyrics.text) if facts.lyrics else ""
    for quote in checks.quoted(step):
        if not transcript:
            out.append(Claim("lyric", quote, "unverifiable", "lyrics_unmeasured"))
        elif fuzz.partial_ratio(checks.normalise(quote), transcript) < checks.LYRIC_MATCH:
            detail = f'"{quote}" is not in the transcript'
            out.append(Claim("lyric", quote, "wrong", "lyric_not_in_transcript", detail))
        else:
            out.append(Claim("lyric", quote, "ok"))
    return out


def check_step(step: str, facts: SongFacts, instruments: Iterable[str] | None = None) -> StepCheck:
    """The claims of one step and its verdict (see the module docstring)."""
    instruments = list(instruments) if instruments is not None else None
    claims = [
        *tempo_claims(step, facts),
        *key_claims(step, facts),
        *meter_claims(step, facts),
        *chord_claims(step, facts),
        *section_claims(step, facts),
        *time_claims(step, facts),
        *instrument_claims(step, instruments),
        *vocal_claims(step, facts),
        *lyric_claims(step, facts),
    ]
    verdicts = {c.verdict for c in claims}
    verdict: Verdict = (
        "wrong" if "wrong" in verdicts else "ok" if "ok" in verdicts else "unverifiable"
    )
    return StepCheck(step, verdict, tuple(claims))


def check_trace(
    trace: str | Sequence[str], facts: SongFacts, instruments: Iterable[str] | None = None
) -> list[StepCheck]:
    """`check_step` for every step of a trace (see `split_steps`)."""
    instruments = list(instruments) if instruments is not None else None
    return [check_step(s, facts, instruments) for s in split_steps(trace)]
