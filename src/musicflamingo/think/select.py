"""Stage 1 of MF-Think: choose the hard items of an MF-Skills song record.

Without an audio model an item is hard by its skill (theory, structure, temporal
reasoning, comparison) or, for a multiple-choice item, by how close its distractors are
to the answer (`option_similarity`). With one, a QA item is hard when the model answers
it wrong (the paper's rule). Every caption is chosen. Each choice records why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from musicflamingo import theory
from musicflamingo.bench.normalize import normalise_text
from musicflamingo.model.prompts import CAPTION
from musicflamingo.skills.records import QAItem, SongRecord
from musicflamingo.think.audio import QA, AudioModel
from musicflamingo.think.records import Pick, ThinkItem

REASONING_SKILLS = ("harmonic", "structural", "temporal")
REASONING_TYPES = ("comparison", "chord", "count", "time")
CLOSE_DISTRACTORS = 0.6  # an MCQ is hard when a distractor is at least this similar
_KEY_SIMILARITY = {"relative": 0.8, "parallel": 0.8, "dominant": 0.7, "subdominant": 0.7}
_NUMBER = re.compile(r"^\D*?(-?\d+(?:\.\d+)?)\D*$")


@dataclass(frozen=True)
class SelectConfig:
    skills: tuple[str, ...] = REASONING_SKILLS
    types: tuple[str, ...] = REASONING_TYPES
    close: float = CLOSE_DISTRACTORS
    captions: bool = True


def _as_key(text: str) -> theory.Key | None:
    try:
        return theory.parse_key(text.strip().rstrip("."))
    except ValueError:
        return None


def _as_chord(text: str) -> str | None:
    try:
        return theory.to_harte(text.strip())
    except ValueError:
        return None


def option_similarity(answer: str, option: str) -> float:
    """How easily ``option`` passes for ``answer``, 0-1: related keys (relative, parallel,
    a fifth apart), chords sharing root or triad, numbers close in ratio, else the
    rapidfuzz token-set similarity of the words."""
    ka, ko = _as_key(answer), _as_key(option)
    if ka is not None and ko is not None and ka.mode and ko.mode:
        return _KEY_SIMILARITY.get(theory.key_relation(ko, ka), 0.2)
    ca, co = _as_chord(answer), _as_chord(option)
    if ca is not None and co is not None:
        return 0.9 if theory.same_triad(co, ca) else 0.7 if theory.same_root(co, ca) else 0.3
    na, no = _NUMBER.match(answer), _NUMBER.match(option)
    if na and no:
        a, o = abs(float(na.group(1))), abs(float(no.group(1)))
        return min(a, o) / max(a, o) if max(a, o) else 1.0
    return fuzz.token_set_ratio(normalise_text(answer), normalise_text(option)) / 100


def distractor_similarity(item: QAItem) -> float:
    """The closest distractor of an MCQ (0 when there are none)."""
    others = [o for o in item.options if normalise_text(o) != normalise_text(item.answer)]
    return max((option_similarity(item.answer, o) for o in others), default=0.0)


def _item(record: SongRecord, index: int, q: QAItem, pick: Pick) -> ThinkItem:
    return ThinkItem(
        id=f"{record.id}/qa{index:02d}",
        song_id=record.id,
        path=record.path,
        duration=record.duration,
        task="qa",
        question=q.question,
        options=q.options,
        answer=q.answer,
        qa_type=q.type,
        skill=q.skill,
        pick=pick,
    )


def correct(answer: str, truth: str) -> bool:
    """Whether a model's answer is the item's answer (normalised text, or the truth's
    words contained in a longer reply)."""
    a, t = normalise_text(answer, numbers=True), normalise_text(truth, numbers=True)
    return bool(t) and (a == t or f" {t} " in f" {a} ")


def select(
    record: SongRecord, config: SelectConfig = SelectConfig(), audio: AudioModel | None = None
) -> list[ThinkItem]:
    """The hard items of one finished MF-Skills song (none when it failed)."""
    if record.status != "ok":
        return []
    items: list[ThinkItem] = []
    if audio is not None:
        replies = audio.answer(record.path, [QA(q.question, q.options) for q in record.qa])
        for i, (q, reply) in enumerate(zip(record.qa, replies, strict=True)):
            if reply is not None and not correct(reply, q.answer):
                detail = f"{audio.model_id} answered {reply[:80]!r}"
                items.append(
                    _item(record, i, q, Pick(reason="model_wrong", score=1.0, detail=detail))
                )
    else:
        for i, q in enumerate(record.qa):
            if q.type == "mcq" and (sim := distractor_similarity(q)) >= config.close:
                pick = Pick(reason="close_distractors", score=round(sim, 3))
            elif q.skill in config.skills or q.type in config.types:
                pick = Pick(reason="reasoning_skill", detail=f"{q.skill}/{q.type}")
            else:
                continue
            items.append(_item(record, i, q, pick))
    if config.captions and record.caption is not None:
        items.append(
            ThinkItem(
                id=f"{record.id}/caption",
                song_id=record.id,
                path=record.path,
                duration=record.duration,
                task="caption",
                question=CAPTION,
                answer=record.caption.text,
                pick=Pick(reason="caption"),
            )
        )
    return items
