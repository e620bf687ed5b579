"""Key: essentia's KeyExtractor decides; a 24-key profile ranking supplies the runner-up."""

from __future__ import annotations

import numpy as np

from musicflamingo.facts import essentia_lib
from musicflamingo.facts.schema import Key, KeyCandidate
from musicflamingo.theory import pitch_class

PITCHES_SHARP = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
# Conventional spellings: the tonic as a key signature would name it.
MAJOR_NAMES = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
MINOR_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]
# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MIN_STRENGTH = 0.35  # essentia key strength below this: no reliable tonal centre
MIN_TONALNESS = 0.1  # share of energy in spectral peaks; below it (noise, drums): no key


def key_name(pc: int, mode: str) -> str:
    return (MAJOR_NAMES if mode == "major" else MINOR_NAMES)[pc % 12]


def profile_scores(chroma_mean: np.ndarray) -> dict[tuple[int, str], float]:
    """Pearson correlation of a mean chroma vector with each of the 24 rotated profiles."""
    scores = {}
    for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for pc in range(12):
            scores[(pc, mode)] = float(np.corrcoef(chroma_mean, np.roll(profile, pc))[0, 1])
    return scores


def estimate_key(
    samples: np.ndarray, sr: int, chroma_mean: np.ndarray, pitched: bool
) -> Key | None:
    """Key of mono audio, or None when it has no pitched content or no tonal centre."""
    es = essentia_lib.standard()
    if not pitched:
        return None
    tonic, scale, strength = es.KeyExtractor(profileType="edma", sampleRate=sr)(samples)
    if strength < MIN_STRENGTH:
        return None
    pc = pitch_class(tonic)
    ranking = sorted(profile_scores(chroma_mean).items(), key=lambda kv: -kv[1])
    runner = next(((k, s) for k, s in ranking if k != (pc, scale)), None)
    runner_up = None
    if runner is not None:
        (rpc, rmode), rscore = runner
        runner_up = KeyCandidate(tonic=key_name(rpc, rmode), mode=rmode, score=round(rscore, 3))
    return Key(
        tonic=key_name(pc, scale),
        mode=scale,
        confidence=round(float(strength), 3),
        runner_up=runner_up,
    )
