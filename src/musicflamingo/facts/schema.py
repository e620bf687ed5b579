"""Typed, versioned record of the music facts measured for one song (`SongFacts`).

Times are seconds from the start of the file, tempo is BPM, keys read like "G minor",
chords use Harte/mir_eval syntax ("A:min7", "N" for no chord). A field that could not be
measured is ``None`` (or empty) and the reason is kept in ``SongFacts.undetected``.
"""

from __future__ import annotations

from pydantic import Field

from musicflamingo.audio import SourceInfo  # its home is audio; SongFacts.source is one
from musicflamingo.util import Record

SCHEMA_VERSION = "1.3"  # 1.1: `keys`, the key per section of a modulating song;
# 1.2: Section.group (repetition letter) beside a functional Section.label; 1.3: Key.tuning_hz,
# SourceInfo.inverted_channel


class TempoPoint(Record):
    time: float
    bpm: float


class Tempo(Record):
    bpm: float
    confidence: float = Field(ge=0, le=1)
    stable: bool = Field(description="False when the local tempo drifts by more than 4 %")
    curve: list[TempoPoint] = Field(default_factory=list)


class Meter(Record):
    numerator: int
    denominator: int
    beats_per_bar: int = Field(description="tracked beats per bar (2 for 6/8: dotted quarters)")
    confidence: float = Field(ge=0, le=1)

    @property
    def label(self) -> str:
        return f"{self.numerator}/{self.denominator}"


class KeyCandidate(Record):
    tonic: str
    mode: str  # "major" | "minor"
    score: float

    @property
    def label(self) -> str:
        return f"{self.tonic} {self.mode}"


class Key(Record):
    tonic: str
    mode: str
    confidence: float = Field(ge=0, le=1)
    runner_up: KeyCandidate | None = None
    tuning_hz: float | None = Field(
        default=None, description="the pitch of A4 the music is tuned to (440 is concert pitch)"
    )

    @property
    def label(self) -> str:
        return f"{self.tonic} {self.mode}"


class KeySpan(Record):
    start: float
    end: float
    tonic: str
    mode: str

    @property
    def label(self) -> str:
        return f"{self.tonic} {self.mode}"


class ChordSegment(Record):
    start: float
    end: float
    label: str  # Harte syntax


SILENCE = "silence"  # a section label: a long silence between or around a file's parts


class Section(Record):
    start: float
    end: float
    label: str  # "intro", "verse", "pre-chorus", "chorus", "bridge", "outro", `SILENCE`; "A"…
    group: str = ""  # repetition letter: sections sharing it repeat ("B′": a varied repeat)
    progression: str = ""


class Loudness(Record):
    integrated_lufs: float | None
    range_lu: float | None
    peak_dbfs: float
    curve_times: list[float] = Field(default_factory=list)
    curve_lufs: list[float] = Field(default_factory=list, description="short-term (3 s) loudness")


class VocalSegment(Record):
    start: float
    end: float


class Vocals(Record):
    present: bool
    fraction: float = Field(ge=0, le=1)
    segments: list[VocalSegment] = Field(default_factory=list)


class LyricLine(Record):
    start: float
    end: float
    text: str


class Lyrics(Record):
    language: str
    lines: list[LyricLine]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class SongFacts(Record):
    schema_version: str = SCHEMA_VERSION
    source: SourceInfo
    duration: float
    tempo: Tempo | None = None
    beats: list[float] = Field(default_factory=list)
    downbeats: list[float] = Field(default_factory=list)
    meter: Meter | None = None
    key: Key | None = None
    keys: list[KeySpan] = Field(
        default_factory=list,
        description="key per section, spans tiling the song, when it modulates (else empty)",
    )
    chords: list[ChordSegment] = Field(default_factory=list)
    progression: str = ""
    sections: list[Section] = Field(default_factory=list)
    loudness: Loudness | None = None
    vocals: Vocals | None = None
    lyrics: Lyrics | None = None
    backends: dict[str, str] = Field(default_factory=dict, description="fact kind -> backend id")
    undetected: dict[str, str] = Field(
        default_factory=dict, description="fact kind -> why it is reported as none detected"
    )

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> SongFacts:
        return cls.model_validate_json(text)
