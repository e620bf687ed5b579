"""Deterministic fact checks of written text against the measured `SongFacts`.

Each check reads the claims a text makes (stated BPM, key, meter, chords, quoted lyrics,
times, bars) and returns ``(reason code, detail)`` findings; an empty list means the text
agrees with the facts. Claims about a fact that was not measured are findings too: facts
come only from stage 2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz

from musicflamingo import theory
from musicflamingo.facts.harmony import short_name, triad
from musicflamingo.facts.schema import ChordSegment, SongFacts
from musicflamingo.skills.records import QAItem, ReasonCode

Finding = tuple[ReasonCode, str]

LYRIC_MATCH = 85.0  # rapidfuzz partial_ratio, 0-100, on normalised text

_NOTE = r"[A-G](?:\s?(?:#|♯|b|♭|(?i:-?sharp|-?flat))(?![a-z]))?"
_MODE = r"(?i:major|minor)"
_KEY_PATTERNS = [
    re.compile(
        rf"(?i:\bkey(?:\s+(?:of|is|centre|center|signature))*\s*[:=]?\s*)({_NOTE})\s*({_MODE})?"
    ),
    re.compile(rf"(?i:\bin\s+)({_NOTE})\s+({_MODE})\b(?!\s+(?i:chord|triad|seventh))"),
    re.compile(rf"\b({_NOTE})[\s-]+({_MODE})\s+(?i:key|tonality|tonal centre)\b"),
]
_KEY_ANSWER = re.compile(rf"^\W*({_NOTE})\s+({_MODE})\W*$")
_BPM = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*-?\s*(?i:bpm|beats per minute|beats a minute)\b")
_NUMBER_ANSWER = re.compile(r"^\D*?(\d{2,3}(?:\.\d+)?)\D*$")
_METER = re.compile(r"(?<![\d/.:])([2-9]|1[0-2])/(2|4|8|16)(?![\d/])(?!\s*(?i:notes?))")
_QUALITY = r"(?:m7b5|maj9|maj7|maj|min7|min|m9|m7|m6|m|dim7|dim|aug|sus2|sus4|add9|9|7|6)"
_SYMBOL = rf"[A-G](?:#|b|♯|♭)?{_QUALITY}?(?:/[A-G](?:#|b)?)?"
_HARTE = re.compile(r"(?<![\w/])([A-G](?:#|b)?):([a-z0-9]+)(?:/b?#?\d+)?(?!\w)")
_QUALIFIED = re.compile(
    rf"(?<![\w/:#'’])([A-G](?:#|b|♯|♭)?{_QUALITY}(?:/[A-G](?:#|b)?)?)(?![\w#:’'])"
)
_SEQUENCE = re.compile(rf"(?<![\w/])({_SYMBOL}(?:\s*(?:-|–|—|→|->|\|)\s*{_SYMBOL})+)(?![\w#])")
_CHORD_WORD = re.compile(rf"\b({_NOTE})\s+({_MODE})\s+(?i:chord|triad)s?\b")
_CHORD_CONTEXT = re.compile(
    r"(?i:progression|chords?|cadence|vamp|moves?|changes?)\W+(?:\w+\W+){0,3}$"
)
_QUOTE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|‘([^’]+)’")
_CLOCK = re.compile(r"(?<![\d:/.])(\d{1,2}):([0-5]\d)(?![\d:])")
_SECONDS = re.compile(r"(?<![\d:/.])(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b")


_KEY_RELATION = {
    "relative": "the relative key of",
    "parallel": "the parallel key of",
    "dominant": "the dominant key of",
    "subdominant": "the subdominant key of",
    "unrelated": "not",
}


def stated_keys(text: str) -> list[tuple[str, theory.Key]]:
    """(as written, the key) for each key the text states; a key written without its mode
    states only its tonic (see `musicflamingo.theory`)."""
    found = {}
    for pattern in _KEY_PATTERNS:
        for m in pattern.finditer(text):
            mode = m.group(2).lower() if m.group(2) else None
            written = f"{m.group(1)} {mode}" if mode else m.group(1)
            tonic = re.sub(r"\s", "", m.group(1))
            found[m.start(1)] = (written, theory.parse_key(f"{tonic} {mode or ''}"))
    return [found[k] for k in sorted(found)]


def check_key(text: str, facts: SongFacts) -> list[Finding]:
    """Every stated key must be the measured key; a related key is named in the detail."""
    out: list[Finding] = []
    for written, key in stated_keys(text):
        if facts.key is None:
            out.append(("key_unmeasured", f"states {written}; no key was measured"))
            continue
        relation = theory.key_relation(key, facts.key.label)
        if relation != "same":
            why = _KEY_RELATION[relation]
            out.append(("key_mismatch", f"states {written}, {why} the measured {facts.key.label}"))
    return out


def check_tempo(text: str, facts: SongFacts, tol: float = theory.TEMPO_TOLERANCE) -> list[Finding]:
    """A stated BPM within ``tol`` of the measured tempo passes; at half or double it is
    flagged, anything else is a mismatch."""
    out: list[Finding] = []
    for m in _BPM.finditer(text):
        stated = float(m.group(1))
        if facts.tempo is None:
            out.append(("tempo_unmeasured", f"states {stated:g} BPM; no tempo was measured"))
            continue
        bpm = facts.tempo.bpm
        factors = (1.0, *theory.OCTAVE_FACTORS)
        factor = theory.tempo_factor(stated, bpm, factors, tol) if stated > 0 else None
        if factor == 1.0:
            continue
        if factor is not None:
            out.append(("tempo_half_double", f"states {stated:g} BPM, half/double of {bpm:.1f}"))
        else:
            out.append(("tempo_mismatch", f"states {stated:g} BPM; measured {bpm:.1f}"))
    return out


def check_meter(text: str, facts: SongFacts) -> list[Finding]:
    out: list[Finding] = []
    for m in _METER.finditer(text):
        stated = f"{m.group(1)}/{m.group(2)}"
        if facts.meter is None:
            out.append(("meter_unmeasured", f"states {stated}; no meter was measured"))
        elif not theory.same_meter(stated, facts.meter.label):
            out.append(("meter_mismatch", f"states {stated}; measured {facts.meter.label}"))
    return out


def _harte(chord: str) -> str | None:
    try:
        return theory.to_harte(chord)
    except ValueError:
        return None


def stated_chords(text: str) -> list[str]:
    """Harte labels ("A:min7") of the chords a text names: Harte labels, qualified symbols
    ("Am7", "F#m"), "X major chord", and symbol sequences like "C–G–Am–F" (plain letters
    only in a sequence after a word like "progression", or with a qualified symbol)."""
    found: dict[int, str | None] = {}
    for m in _HARTE.finditer(text):
        found[m.start()] = _harte(f"{m.group(1)}:{m.group(2)}")
    for m in _QUALIFIED.finditer(text):
        found.setdefault(m.start(), _harte(m.group(1)))
    for m in _CHORD_WORD.finditer(text):
        found[m.start()] = _harte(m.group(1) + ("m" if "min" in m.group(2).lower() else ""))
    for m in _SEQUENCE.finditer(text):
        tokens = re.split(r"\s*(?:->|-|–|—|→|\|)\s*", m.group(1))
        qualified = any(len(t.replace("#", "").replace("b", "")) > 1 for t in tokens)
        if qualified or _CHORD_CONTEXT.search(text[: m.start()]):
            for i, token in enumerate(tokens):
                found.setdefault(m.start() + i, _harte(token))
    return [label for _, label in sorted(found.items()) if label is not None]


def _measured(segments: Iterable[ChordSegment]) -> list[str]:
    return [c.label for c in segments if c.label not in theory.NO_CHORDS]


def check_chords(chords: Iterable[str], facts: SongFacts) -> list[Finding]:
    """Each named chord (a Harte label) must sound somewhere in the song: same root and
    triad (`musicflamingo.theory.same_triad`)."""
    chords, measured = list(chords), _measured(facts.chords)
    if not measured:
        return [
            ("chords_unmeasured", f"names {short_name(c)}; no chords were measured") for c in chords
        ]
    names = " ".join(sorted({short_name(triad(c)) for c in measured}))
    return [
        ("chord_not_in_song", f"names {short_name(chord)}; measured: {names}")
        for chord, found in zip(chords, theory.chords_found(chords, measured), strict=True)
        if not found
    ]


def check_chord_at(
    seconds: float, chord: str, facts: SongFacts, slack: float = 0.5
) -> list[Finding]:
    """A chord said to sound at a time must sound within ``slack`` seconds of it."""
    near = [c for c in facts.chords if c.start - slack <= seconds <= c.end + slack]
    if theory.chords_found([chord], _measured(near))[0]:
        return []
    there = "/".join(short_name(triad(c.label)) for c in near) or "nothing"
    return [("chord_not_in_song", f"{short_name(chord)} at {seconds:g} s; measured {there}")]


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower().replace("’", "'")).split())


def quoted(text: str, min_words: int = 3) -> list[str]:
    """Quoted passages of at least ``min_words`` words (straight or curly double quotes)."""
    quotes = (next(g for g in m.groups() if g) for m in _QUOTE.finditer(text))
    return [q for q in quotes if len(q.split()) >= min_words]


def check_lyrics(text: str, facts: SongFacts, threshold: float = LYRIC_MATCH) -> list[Finding]:
    out: list[Finding] = []
    transcript = normalise(facts.lyrics.text) if facts.lyrics else ""
    for quote in quoted(text):
        if not transcript:
            out.append(("lyrics_unmeasured", f'quotes "{quote}"; no lyrics were transcribed'))
        elif fuzz.partial_ratio(normalise(quote), transcript) < threshold:
            out.append(("lyric_not_in_transcript", f'"{quote}" is not in the transcript'))
    return out


def stated_times(text: str) -> list[float]:
    times = [int(m.group(1)) * 60 + int(m.group(2)) for m in _CLOCK.finditer(text)]
    return times + [float(m.group(1)) for m in _SECONDS.finditer(text)]


def check_times(times: Iterable[float], facts: SongFacts, slack: float = 1.0) -> list[Finding]:
    return [
        ("time_out_of_range", f"{t:g} s is outside the {facts.duration:.1f} s song")
        for t in times
        if not 0 <= t <= facts.duration + slack
    ]


def check_bars(bars: Iterable[int], facts: SongFacts) -> list[Finding]:
    n = len(facts.downbeats)
    return [
        ("bar_out_of_range", f"bar {b} of {n or 'unknown'}") for b in bars if b < 1 or (n and b > n)
    ]


def check_text(text: str, facts: SongFacts) -> list[Finding]:
    """Every claim check on free text."""
    return [
        *check_tempo(text, facts),
        *check_key(text, facts),
        *check_meter(text, facts),
        *check_chords(stated_chords(text), facts),
        *check_lyrics(text, facts),
        *check_times(stated_times(text), facts),
    ]


def check_mcq(item: QAItem, min_options: int = 3, max_options: int = 5) -> list[Finding]:
    if item.type != "mcq":
        return []
    out: list[Finding] = []
    options = [normalise(o) for o in item.options]
    if not min_options <= len(options) <= max_options:
        out.append(("mcq_option_count", f"{len(options)} options; {min_options}-{max_options}"))
    if len(set(options)) < len(options):
        out.append(("mcq_duplicate_options", "two options read the same"))
    if normalise(item.answer) not in options:
        out.append(("mcq_answer_not_in_options", f'answer "{item.answer}" is not an option'))
    return out


def _answer_claims(item: QAItem) -> str:
    """A short answer restated as the claim it makes ("A minor" to a key question)."""
    question, answer = item.question.lower(), item.answer.strip()
    if "key" in question and _KEY_ANSWER.match(answer):
        return f"key of {answer}"
    if ("tempo" in question or "bpm" in question) and (m := _NUMBER_ANSWER.match(answer)):
        return f"{m.group(1)} BPM" if "bpm" not in answer.lower() else ""
    if (item.type == "chord" or "chord" in question) and re.fullmatch(_SYMBOL, answer):
        return f"chord progression {answer}"
    return ""


def check_qa(item: QAItem, facts: SongFacts) -> list[Finding]:
    """Claims in question, answer and rationale (not in MCQ options: distractors are wrong
    on purpose), the references, and the MCQ shape."""
    text = f"{item.question}\n{item.answer}\n{item.rationale}\n{_answer_claims(item)}"
    refs = item.references
    chords = [_harte(c) for c in refs.chords]
    findings: list[Finding] = [
        ("chord_not_in_song", f"names {c!r}, not a chord")
        for c, h in zip(refs.chords, chords, strict=True)
        if h is None
    ]
    findings += [
        *check_text(text, facts),
        *check_chords((h for h in chords if h is not None), facts),
        *check_times(refs.seconds, facts),
        *check_bars(refs.bars, facts),
        *check_mcq(item),
    ]
    if item.type == "chord" and len(refs.seconds) == 1 and len(chords) == 1 and chords[0]:
        findings += check_chord_at(refs.seconds[0], chords[0], facts)
    return list(dict.fromkeys(findings))
