"""Typed result records of the listening runtime (JSON-storable) and their Markdown section."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from musicflamingo.util import Record, clock

from .parsing import Choice, ParsedKeyFacts
from .prompts import Task

REPORT_VERSION = "1.0"
Verdict = Literal[
    "agrees", "half/double", "relative", "parallel", "fifth", "contradicts", "not comparable"
]
AGREEING: tuple[Verdict, ...] = ("agrees",)
RELATED: tuple[Verdict, ...] = ("half/double", "relative", "parallel", "fifth")


class PartAnswer(Record):
    """The answer for one part of a song that was heard in parts."""

    start: float
    end: float
    text: str
    answer: str


class Answer(Record):
    """One request's result: raw text, its reasoning/answer split and what it was based on."""

    task: Task
    question: str | None = None
    options: list[str] | None = None
    think: bool = False
    grounded: bool = False
    text: str = Field(description="raw output of the final pass (the merge pass for parts)")
    thinking: str = ""
    answer: str
    choice: Choice | None = None
    key_facts: ParsedKeyFacts | None = None
    parts: list[PartAnswer] = Field(default_factory=list)
    heard: list[tuple[float, float]] = Field(description="spans of the audio the model heard")
    duration: float
    truncated: bool = False
    warnings: list[str] = Field(default_factory=list)
    new_tokens: int = 0
    finished: bool = Field(True, description="False when generation stopped at the token limit")


class CheckItem(Record):
    """One aspect compared between the model's key facts and the measured facts."""

    aspect: str
    model: str | None
    measured: str | None
    verdict: Verdict
    note: str = ""


class FactCheck(Record):
    items: list[CheckItem] = Field(default_factory=list)

    @property
    def agreements(self) -> list[CheckItem]:
        return [i for i in self.items if i.verdict in AGREEING]

    @property
    def related(self) -> list[CheckItem]:
        return [i for i in self.items if i.verdict in RELATED]

    @property
    def contradictions(self) -> list[CheckItem]:
        return [i for i in self.items if i.verdict == "contradicts"]


class ListenReport(Record):
    """Everything the model said about one song, with the fact check when facts were given."""

    report_version: str = REPORT_VERSION
    source: str
    model: str
    variant: str
    device: str
    dtype: str
    answers: list[Answer]
    fact_check: FactCheck | None = None

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> ListenReport:
        return cls.model_validate_json(text)


_TITLES = {
    "caption": "Description",
    "ask": "Question",
    "choose": "Multiple choice",
    "lyrics": "Lyrics",
    "key_facts": "Key facts",
}


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ") if value not in (None, "") else "–"


def _key_facts_table(answer: Answer) -> list[str]:
    parsed = answer.key_facts
    if parsed is None or parsed.facts is None:
        return ["_The model gave no readable key facts._", "", "```", answer.answer.strip(), "```"]
    f = parsed.facts
    rows = [
        ("Genre", f.genre),
        ("Tempo", f"{f.bpm:g} BPM" if f.bpm else None),
        ("Key", f.key),
        ("Meter", f.meter),
        ("Instruments", ", ".join(f.instruments)),
        ("Vocals", f.vocals),
        ("Mood", ", ".join(f.mood)),
        ("Chords", " ".join(f.chords)),
    ]
    lines = ["| | |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in rows)]
    if parsed.method != "json":
        lines += [
            "",
            f"_Read from {parsed.method.replace('-', ' ')}"
            + (f" ({', '.join(parsed.repairs)})" if parsed.repairs else "")
            + "._",
        ]
    return lines


def _answer_lines(answer: Answer) -> list[str]:
    title = _TITLES[answer.task] + (" (grounded)" if answer.grounded else "")
    lines = [f"### {title}", ""]
    if answer.question:
        lines += [f"**Q:** {answer.question.strip()}", ""]
    if answer.options:
        lines += [*(f"- ({chr(65 + i)}) {o}" for i, o in enumerate(answer.options)), ""]
    if answer.task == "key_facts":
        lines += _key_facts_table(answer)
    elif answer.task == "choose":
        c = answer.choice
        picked = f"**({c.letter}) {c.option}**" if c and c.index is not None else "_no option_"
        lines += [f"Answer: {picked}", "", answer.answer.strip()]
    elif answer.task == "lyrics":
        lines += ["```text", answer.answer.strip() or "(no lyrics)", "```"]
    else:
        lines += [answer.answer.strip() or "_(empty answer)_"]
    if answer.thinking:
        lines += [
            "",
            "<details><summary>Reasoning</summary>",
            "",
            answer.thinking.strip(),
            "",
            "</details>",
        ]
    notes = list(answer.warnings)
    if len(answer.parts) > 1:
        spans = ", ".join(f"{clock(p.start)}–{clock(p.end)}" for p in answer.parts)
        notes.append(f"heard in {len(answer.parts)} parts ({spans}) and merged")
    if not answer.finished:
        notes.append(f"stopped at the token limit ({answer.new_tokens} tokens)")
    lines += ["", *(f"> Note: {n}" for n in notes)] if notes else []
    return [*lines, ""]


def _fact_check_lines(check: FactCheck) -> list[str]:
    lines = [
        "### Model vs measured facts",
        "",
        f"{len(check.agreements)} agree, {len(check.related)} related, "
        f"{len(check.contradictions)} contradict.",
        "",
        "| Aspect | Model | Measured | Verdict |",
        "|---|---|---|---|",
    ]
    for i in check.items:
        verdict = i.verdict + (f" ({i.note})" if i.note else "")
        lines.append(f"| {i.aspect} | {_cell(i.model)} | {_cell(i.measured)} | {verdict} |")
    return [*lines, ""]


def render_markdown(report: ListenReport) -> str:
    """The model's answers and the fact check as one Markdown section (``## …``)."""
    lines = [
        "## What the model hears",
        "",
        f"Model: `{report.model}` ({report.variant}, {report.device}, {report.dtype}); "
        "greedy decoding.",
        "",
    ]
    for answer in report.answers:
        lines += _answer_lines(answer)
    if report.fact_check is not None:
        lines += _fact_check_lines(report.fact_check)
    return "\n".join(lines).rstrip() + "\n"
