"""Every prompt the runtime sends, and their rendering with the checkpoint's own chat template.

No system prompt lives here: the processor's template adds the checkpoint's own. The user
turn holds one audio item (the template places the ``<sound>`` placeholder) and the text.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any, Literal

from musicflamingo.util import clock

Task = Literal["caption", "ask", "choose", "lyrics", "key_facts"]
Role = Literal["system", "user", "assistant"]
TASKS: tuple[Task, ...] = ("caption", "ask", "choose", "lyrics", "key_facts")
LETTERS = string.ascii_uppercase
NEW_TOKENS = {"caption": 768, "ask": 384, "choose": 64, "lyrics": 1024, "key_facts": 256}
THINK_TOKENS = 1024

CAPTION = (
    "Describe this track in full detail in one rich paragraph: its genre and subgenre, tempo "
    "in BPM and rhythmic feel, key and mode, chord progression and harmony, instrumentation "
    "and timbres, production and mix, song structure with approximate section times, "
    "dynamics and energy over time, vocal character, mood, lyrical themes, and cultural or "
    "historical context."
)
LYRICS = "Generate a structured lyric sheet from the input music."
KEY_FACTS = (
    "Summarise this track as a single JSON object with exactly these keys: "
    '"genre" (string), "bpm" (number), "key" (string such as "A minor"), '
    '"meter" (string such as "4/4"), "instruments" (list of strings), '
    '"vocals" (string; "none" if instrumental), "mood" (list of strings), '
    '"chords" (list of the main chords, such as ["Am", "F", "C", "G"]). '
    "Output only the JSON object."
)
CHOOSE = "{question}\nChoose the correct option from the following options:\n{options}"
THINK = (
    "Please think and reason about the input music before you answer. Output your reasoning "
    "inside <think> </think> and your final answer inside <answer> </answer>."
)
GROUNDED = (
    "Signal-analysis measurements of this track (they can be wrong; trust your ears where "
    "they disagree):\n{facts}\n\n{request}"
)
PART = "This audio is part {index} of {count} of a longer song: {start} to {end} of {total}.\n\n"
MERGE = (
    "A song of {total} was too long to hear at once, so it was heard in {count} consecutive "
    "parts and this request was answered for each part:\n\n{request}\n\n{answers}\n\n"
    "Now answer the request once for the whole song. Combine the parts: keep what holds for "
    "the whole song, say how it changes over time, and do not answer part by part."
)
MERGE_PART = "Answer for part {index} ({start} to {end}):\n{answer}"


def option_lines(options: Sequence[str]) -> str:
    """``(A) first`` lines for 2 to 26 options."""
    if not 2 <= len(options) <= len(LETTERS):
        raise ValueError(f"give 2 to {len(LETTERS)} options, not {len(options)}")
    return "\n".join(f"({LETTERS[i]}) {o.strip()}" for i, o in enumerate(options))


def request_text(
    task: Task, question: str | None = None, options: Sequence[str] | None = None
) -> str:
    """The bare request of ``task`` (no thinking, grounding or part note)."""
    if task == "caption":
        return CAPTION
    if task == "lyrics":
        return LYRICS
    if task == "key_facts":
        return KEY_FACTS
    if task in ("ask", "choose"):
        if not (question and question.strip()):
            raise ValueError(f"task {task!r} needs a question")
        if task == "ask":
            return question.strip()
        return CHOOSE.format(question=question.strip(), options=option_lines(options or []))
    raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")


def user_text(
    request: str, *, think: bool = False, grounding: str | None = None, part: str | None = None
) -> str:
    """The user turn: optional part note and measured facts around ``request``, then the
    thinking instruction when ``think``."""
    text = GROUNDED.format(facts=grounding, request=request) if grounding else request
    text = (part or "") + text
    return f"{text}\n{THINK}" if think else text


def part_note(index: int, count: int, start: float, end: float, total: float) -> str:
    return PART.format(
        index=index + 1, count=count, start=clock(start), end=clock(end), total=clock(total)
    )


def merge_text(request: str, total: float, parts: Sequence[tuple[float, float, str]]) -> str:
    """The text-only prompt that turns per-part answers into one whole-song answer."""
    answers = "\n\n".join(
        MERGE_PART.format(index=i + 1, start=clock(s), end=clock(e), answer=a.strip() or "(none)")
        for i, (s, e, a) in enumerate(parts)
    )
    return MERGE.format(total=clock(total), count=len(parts), request=request, answers=answers)


def sanitize(tokenizer: Any, text: str) -> str:
    """User text without the tokenizer's special tokens (no fake audio or turn markers)."""
    for token in sorted(tokenizer.all_special_tokens, key=len, reverse=True):
        text = text.replace(token, "")
    return text


def render(processor: Any, text: str, *, audio: bool) -> str:
    """One user turn through the checkpoint's chat template, ready for generation."""
    return render_turns(processor, [("user", text)], audio=audio, add_generation_prompt=True)


def render_turns(
    processor: Any,
    turns: Sequence[tuple[Role, str]],
    *,
    audio: bool,
    add_generation_prompt: bool,
) -> str:
    """A conversation through the checkpoint's chat template; the audio item goes with the
    first user turn (training renders its targets with this, inference its prompts)."""
    messages = []
    first_user = next((i for i, (role, _) in enumerate(turns) if role == "user"), None)
    for i, (role, text) in enumerate(turns):
        content: list[dict[str, str]] = [{"type": "text", "text": text}]
        if audio and i == first_user:
            content.append({"type": "audio"})
        messages.append({"role": role, "content": content})
    return processor.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )
