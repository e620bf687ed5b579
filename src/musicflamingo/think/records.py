"""Typed records of the MF-Think engine: the items chosen, their traces, the verdicts and
what was dropped or rewritten, and why."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from musicflamingo.llm.base import Usage
from musicflamingo.util import Record

RECORD_VERSION = "1.0"
Task = Literal["qa", "caption"]
PickReason = Literal["reasoning_skill", "close_distractors", "caption", "model_wrong"]
Verdict = Literal["ok", "wrong", "unverifiable"]
Status = Literal["ok", "dropped", "failed"]
ThinkReason = Literal[
    "write_failed",  # no valid trace JSON after the allowed attempts
    "rewrite_failed",  # the rewrite request itself never validated
    "too_many_wrong",  # more than MAX_WRONG of the steps are wrong
    "still_wrong",  # wrong steps remain after the one rewrite
    "rewritten",  # a trace with a few wrong steps was rewritten once
    "metadata_failed",  # the 11-key record could not be extracted
    "metadata_corrected",  # a metadata value the facts contradict was replaced
    "metadata_removed",  # a metadata value the facts contradict was left out
]


class Pick(Record):
    """Why stage 1 chose an item: its skill, how close its distractors are, or that the
    audio model answered it wrong."""

    reason: PickReason
    score: float = 0.0  # distractor similarity 0-1, or 1.0 for a wrong model answer
    detail: str = ""


class ThinkItem(Record):
    """An MF-Skills QA item or caption chosen for a trace."""

    id: str  # "<song id>/qa03" or "<song id>/caption"
    song_id: str
    path: str
    duration: float
    task: Task
    question: str
    options: list[str] = Field(default_factory=list)
    answer: str  # the QA answer, or the reference caption
    qa_type: str | None = None
    skill: str | None = None
    pick: Pick


class StepVerdict(Record):
    """One step with its deterministic verdict and, when asked, the audio model's."""

    text: str
    verdict: Verdict
    facts: Verdict
    audio: bool | None = None  # the audio model's yes/no; None: not asked or unreadable
    reasons: list[str] = Field(default_factory=list)
    details: list[str] = Field(default_factory=list)


class Note(Record):
    """A drop, a rewrite or a metadata correction, with its reason code."""

    reason: ThinkReason
    detail: str = ""


class Provenance(Record):
    llm: str | None = None
    audio_model: str | None = None
    prompts: dict[str, str] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)


class ThinkRecord(Record):
    """Everything the engine made of one item; one file per item, written when done."""

    record_version: str = RECORD_VERSION
    item: ThinkItem
    status: Status = "ok"
    trace: list[str] = Field(default_factory=list)
    final_answer: str = ""
    steps: list[StepVerdict] = Field(default_factory=list)
    first_draft: list[StepVerdict] = Field(default_factory=list)  # before a rewrite
    metadata: dict[str, str] | None = None  # grpo_caption: the 11-key record
    notes: list[Note] = Field(default_factory=list)
    provenance: Provenance = Field(default_factory=Provenance)

    @property
    def wrong_share(self) -> float:
        return sum(s.verdict == "wrong" for s in self.steps) / max(len(self.steps), 1)
