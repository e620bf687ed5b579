"""A seeded corpus of trace steps written from measured facts, for testing the verifier.

`make_corpus` writes, for each song, true steps in varied wording (paraphrases, other
spellings of the same key, Harte and lead-sheet chords, clock times) and steps with one
injected false claim of a known kind (a BPM beyond tolerance, an unrelated or relative
key, another meter, a chord not played, a reordered progression, an invented section
count or time, an instrument not playing, wrong vocals, a misquoted lyric). Every value
comes from the facts given; nothing is typed in by hand.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from musicflamingo import theory
from musicflamingo.facts.harmony import short_name, triad
from musicflamingo.facts.schema import SongFacts
from musicflamingo.think.verify import (
    _FAMILIES,
    NUMBER_WORDS,
    _played,
    _progression_played,
    instrument_family,
)
from musicflamingo.util import clock

_METERS = ["2/4", "3/4", "4/4", "5/4", "6/8", "7/8", "9/8", "12/8"]
_MOODS = [
    "The mood settles into something warm and unhurried.",
    "There is a gentle lift as the phrase opens out.",
    "The texture thickens a little before easing back.",
    "It feels reflective rather than dramatic.",
    "The production keeps everything close and dry.",
    "Dynamics stay fairly even from start to finish.",
]
_FILLER_LYRICS = [
    "silver",
    "river",
    "morning",
    "falling",
    "window",
    "shadow",
    "golden",
    "quiet",
    "burning",
]


@dataclass(frozen=True)
class CorpusStep:
    song: str
    text: str
    kind: str  # the claim kind written
    injected: str | None  # the kind of false claim injected; None for a true step


@dataclass(frozen=True)
class Song:
    name: str
    facts: SongFacts
    instruments: list[str] | None = None


def _spell(pc: int, rng: random.Random) -> str:
    name = rng.choice([theory.SHARPS[pc], theory.FLATS[pc]])
    if len(name) == 2 and rng.random() < 0.3:
        return f"{name[0]} {'sharp' if name[1] == '#' else 'flat'}"
    return name


def _key_text(tonic: int, mode: str, rng: random.Random) -> str:
    return f"{_spell(tonic, rng)} {mode}"


def _tempo(s: Song, rng: random.Random, wrong: bool) -> str | None:
    if s.facts.tempo is None:
        return None
    bpm = s.facts.tempo.bpm
    if wrong:
        factor = rng.choice([rng.uniform(0.7, 0.9), rng.uniform(1.1, 1.35)])
        bpm = bpm * factor
    template = rng.choice(
        [
            "The pulse sits around {v} BPM.",
            "I count roughly {v} beats per minute.",
            "It moves at a steady {v}-bpm clip.",
            "The tempo settles at {v} and the groove locks in.",
        ]
    )
    return template.format(v=round(bpm))


def _key(s: Song, rng: random.Random, wrong: str | None) -> str | None:
    if s.facts.key is None:
        return None
    k = theory.parse_key(s.facts.key.label)
    assert k.mode is not None
    tonic, mode = k.tonic, k.mode
    if wrong == "relative":
        tonic, mode = (
            (tonic + 9) % 12 if mode == "major" else (tonic + 3) % 12,
            ("minor" if mode == "major" else "major"),
        )
    elif wrong == "parallel":
        mode = "minor" if mode == "major" else "major"
    elif wrong == "unrelated":
        tonic = (tonic + rng.choice([1, 2, 4, 6, 8, 10, 11])) % 12
    template = rng.choice(
        [
            "Everything gravitates to the key of {k}.",
            "The tonal centre is clearly {k}.",
            "The melody keeps resolving home, so it is in {k}.",
            "Harmonically we are in {k} throughout.",
        ]
    )
    return template.format(k=_key_text(tonic, mode, rng))


def _mode(s: Song, rng: random.Random, wrong: bool) -> str | None:
    if s.facts.key is None:
        return None
    mode = s.facts.key.mode
    if wrong:
        mode = "minor" if mode == "major" else "major"
    return rng.choice(
        [
            f"The {mode} tonality colours every phrase.",
            f"You can hear the {mode} mode in the way the melody falls.",
        ]
    )


def _meter(s: Song, rng: random.Random, wrong: bool) -> str | None:
    m = s.facts.meter
    if m is None:
        return None
    if wrong:
        others = [x for x in _METERS if not theory.same_meter(x, m.label)]
        others = [x for x in others if theory.parse_meter(x).beats_per_bar != m.beats_per_bar]
        return rng.choice(
            [
                f"The bars fall in {rng.choice(others)}.",
                f"It is written in {rng.choice(others)} time.",
            ]
        )
    if rng.random() < 0.5:
        return rng.choice([f"The bars fall in {m.label}.", f"It swings along in {m.label} time."])
    n = rng.choice([m.numerator, m.beats_per_bar])
    return f"I feel {NUMBER_WORDS[n] if n < 13 else n} beats per bar."


def _chord_name(label: str, rng: random.Random) -> str:
    return short_name(label) if rng.random() < 0.7 else triad(label)


def _chord(s: Song, rng: random.Random, wrong: bool) -> str | None:
    played = _played(s.facts)
    if not played:
        return None
    if wrong:
        heard = {theory.majmin(c) for c in played}
        candidates = [
            f"{theory.SHARPS[r]}:{q}"
            for r in range(12)
            for q in ("maj", "min")
            if f"{theory.SHARPS[r]}:{q}" not in heard
            and theory.majmin(f"{theory.SHARPS[r]}:{q}") not in heard
        ]
        candidates = [c for c in candidates if not any(theory.same_triad(c, p) for p in played)]
        chord = rng.choice(candidates)
        name = short_name(chord) if chord.endswith("min") else chord.split(":")[0] + " major"
    else:
        chord = rng.choice(played)
        name = _chord_name(chord, rng)
    if " major" in name:
        return f"A bright {name} chord rings out under the melody."
    return rng.choice(
        [
            f"A {name} chord rings out under the melody.",
            f"The harmony leans on {name} for a moment.",
        ]
    )


def _progression(s: Song, rng: random.Random, wrong: bool) -> str | None:
    played = _played(s.facts)
    if len(played) < 5:
        return None
    n = rng.choice([3, 4])
    start = rng.randrange(len(played) - n + 1)
    seq = played[start : start + n]
    if wrong:
        order = [list(p) for p in _reorders(seq)]
        order = [o for o in order if not _progression_played(o, played) and _distinct(o)]
        if not order:
            return None
        seq = rng.choice(order)
    names = [short_name(c) for c in seq]
    sep = rng.choice([" – ", " - ", " → "])
    return rng.choice(
        [
            f"The progression {sep.join(names)} keeps cycling.",
            f"The chords move {sep.join(names)} and the phrase closes.",
        ]
    )


def _reorders(seq: list[str]) -> list[tuple[str, ...]]:
    import itertools

    return [p for p in itertools.permutations(seq) if list(p) != seq][:12]


def _distinct(seq: list[str]) -> bool:
    """No two neighbours are the same triad (which a listener would hear as one chord)."""
    return all(not theory.same_triad(a, b) for a, b in zip(seq, seq[1:], strict=False))


def _sections(s: Song, rng: random.Random, wrong: bool) -> str | None:
    n = len(s.facts.sections)
    if not n:
        return None
    if wrong:
        n = n + rng.choice([-2, -1, 1, 2, 3]) if n > 2 else n + rng.choice([1, 2, 3])
    word = NUMBER_WORDS[n] if n < 13 and rng.random() < 0.6 else str(n)
    return rng.choice(
        [
            f"Listening through, the piece falls into {word} sections.",
            f"I hear {word} distinct parts from start to end.",
        ]
    )


def _section_time(s: Song, rng: random.Random, wrong: bool) -> str | None:
    named = [x for x in s.facts.sections if x.label[0] in "ABCDEFGH" and x.start > 0]
    if not named:
        return None
    sec = rng.choice(named)
    t = sec.start
    if wrong:
        base = sec.label.rstrip("'′’")
        same = [x for x in s.facts.sections if x.label.rstrip("'′’") == base]
        t = round(min(s.facts.duration - 1, t + rng.choice([-1, 1]) * rng.uniform(6, 15)))
        if t < 0 or any(x.start - 4 <= t <= x.end + 1 for x in same):  # near or inside one
            t = s.facts.duration + 30  # past the end: still a false time
    at = clock(t)
    return rng.choice(
        [
            f"The {sec.label} section arrives at {at} with a change of colour.",
            f"Around {at} the {sec.label} section begins.",
        ]
    )


def _instrument(s: Song, rng: random.Random, wrong: bool) -> str | None:
    if not s.instruments:
        return None
    known = set().union(*(instrument_family(i) for i in s.instruments))
    words = (
        [w for w, f in _FAMILIES.items() if f in known]
        if not wrong
        else [w for w, f in _FAMILIES.items() if f not in known]
    )
    words = [w for w in words if w not in ("keys", "lead", "pad", "string", "drum", "strings")]
    if not words:
        return None
    w = rng.choice(words)
    return rng.choice(
        [
            f"A {w} carries the main line here.",
            f"The {w} comes forward in the mix.",
            f"Underneath, the {w} keeps things moving.",
        ]
    )


def _vocals(s: Song, rng: random.Random, wrong: bool) -> str | None:
    v = s.facts.vocals
    if v is None:
        return None
    sung = v.present
    if wrong:
        sung = not sung
    if sung:
        return rng.choice(
            ["A lead vocal enters over the band.", "The singer holds the long notes."]
        )
    return rng.choice(
        ["There are no vocals; it is purely instrumental.", "It is an instrumental piece."]
    )


def _lyric(s: Song, rng: random.Random, wrong: bool) -> str | None:
    lines = [x.text for x in s.facts.lyrics.lines] if s.facts.lyrics else []
    lines = [x.strip(" ,.;!?") for x in lines if len(x.split()) >= 4]
    if not lines:
        return None
    words = rng.choice(lines).split()
    if wrong:
        idx = rng.sample(range(len(words)), k=max(2, (len(words) + 1) // 2))
        for i in idx:
            words[i] = rng.choice(_FILLER_LYRICS)
    quote = " ".join(words)
    return rng.choice([f'The voice sings "{quote}" softly.', f"You can hear “{quote}” clearly."])


def _mood(s: Song, rng: random.Random, wrong: bool) -> str | None:
    return None if wrong else rng.choice(_MOODS)


def _near_claim(s: Song, rng: random.Random, wrong: bool) -> str | None:
    """A true step with words that look like claims but are not: a phrase length in bars,
    "the first two sections", contrapuntal parts, an absent instrument, a borrowed chord,
    a named meter."""
    if wrong:
        return None
    options = [
        f"The riff repeats over {rng.choice(NUMBER_WORDS[2:5])} bars before it turns.",
        f"The first {rng.choice(NUMBER_WORDS[2:4])} sections share one melody.",
        "The four parts move against each other in counterpoint.",
    ]
    if s.instruments:
        known = set().union(*(instrument_family(i) for i in s.instruments))
        absent = [w for w, f in _FAMILIES.items() if f not in known and w not in ("keys", "lead")]
        present = [w for w, f in _FAMILIES.items() if f in known and w not in ("keys", "lead")]
        if absent and present:
            options.append(
                f"There is no {rng.choice(absent)} here; the {rng.choice(present)} leads."
            )
            options.append(f"The {rng.choice(present)} sings over the accompaniment.")
    if s.facts.key is not None:
        k = theory.parse_key(s.facts.key.label)
        other = "minor" if k.mode == "major" else "major"
        options.append(
            f"A chord borrowed from {_key_text(k.tonic, other, rng)} shades the cadence."
        )
    if s.facts.meter is not None and s.facts.meter.label == "4/4":
        options.append("It sits comfortably in common time.")
    if s.facts.meter is not None and s.facts.meter.beats_per_bar == 3:
        options.append("It turns gently in waltz time.")
    return rng.choice(options)


Writer = Callable[[Song, random.Random, bool], "str | None"]
WRITERS: dict[str, Writer] = {
    "tempo": _tempo,
    "mode": _mode,
    "meter": _meter,
    "chord": _chord,
    "progression": _progression,
    "sections": _sections,
    "section_time": _section_time,
    "instrument": _instrument,
    "vocals": _vocals,
    "lyric": _lyric,
    "mood": _mood,
    "near_claim": _near_claim,
}
KEY_ERRORS = ("relative", "parallel", "unrelated")


def make_corpus(songs: list[Song], seed: int = 0, repeats: int = 1) -> list[CorpusStep]:
    """For each song, ``repeats`` rounds of one true step and one false step per claim
    kind the facts allow (keys: one false step per relation in `KEY_ERRORS`)."""
    rng = random.Random(seed)
    out: list[CorpusStep] = []
    for s in songs:
        for _ in range(repeats):
            if (t := _key(s, rng, None)) is not None:
                out.append(CorpusStep(s.name, t, "key", None))
                for how in KEY_ERRORS:
                    out.append(CorpusStep(s.name, _key(s, rng, how) or "", "key", f"key_{how}"))
            for kind, write in WRITERS.items():
                if (t := write(s, rng, False)) is not None:
                    out.append(CorpusStep(s.name, t, kind, None))
                if (t := write(s, rng, True)) is not None:
                    out.append(CorpusStep(s.name, t, kind, kind))
    return out


@dataclass(frozen=True)
class Score:
    """How the verifier called a corpus: "wrong" against the injected errors."""

    true_steps: int
    injected: int
    caught: int  # injected steps called wrong
    false_alarms: int  # true steps called wrong
    missed: list[CorpusStep]
    alarms: list[tuple[CorpusStep, list[str]]]

    @property
    def recall(self) -> float:
        return self.caught / self.injected if self.injected else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.true_steps if self.true_steps else 0.0

    @property
    def precision(self) -> float:
        called = self.caught + self.false_alarms
        return self.caught / called if called else 1.0


def score(corpus: list[CorpusStep], songs: list[Song]) -> Score:
    """Run `musicflamingo.think.verify.check_step` on every step of the corpus."""
    from musicflamingo.think.verify import check_step

    by_name = {s.name: s for s in songs}
    missed, alarms = [], []
    caught = false_alarms = 0
    for step in corpus:
        song = by_name[step.song]
        check = check_step(step.text, song.facts, song.instruments)
        if step.injected and check.verdict == "wrong":
            caught += 1
        elif step.injected:
            missed.append(step)
        elif check.verdict == "wrong":
            false_alarms += 1
            alarms.append((step, [c.detail or c.reason for c in check.claims]))
    injected = sum(s.injected is not None for s in corpus)
    return Score(len(corpus) - injected, injected, caught, false_alarms, missed, alarms)
