"""Key: essentia's KeyExtractor (its default profile, frames twice its default length, its
semitones placed by the recording's own tuning) decides; a 24-key profile ranking supplies
the runner-up; sections whose chords leave the home key report their own key."""

from __future__ import annotations

import numpy as np

from musicflamingo import theory
from musicflamingo.facts import essentia_lib
from musicflamingo.facts.harmony import triad
from musicflamingo.facts.schema import (
    SILENCE,
    ChordSegment,
    Key,
    KeyCandidate,
    KeySpan,
    Section,
)
from musicflamingo.theory import pitch_class, tonic_name

# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MIN_STRENGTH = 0.35  # essentia key strength below this: no reliable tonal centre
# KeyExtractor's frame and hop at 44.1 kHz (scaled at other rates to keep their seconds).
# Its default 4096/4096 resolves 10.8 Hz, under a semitone below 190 Hz: on the dev split
# 8192/4096 scored 0.973 (MIREX weighted) against 0.905, solo fiddle tunes 0.91 against 0.63.
KEY_FRAME, KEY_HOP = 8192, 4096
# A found tuning within this many cents of A = 440 Hz (about the smallest pitch difference
# a listener hears) places the semitones at 440: the estimate's own spread on music rendered
# at 440 (9 in 10 dev pieces within 3 cents) moved a key that reads right at 440.
TUNING_JND_CENTS = 5.0
# A section modulates when it lasts MODULATION_SECONDS and the share of its chord time that
# is diatonic to its own key exceeds the home key's share by MODULATION_MARGIN.
MODULATION_SECONDS = 8.0
MODULATION_MARGIN = 0.3
# Triads diatonic to a key, as (semitones above the tonic, quality); minor has both fifths.
DIATONIC = {
    "major": {(0, "maj"), (2, "min"), (4, "min"), (5, "maj"), (7, "maj"), (9, "min")},
    "minor": {(0, "min"), (3, "maj"), (5, "min"), (7, "min"), (7, "maj"), (8, "maj"), (10, "maj")},
}


def profile_scores(chroma_mean: np.ndarray) -> dict[tuple[int, str], float]:
    """Pearson correlation of a mean chroma vector with each of the 24 rotated profiles."""
    scores = {}
    for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for pc in range(12):
            scores[(pc, mode)] = float(np.corrcoef(chroma_mean, np.roll(profile, pc))[0, 1])
    return scores


def key_extractor(samples: np.ndarray, sr: int, tuning_hz: float) -> tuple[int, str, float]:
    """(tonic pitch class, mode, strength) by essentia's KeyExtractor with its default
    profile, `KEY_FRAME`/`KEY_HOP` (as many seconds at any sample rate) and A4 at
    ``tuning_hz`` (`harmony.tuning_frequency`; at 440 within `TUNING_JND_CENTS`)."""
    frame, hop = (2 * round(n * sr / 44_100 / 2) for n in (KEY_FRAME, KEY_HOP))
    if abs(theory.cents_from_a440(tuning_hz)) <= TUNING_JND_CENTS:
        tuning_hz = 440.0
    extract = essentia_lib.standard().KeyExtractor(
        sampleRate=sr, frameSize=frame, hopSize=hop, tuningFrequency=tuning_hz
    )
    tonic, scale, strength = extract(np.ascontiguousarray(samples, dtype=np.float32))
    return pitch_class(tonic), scale, float(strength)


def estimate_key(
    samples: np.ndarray, sr: int, chroma_mean: np.ndarray, pitched: bool, tuning_hz: float
) -> Key | None:
    """Key of mono audio tuned to A4 = ``tuning_hz``, or None when it has no pitched content
    or no tonal centre."""
    if not pitched:
        return None
    pc, scale, strength = key_extractor(samples, sr, tuning_hz)
    if strength < MIN_STRENGTH:
        return None
    ranking = sorted(profile_scores(chroma_mean).items(), key=lambda kv: -kv[1])
    runner = next(((k, s) for k, s in ranking if k != (pc, scale)), None)
    runner_up = None
    if runner is not None:
        (rpc, rmode), rscore = runner
        runner_up = KeyCandidate(tonic=tonic_name(rpc, rmode), mode=rmode, score=round(rscore, 3))
    return Key(
        tonic=tonic_name(pc, scale),
        mode=scale,
        confidence=round(strength, 3),
        runner_up=runner_up,
        tuning_hz=round(tuning_hz, 1),
    )


def diatonic_share(key: str, chords: list[ChordSegment], start: float, end: float) -> float:
    """Share of the chord time in [start, end] whose triad belongs to ``key`` (0 if none)."""
    home = theory.parse_key(key)
    inside = diatonic = 0.0
    for c in chords:
        overlap = min(end, c.end) - max(start, c.start)
        if overlap <= 0 or c.label in theory.NO_CHORDS:
            continue
        root, _, quality = triad(c.label).partition(":")
        inside += overlap
        if ((pitch_class(root) - home.tonic) % 12, quality) in DIATONIC[str(home.mode)]:
            diatonic += overlap
    return diatonic / inside if inside else 0.0


def key_changes(
    samples: np.ndarray, sr: int, key: Key, sections: list[Section], chords: list[ChordSegment]
) -> list[KeySpan]:
    """Key per section when the music modulates (spans tiling the sections), else []; a
    silence (`SILENCE`) keeps the home key.

    A section keeps the home key unless KeyExtractor on it names another tonic that is not
    the relative key (the usual confusions of a short excerpt) and its chords fit that key
    clearly better than the home key (`MODULATION_MARGIN`)."""
    spans: list[KeySpan] = []
    for s in sections:
        local = key
        if s.end - s.start >= MODULATION_SECONDS and s.label != SILENCE:
            excerpt = samples[int(s.start * sr) : int(s.end * sr)]
            pc, mode, _ = key_extractor(excerpt, sr, key.tuning_hz or 440.0)
            found = f"{tonic_name(pc, mode)} {mode}"
            if (
                pc != theory.parse_key(key.label).tonic
                and not theory.relative(found, key.label)
                and diatonic_share(found, chords, s.start, s.end)
                >= diatonic_share(key.label, chords, s.start, s.end) + MODULATION_MARGIN
            ):
                local = Key(tonic=tonic_name(pc, mode), mode=mode, confidence=key.confidence)
        if spans and spans[-1].label == local.label:
            spans[-1] = spans[-1].model_copy(update={"end": s.end})
        else:
            spans.append(KeySpan(start=s.start, end=s.end, tonic=local.tonic, mode=local.mode))
    return spans if len(spans) > 1 else []
