"""Typed records of the MF-Skills engine: what each stage produces and what was dropped."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from musicflamingo.facts.schema import SongFacts
from musicflamingo.llm.base import Usage
from musicflamingo.util import Record

RECORD_VERSION = "1.0"
QAType = Literal["open", "mcq", "count", "time", "chord", "technique", "comparison"]
Skill = Literal["temporal", "attribute", "harmonic", "lyric-vocal", "structural"]
ReasonCode = Literal[
    "schema_invalid",
    "qa_over_limit",
    "caption_missing_aspect",
    "caption_length",
    "tempo_mismatch",
    "tempo_half_double",
    "tempo_unmeasured",
    "key_mismatch",
    "key_unmeasured",
    "meter_mismatch",
    "meter_unmeasured",
    "chord_not_in_song",
    "chords_unmeasured",
    "lyric_not_in_transcript",
    "lyrics_unmeasured",
    "mcq_option_count",
    "mcq_duplicate_options",
    "mcq_answer_not_in_options",
    "time_out_of_range",
    "bar_out_of_range",
    "near_duplicate",
    "judge_rejected",
]


class Aspects(BaseModel):
    """The six aspects of the long caption, in order: the one home of their names."""

    model_config = ConfigDict(extra="ignore")  # extra keys in an LLM's reply are dropped

    tempo_key_meter: str
    instrumentation_production: str
    lyrics_themes: str
    structure_dynamics: str
    theory_harmony: str
    mood_context: str


ASPECTS = tuple(Aspects.model_fields)


class SegmentCaption(Record):
    """Stage 1: a short surface-level caption of one 30 s window."""

    index: int
    start: float
    end: float
    text: str


class SkillsCaption(Record):
    """Stage 3: the long caption, one paragraph per aspect."""

    aspects: dict[str, str]

    @property
    def text(self) -> str:
        return "\n\n".join(self.aspects[a].strip() for a in ASPECTS if self.aspects.get(a))

    @property
    def words(self) -> int:
        return len(self.text.split())


class References(Record):
    seconds: list[float] = Field(default_factory=list)
    bars: list[int] = Field(default_factory=list)
    chords: list[str] = Field(default_factory=list)


class QAItem(Record):
    """Stage 3: one question with its answer, rationale and what it refers to."""

    question: str = Field(min_length=3)
    type: QAType
    skill: Skill
    options: list[str] = Field(default_factory=list)
    answer: str = Field(min_length=1)
    rationale: str = ""
    references: References = Field(default_factory=References)


class Drop(Record):
    """Something left out of the dataset (or, in ``flags``, kept but marked), and why."""

    item: str  # "caption", "qa3", "distractor", ...
    reason: ReasonCode
    detail: str = ""
    payload: dict[str, Any] | str | None = None


class Provenance(Record):
    llm: str | None = None
    captioner: str | None = None
    judge: str | None = None
    judge_failure: str | None = None
    prompts: dict[str, str] = Field(default_factory=dict)  # name -> Prompt.id
    facts_backends: dict[str, str] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)


class SongRecord(Record):
    """Everything the engine made of one song; written as one file when the song is done."""

    record_version: str = RECORD_VERSION
    id: str
    path: str
    duration: float
    status: Literal["ok", "failed"] = "ok"
    failure: str | None = None
    facts: SongFacts | None = None
    segment_captions: list[SegmentCaption] = Field(default_factory=list)
    caption: SkillsCaption | None = None
    qa: list[QAItem] = Field(default_factory=list)
    drops: list[Drop] = Field(default_factory=list)
    flags: list[Drop] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)
