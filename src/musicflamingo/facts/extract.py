"""Measure every fact of one song: `analyze(path) -> SongFacts`.

Each kind of fact comes from a named backend; `FactsConfig` picks them, and the ids of the
backends used are stored in `SongFacts.backends` so every number can be traced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

from musicflamingo import audio as audio_io
from musicflamingo.facts import beat_model, harmony, lyrics, madmom_rhythm, rhythm
from musicflamingo.facts.dynamics import GATE_BLOCK, LoudnessMeter, is_silent
from musicflamingo.facts.features import MIN_TONALNESS, Spectral, spectral
from musicflamingo.facts.features import SR as FEATURE_SR
from musicflamingo.facts.forked import Forked
from musicflamingo.facts.form import estimate_sections
from musicflamingo.facts.meter import bars_by_part
from musicflamingo.facts.schema import SongFacts
from musicflamingo.facts.tonality import estimate_key, key_changes

T = TypeVar("T")

BEAT_TRACKERS: dict[str, Callable[[np.ndarray, int], rhythm.Beats]] = {
    "essentia-multifeature": rhythm.essentia_beats,
    "madmom-rnn-dbn": madmom_rhythm.madmom_beats,  # the `madmom` extra; CC BY-NC-SA models
}
LEARNED = "tcn-metricon"  # `beat_model`: reads the features, not the samples
METER_BACKEND = "learned-bar-model(beat-synchronous cues)"  # `meter`
RHYTHM = {"tcn": LEARNED, "essentia": "essentia-multifeature", "madmom": "madmom-rnn-dbn"}


@dataclass(frozen=True)
class FactsConfig:
    """Which backend measures what. ``lyrics_model=None`` skips lyrics and vocals.
    ``threads`` >= 2 runs Chordino (and a beat tracker of the samples: essentia, madmom)
    in forked processes beside the other stages."""

    beat_tracker: str = RHYTHM["tcn"]
    lyrics_model: str | None = lyrics.DEFAULT_MODEL
    lyrics_language: str | None = None
    lyrics_compute_type: str = lyrics.COMPUTE_TYPE
    max_duration: float = audio_io.MAX_DURATION
    threads: int = 2


@dataclass
class Timings:
    """Wall seconds per stage of one analysis (for benchmarks and logs)."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - t0


def analyze(
    path: str | Path, config: FactsConfig = FactsConfig(), timings: Timings | None = None
) -> SongFacts:
    """Measure every fact of the song at ``path``. Raises `audio.AudioError` on bad input."""
    t = timings or Timings()
    meter = LoudnessMeter(audio_io.ANALYSIS_SR)
    with t.stage("decode"):
        song = audio_io.load(
            path, audio_io.ANALYSIS_SR, max_duration=config.max_duration, on_block=meter.feed
        )
    with t.stage("loudness"):
        loudness = meter.result()
    facts = SongFacts(
        source=song.source,
        duration=round(song.duration, 3),
        loudness=loudness,
        backends={"loudness": "bs1770-streaming(K-filter: pyloudnorm design, essentia IIR)"},
    )
    if meter.too_short:
        reason = f"too short to measure ({song.duration:.2f} s; at least {GATE_BLOCK} s needed)"
    elif is_silent(loudness):
        reason = "silence: nothing above -60 LUFS"
    else:
        reason = None
    if reason:
        facts.undetected = {
            k: reason for k in ("tempo", "meter", "key", "chords", "sections", "vocals", "lyrics")
        }
        return facts

    track = None  # the learned tracker reads the features, after they are computed
    if config.beat_tracker != LEARNED:
        track = partial(BEAT_TRACKERS[config.beat_tracker], song.samples, song.sr)
    # a tracker of the samples and Chordino are the longest stages: on two cores each runs
    # in a forked process beside the features and the key (their stages are the waits)
    tracker = Forked(track) if config.threads >= 2 and track is not None else None
    chorder = None
    try:
        with t.stage("features"):
            mid = song.at(FEATURE_SR)
            find_chords = partial(harmony.chordino, mid.samples, mid.sr, facts.duration)
            chorder = Forked(find_chords) if config.threads >= 2 else None
            spec = spectral(mid.samples)
            pitched = spec.song_tonalness() >= MIN_TONALNESS
        with t.stage("key"):
            tuning = harmony.tuning_frequency(mid.samples, mid.sr) if pitched else 440.0
            chroma_mean = spec.chroma.mean(axis=1)
            facts.key = estimate_key(song.samples, song.sr, chroma_mean, pitched, tuning)
            facts.backends["key"] = (
                "essentia-KeyExtractor(bgate, 8192/4096, nnls-tuning)+krumhansl-runner-up"
            )
        if facts.key is None:
            facts.undetected["key"] = "no tonal centre (flat pitch profile or weak key strength)"
            facts.undetected["chords"] = "no tonal content"
            if chorder is not None:  # its chords are not needed: free its core
                chorder.close()
        else:
            with t.stage("chords"):
                chords = find_chords() if chorder is None else chorder.result()
                facts.chords = chords
                facts.progression = harmony.summarize([c.label for c in chords])
                facts.backends["chords"] = "chordino(nnls-chroma)"
            if not facts.progression:
                facts.undetected["chords"] = "no chord detected"
        with t.stage("beats"):  # with a tracker alongside: the wait for it
            if track is None:
                beats = beat_model.track(spec, pitched)
            else:
                beats = track() if tracker is None else tracker.result()
    finally:
        for job in (tracker, chorder):
            if job is not None:
                job.close()
    with t.stage("beats"):
        if config.beat_tracker == RHYTHM["essentia"]:  # its metrical level and phase checks
            beats = rhythm.resolve_octave(beats, spec)
            beats = rhythm.resolve_dotted(beats, spec, song.samples, song.sr)
            beats = rhythm.resolve_phase(beats, spec)
        del song
        facts.tempo = rhythm.tempo_from_beats(beats, pitched)
        facts.backends["beats"] = config.beat_tracker
    if facts.tempo is None:
        facts.undetected["tempo"] = "no steady beat"
        facts.undetected["meter"] = "no steady beat"
    else:
        with t.stage("meter"):
            changes = harmony.chord_changes(facts.chords)
            half_bars = config.beat_tracker != LEARNED  # see estimate_meter
            parts = beats.parts or spec.parts()  # essentia, madmom: split at the silences
            result = bars_by_part(beats.times, parts, spec, changes, half_bars)
        if result is None:
            facts.beats = [round(float(b), 3) for b in beats.times]
            facts.undetected["meter"] = "too few beats"
        else:
            facts.meter = result.meter
            facts.beats = [round(float(b), 3) for b in result.beats]
            if len(result.beats) != len(beats.times):  # the meter changed the beat level
                regrouped = rhythm.at_level(beats, result.beats)
                facts.tempo = rhythm.tempo_from_beats(regrouped, pitched) or facts.tempo
            facts.downbeats = [round(float(b), 3) for b in result.downbeats]
            facts.backends["meter"] = METER_BACKEND
    if facts.tempo is not None:  # a tracker keeps its beat through silence; a listener hears none
        facts.beats = _heard(facts.beats, facts.beats, spec)
        facts.downbeats = _heard(facts.downbeats, facts.downbeats, spec)
        curve = facts.tempo.curve
        facts.tempo.curve = _heard(curve, [p.time for p in curve], spec)
    facts.chords = harmony.rest_in(facts.chords, spec.silences)  # after the bars: not a cue
    if facts.chords and facts.beats:
        with t.stage("chords"):
            facts.chords = harmony.snap_to_beats(facts.chords, facts.beats)
            facts.progression = harmony.summarize([c.label for c in facts.chords])
            facts.backends["chords"] += ", changes snapped to beats"
    if facts.key is None and facts.tempo is None:
        facts.undetected["sections"] = "no musical content (no beat, no tonal centre)"
        facts.undetected["lyrics"] = "no musical content"
        return facts
    with t.stage("sections"):
        grid = np.asarray(facts.downbeats or facts.beats[::4])
        facts.sections = estimate_sections(grid, spec, facts.duration, facts.chords)
        facts.backends["sections"] = "bar-structure-features"
    if facts.key is not None:
        with t.stage("key"):
            facts.keys = key_changes(mid.samples, mid.sr, facts.key, facts.sections, facts.chords)
    del spec
    if config.lyrics_model is None:
        facts.undetected["lyrics"] = "lyrics not requested"
        return facts
    with t.stage("lyrics"):
        voice = mid.at(audio_io.MODEL_SR)
        facts.lyrics = lyrics.transcribe(
            voice.samples,
            config.lyrics_model,
            config.lyrics_language,
            config.threads,
            config.lyrics_compute_type,
        )
        facts.vocals = lyrics.vocals_from_lyrics(facts.lyrics, facts.duration)
        facts.backends["lyrics"] = (
            f"faster-whisper({config.lyrics_model}, {config.lyrics_compute_type})"
        )
    if facts.lyrics is None:
        facts.undetected["lyrics"] = "no intelligible singing"
    return facts


def _heard(items: list[T], times: list[float], spec: Spectral) -> list[T]:
    """The ``items`` whose ``times`` (s) are not in the song's silence (`Spectral.in_silence`)."""
    return [x for x, quiet in zip(items, spec.in_silence(times), strict=True) if not quiet]
