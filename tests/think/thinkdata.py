"""Helpers of the MF-Think tests: the fixtures used, their known instruments, a small
made-up song and the command line in a child process."""

from __future__ import annotations

import json
import subprocess
import sys

from musicflamingo.facts.schema import (
    ChordSegment,
    Key,
    LyricLine,
    Lyrics,
    Meter,
    Section,
    SongFacts,
    SourceInfo,
    Tempo,
    Vocals,
)

SONGS = ("song04_jig_em", "song09_nocturne_cm")
CHORDS = ["D:maj", "A:maj", "B:min7", "G:maj"]
LINES = ["Twinkle, twinkle, little star.", "How I wonder what you are."]


def truth_instruments(path) -> list[str]:
    """The instruments a rendered fixture was made with (its ground truth), drums included."""
    truth = json.loads(path.read_text())
    return truth["instruments"] + (["drums"] if truth.get("drums") else [])


def make_facts() -> SongFacts:
    """A 96 s song in D major, 4/4 at 120 BPM, D A Bm7 G every 2 s, sections A B A, two
    sung lines."""
    return SongFacts(
        source=SourceInfo(
            path="song.ogg",
            container="ogg",
            codec="vorbis",
            sample_rate=44100,
            channels=2,
            size_bytes=1000,
        ),
        duration=96.0,
        tempo=Tempo(bpm=120.0, confidence=0.9, stable=True),
        key=Key(tonic="D", mode="major", confidence=0.8),
        meter=Meter(numerator=4, denominator=4, beats_per_bar=4, confidence=0.9),
        beats=[i * 0.5 for i in range(192)],
        downbeats=[i * 2.0 for i in range(48)],
        chords=[
            ChordSegment(start=2.0 * i, end=2.0 * i + 2, label=CHORDS[i % 4]) for i in range(48)
        ],
        sections=[
            Section(start=0, end=32, label="A"),
            Section(start=32, end=64, label="B"),
            Section(start=64, end=96, label="A"),
        ],
        vocals=Vocals(present=True, fraction=0.4),
        lyrics=Lyrics(
            language="en",
            lines=[
                LyricLine(start=10 + 10 * i, end=18 + 10 * i, text=t) for i, t in enumerate(LINES)
            ],
        ),
    )


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``musicflamingo ARGS`` in a child process."""
    cmd = [sys.executable, "-m", "musicflamingo", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
