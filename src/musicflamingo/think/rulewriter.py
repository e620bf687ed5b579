"""`ThinkRuleWriter`: a deterministic, rule-based `TextLLM` for the MF-Think prompts.

It reads the facts and the item of a trace prompt and writes a listening trace from the
facts only (tempo, key, meter, a progression heard in order, a section entry, the answer);
for the metadata prompt it copies what the caption states. Every other request goes to the
MF-Skills `RuleWriter`, so one server runs both engines. `noisy` (``serve-llm --llm
musicflamingo.think.rulewriter:noisy``) puts known false steps into some drafts (chosen by
a hash of the question and its answer) to exercise the rewrite and drop paths: kept,
rewritten and fixed, dropped for too many wrong steps, rewritten and still wrong; and a
wrong BPM in some metadata records. Tokens are counted as whitespace-separated words.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

from musicflamingo import theory
from musicflamingo.facts.harmony import short_name
from musicflamingo.llm.base import ChatRequest, Completion, Message, TextLLM, text_of
from musicflamingo.skills import checks
from musicflamingo.skills.rulewriter import RuleWriter
from musicflamingo.think import verify
from musicflamingo.util import clock

_BLOCK = re.compile(r"```(json|text)\s*\n(.*?)\n```", re.S)
_METADATA_KEYS = re.compile(r'"([A-Z][A-Za-z ]+)"')


def _played(chords: list[list[Any]]) -> list[str]:
    seq: list[str] = []
    for _, label in chords:
        if label in theory.NO_CHORDS:
            continue
        if not seq or not theory.same_triad(label, seq[-1]):
            seq.append(label)
    return seq


def _relative(label: str) -> str:
    k = theory.parse_key(label)
    if k.mode == "major":
        return theory.Key((k.tonic + 9) % 12, "minor").mir_eval_label()
    return theory.Key((k.tonic + 3) % 12, "major").mir_eval_label()


def true_steps(f: dict[str, Any]) -> list[str]:
    """Steps a careful listener could state from the facts (none about what is missing)."""
    steps = []
    if f.get("tempo_bpm"):
        pace = "steady" if f.get("tempo_steady", True) else "drifting"
        steps.append(f"The pulse feels {pace}, settling around {f['tempo_bpm']:.0f} BPM.")
    if f.get("key"):
        steps.append(f"Phrases keep resolving home, so the music sits in the key of {f['key']}.")
    if f.get("meter"):
        steps.append(f"The accents group the beats into bars of {f['meter']}.")
    played = _played(f.get("chords") or [])
    if len(played) >= 3:
        names = " – ".join(short_name(c) for c in played[:4])
        steps.append(f"The harmony moves {names}, a progression the ear can follow.")
    sections = [s for s in f.get("sections") or [] if s["start"] > 0]
    if sections:
        s = sections[0]
        steps.append(f"Around {clock(s['start'])} the {s['label']} section begins.")
    return steps


def false_steps(f: dict[str, Any]) -> list[str]:
    steps = []
    if f.get("key"):
        steps.append(f"The melody leans toward the key of {_relative(f['key'])}.")
    if f.get("tempo_bpm"):
        steps.append(f"It races along at about {f['tempo_bpm'] * 1.3:.0f} BPM.")
    if f.get("meter"):
        other = "3/4" if f["meter"] != "3/4" else "4/4"
        steps.append(f"The bars fall in {other}.")
    return steps


def trace(f: dict[str, Any], item: dict[str, Any], wrong: int) -> dict[str, Any]:
    """``wrong`` false steps put among the true ones (as many as the facts allow)."""
    steps = true_steps(f)
    for i, bad in enumerate(false_steps(f)[:wrong]):
        steps.insert(min(2 * i + 1, len(steps)), bad)
    if item.get("task") == "qa":
        steps.append(f"Putting it together, the answer is {item['answer']}")
        return {"steps": steps, "final_answer": item["answer"]}
    steps.append("Taken together, these are the things the description should bring out.")
    return {"steps": steps, "final_answer": ""}


def metadata(caption: str, keys: list[str]) -> dict[str, str]:
    """What the caption states for each key ("" where it says nothing checkable)."""
    bpm = re.search(r"(\d{2,3}(?:\.\d+)?)\s*(?i:bpm)", caption)
    keys_said = checks.stated_keys(caption)
    meter = re.search(r"\b(\d{1,2}/\d{1,2})\b", caption)
    chords = list(dict.fromkeys(short_name(c) for c in checks.stated_chords(caption)))[:6]
    instruments = sorted(set(verify.instrument_words(caption)))
    found = {
        "BPM": bpm.group(1) if bpm else "",
        "Key": keys_said[0][0] if keys_said else "",
        "Meter": meter.group(1) if meter else "",
        "Instruments": ", ".join(instruments),
        "Theory": " ".join(chords),
    }
    return {k: found.get(k, "") for k in keys}


def _task(messages: list[Message]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The facts, the item and the caption text of the first user message with blocks."""
    for m in messages:
        if m.get("role") != "user":
            continue
        blocks = _BLOCK.findall(text_of(m.get("content")))
        if blocks:
            jsons = [json.loads(b) for kind, b in blocks if kind == "json"]
            texts = [b for kind, b in blocks if kind == "text"]
            facts = jsons[0] if jsons else {}
            item = jsons[1] if len(jsons) > 1 else {}
            return facts, item, texts[0] if texts else ""
    return {}, {}, ""


class ThinkRuleWriter(TextLLM):
    """Traces and metadata records from the facts in the prompt; ``noise`` > 0 makes some
    drafts wrong on purpose (see the module docstring)."""

    model_id = "think-rules-v1"

    def __init__(self, noise: bool = False) -> None:
        self.noise = noise
        self.skills = RuleWriter()
        if noise:
            self.model_id = "think-rules-noisy-v1"

    def _mode(self, item: dict[str, Any]) -> int:
        """0 clean, 1 one wrong step fixed by the rewrite, 2 too many wrong steps, 3 one
        wrong step that the rewrite keeps."""
        if not self.noise:
            return 0
        # question and answer: a song's questions come from few templates, and a hash of
        # the question alone left whole builds without one of the four modes. Captions are
        # only ever clean or fixed (a song's one caption trace is never dropped).
        said = f"{item.get('question', '')}\n{item.get('answer', item.get('caption', ''))}"
        return zlib.crc32(said.encode()) % (2 if item.get("task") == "caption" else 4)

    def respond(self, request: ChatRequest) -> Completion:
        name = (request.json_schema or {}).get("name", "")
        if not name.startswith("think_"):
            return self.skills.respond(request)
        messages = request.messages
        facts, item, caption = _task(messages)
        if name == "think_metadata":
            keys = _METADATA_KEYS.findall(text_of(messages[-1].get("content")))
            data = metadata(caption, keys)
            if self.noise and data.get("BPM") and zlib.crc32(caption.encode()) % 2 == 0:
                data["BPM"] = f"{float(data['BPM']) * 1.5:.0f}"
            text = json.dumps(data)
        else:
            mode = self._mode(item)
            wrong = {0: 0, 1: 1, 2: 3, 3: 1}[mode]
            if name == "think_rewrite":
                wrong = 1 if mode == 3 else 0
            text = json.dumps(trace(facts, item, wrong))
        prompt_words = sum(len(text_of(m.get("content")).split()) for m in messages)
        return Completion(text, self.model_id, prompt_words, len(text.split()))


def noisy() -> ThinkRuleWriter:
    """The factory ``serve-llm --llm musicflamingo.think.rulewriter:noisy`` calls."""
    return ThinkRuleWriter(noise=True)
