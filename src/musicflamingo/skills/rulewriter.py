"""`RuleWriter`: a deterministic, rule-based `TextLLM` for the skills prompts.

It reads the measured-facts JSON block of a stage-3 prompt and writes, from those facts
only, the JSON each prompt asks for (dispatched on the ``json_schema`` name); given audio
(``input_audio`` parts, a stage-1 request) it describes the level and brightness it
measures. No language model: it exists so the engine can run end to end, through the
real server and client, with output that is valid and true to the facts (tests, dry
runs, throughput measurements). Tokens are counted as whitespace-separated words.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from musicflamingo.facts.harmony import short_name, triad
from musicflamingo.llm.audio_in import decode_audio
from musicflamingo.llm.base import ChatRequest, Completion, Message, TextLLM, text_of
from musicflamingo.skills.records import ASPECTS
from musicflamingo.theory import TONIC_NAMES, pitch_class

_BLOCK = re.compile(r"```json\s*\n(.*?)\n```", re.S)
_KEYS = TONIC_NAMES["major"]
_METERS = ["4/4", "3/4", "6/8", "2/4", "5/4"]


def _section(label: str, first: bool = False) -> str:
    """How a sentence names a section: "the chorus" (a part's name), "section A" (a
    repetition letter); capitalised when ``first`` in the sentence."""
    name = f"the {label}" if label.islower() else f"section {label}"
    return name[0].upper() + name[1:] if first else name


def _task_text(messages: list[Message]) -> str:
    """The last user message with JSON blocks: the task, also when it is being re-asked."""
    texts = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    return next((t for t in reversed(texts) if _BLOCK.search(t)), texts[-1] if texts else "")


def _blocks(text: str) -> list[Any]:
    return [json.loads(b) for b in _BLOCK.findall(text)]


def _rotate(options: list[str], answer: str) -> list[str]:
    """The answer among distinct options, at a position that depends on the text."""
    rest = [o for o in dict.fromkeys(options) if o != answer][:3]
    pos = sum(map(ord, answer)) % (len(rest) + 1)
    return [*rest[:pos], answer, *rest[pos:]]


def _other_keys(key: str) -> list[str]:
    tonic, mode = key.split()
    i = next(n for n, k in enumerate(_KEYS) if k == tonic or _alias(k) == tonic)
    other = "minor" if mode == "major" else "major"
    return [f"{_KEYS[(i + 7) % 12]} {mode}", f"{_KEYS[(i + 2) % 12]} {other}", f"{tonic} {other}"]


def _alias(k: str) -> str:
    return {"Db": "C#", "Eb": "D#", "Ab": "G#", "Bb": "A#", "F#": "Gb"}.get(k, k)


def describe_audio(part: dict[str, Any]) -> str:
    """One sentence on the level and brightness of an ``input_audio`` part (decoded at
    16 kHz, refused by its header when too long)."""
    clip = decode_audio(part)
    x, sr = clip.samples, clip.sr
    rms = 20 * np.log10(max(float(np.sqrt(np.mean(x**2))), 1e-9))
    spectrum = np.abs(np.fft.rfft(x[: sr * 10]))
    freqs = np.fft.rfftfreq(min(len(x), sr * 10), 1 / sr)
    centroid = float((freqs * spectrum).sum() / max(spectrum.sum(), 1e-9))
    level = "quiet" if rms < -30 else "moderately loud" if rms < -16 else "loud"
    tone = "dark, warm" if centroid < 1200 else "balanced" if centroid < 2500 else "bright"
    return (
        f"A {level} passage with a {tone} timbre (RMS level {rms:.1f} dBFS, spectral "
        f"centroid near {centroid:.0f} Hz)."
    )


class RuleWriter(TextLLM):
    """Writes captions, QA, verdicts and distractors from the facts in the prompt."""

    model_id = "rules-v1"

    def respond(self, request: ChatRequest) -> Completion:
        messages, max_tokens = request.messages, request.max_tokens
        prompt_words = sum(len(text_of(m.get("content")).split()) for m in messages)
        text = self._reply(messages, (request.json_schema or {}).get("name", ""))
        words = text.split()
        if len(words) > max_tokens:  # cut off like a real model at max_tokens
            text = " ".join(words[:max_tokens])
        return Completion(text, self.model_id, prompt_words, min(len(words), max_tokens))

    def _reply(self, messages: list[Message], task: str) -> str:
        content = messages[-1].get("content")
        if isinstance(content, list):
            audio = [p for p in content if p.get("type") == "input_audio"]
            if audio:
                return describe_audio(audio[0]["input_audio"])
        text = _task_text(messages)
        blocks = _blocks(text)
        if task == "skills_caption":
            return json.dumps({"aspects": caption_aspects(blocks[0], _segment_notes(text))})
        if task == "skills_qa":
            return json.dumps({"qa": qa_items(blocks[0], _segment_notes(text))})
        if task == "skills_judge":
            listed = list(_BLOCK.finditer(text))[1]  # the items; the rest is context
            context = text[: listed.start()] + text[listed.end() :]
            return json.dumps({"verdicts": verdicts(blocks[1], blocks[0], context)})
        if task == "distractors":
            return json.dumps({"distractors": distractors(blocks[0])})
        return f"{self.model_id} has no rule for this request ({len(messages)} messages)."


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")


def _support(facts: Any, out: set[float]) -> set[float]:
    """Every number the facts state or imply: values, list lengths, fractions as percent."""
    if isinstance(facts, dict):
        for v in facts.values():
            _support(v, out)
    elif isinstance(facts, list):
        out.add(float(len(facts)))
        out.add(float(len({json.dumps(x, sort_keys=True) for x in facts})))
        for v in facts:
            _support(v, out)
    elif isinstance(facts, bool) or facts is None:
        pass
    elif isinstance(facts, int | float):
        out.update({float(facts), float(facts) * 100})
    elif isinstance(facts, str):
        out.update(float(x) for x in _NUMBER.findall(facts))
    return out


def verdicts(items: list[dict], facts: dict, context: str) -> list[dict]:
    """Reject an item stating a number that neither the facts nor the prompt support
    (within 2 %, or 0.6 for small numbers); counts up to 12 always pass."""
    support = _support(facts, set(range(13))) | {float(x) for x in _NUMBER.findall(context)}
    support |= {float(len({triad(label) for _, label in facts.get("chords") or []}))}
    out = []
    for item in items:
        text = " ".join(str(v) for k, v in item.items() if k not in ("id", "options"))
        bad = [
            x
            for x in map(float, _NUMBER.findall(text))
            if not any(abs(x - y) <= max(0.6, 0.02 * abs(y)) for y in support)
        ]
        reason = f"unsupported number {bad[0]:g}" if bad else "agrees with the facts"
        out.append({"id": item["id"], "keep": not bad, "reason": reason})
    return out


def _segment_notes(text: str) -> list[str]:
    return re.findall(r"^- \d+:\d\d-\d+:\d\d: (.+)$", text, re.M)


_DEGREES = {
    "major": {0: "I", 2: "ii", 4: "iii", 5: "IV", 7: "V", 9: "vi", 11: "vii"},
    "minor": {0: "i", 2: "ii", 3: "III", 5: "iv", 7: "v", 8: "VI", 10: "VII"},
}


def _degree(chord: str, key: str) -> str:
    """Roman numeral of a chord symbol in a key, cased by the chord's quality."""
    tonic, mode = key.split()
    found = re.match(r"[A-G][#b]?", chord)
    if found is None:
        return "a chromatic chord"
    root = found.group(0)
    step = (pitch_class(root) - pitch_class(tonic)) % 12
    numeral = _DEGREES[mode].get(step)
    if numeral is None:
        return "a chromatic chord"
    return numeral.lower() if chord[len(root) :].startswith("m") else numeral.upper()


def _pace(bpm: float) -> str:
    return "slow" if bpm < 80 else "moderate" if bpm < 120 else "brisk"


def caption_aspects(f: dict[str, Any], notes: list[str]) -> dict[str, str]:
    """Six paragraphs, about 450 words, every number taken from the facts."""
    bpm, key, meter = f.get("tempo_bpm"), f.get("key"), f.get("meter")
    dur = f["duration_seconds"]
    tkm = [
        f"This track runs for about {dur:.0f} seconds."
        if dur
        else "The length of the track is unknown."
    ]
    if bpm:
        steady = "holds steady" if f.get("tempo_steady") else "drifts noticeably"
        tkm.append(
            f"Its measured tempo is about {bpm:.0f} BPM, a {_pace(bpm)} pulse that {steady} "
            "from the first bar to the last, so the groove feels consistent."
        )
    else:
        tkm.append("A steady tempo could not be determined, so the pulse is left undescribed.")
    tkm.append(
        f"The tonal centre is the key of {key}, which anchors the melody and the bass line."
        if key
        else "No clear key could be determined, so the tonal centre is left open."
    )
    tkm.append(
        f"The meter reads as {meter}, and the accents fall where that grouping predicts."
        if meter
        else "The meter could not be determined with confidence."
    )
    inst = [
        "The arrangement is described here from what the listening notes report for each "
        "thirty-second window, without guessing at instruments that cannot be heard."
        if notes
        else "No listening notes were made for this song, so the instruments are not named "
        "here; only what the measurements show about level and mix is described."
    ]
    inst += [f"In window {i + 1}: {n}" for i, n in enumerate(notes[:4])]
    loud = f.get("loudness") or {}
    if loud.get("integrated_lufs") is not None:
        inst.append(
            f"The mix sits at an integrated loudness of {loud['integrated_lufs']:.1f} LUFS"
            + (
                f" with a loudness range of {loud['range_lu']:.1f} LU"
                if loud.get("range_lu")
                else ""
            )
            + ", which suggests a mastering approach that leaves room for the performance."
        )
    inst.append(
        "The production favours clarity over density: each part keeps its own space in the "
        "stereo picture, and nothing masks the lead line for long."
    )
    lyrics = f.get("lyrics") or []
    if lyrics:
        first = lyrics[0]
        lyr = [
            f'The vocal enters at about {first["start"]:.0f} seconds with "{first["text"]}".',
            f"In all, {len(lyrics)} lines were transcribed.",
        ]
        if len(lyrics) > 2:
            lyr.append(f'Later the line "{lyrics[len(lyrics) // 2]["text"]}" returns to the theme.')
        lyr.append(
            "The words favour simple, repeated images, and the repetition works like a "
            "chorus hook that the listener can sing back after one hearing."
        )
    else:
        lyr = [
            "No lyrics could be transcribed, so the words and their themes are not available.",
            "The piece is best heard as instrumental: whatever story it tells is carried by "
            "melody, harmony and arrangement rather than by text.",
        ]
    sections = f.get("sections") or []
    struct = [
        f"The form unfolds in {len(sections)} sections."
        if sections
        else "The sections could not be determined."
    ]
    for s in sections[:8]:
        name = _section(s["label"], first=True)
        struct.append(f"{name} spans {s['start']:.0f} to {s['end']:.0f} seconds.")
    labels = [s["label"] for s in sections]
    repeats = sorted({x for x in labels if labels.count(x) > 1})
    if repeats:
        back = " and ".join([_section(repeats[0], first=True), *map(_section, repeats[1:])])
        struct.append(f"{back} come back later in the song.")
    struct.append(
        "Energy builds and recedes with the form: repeated sections return with the same "
        "material, so the listener hears recognisable landmarks as the song goes on, and "
        "the contrast between sections keeps the arrangement from feeling static."
    )
    counts: dict[str, int] = {}
    for _, label in f.get("chords") or []:
        if label == "N":
            continue
        name = short_name(triad(label))
        counts[name] = counts.get(name, 0) + 1
    common = sorted(counts, key=lambda n: -counts[n])[:4]
    if common:
        theory = [
            "The measured chord progression summary reads: "
            f"{(f.get('chord_progression') or '').split(' | ')[0]}.",
            f"The most frequent chords are {', '.join(common)}.",
        ]
        if key:
            roles = [f"{c} as {_degree(c, key)}" for c in common]
            theory.append(f"Against the key of {key}, {', '.join(roles)}.")
        theory.append(
            "Movement between them is mostly by fourths and fifths, the motion that gives "
            "tonal music its sense of departure and return, and cadences land on the tonic."
        )
    else:
        theory = [
            "No chords could be measured, so the harmony is not described.",
            "Any statement about chord function would be a guess and is left out.",
        ]
    mood = [
        f"The overall mood is {'bright and open' if key and 'major' in key else 'reflective'}",
        f"with a {_pace(bpm)} sense of motion." if bpm else "with an unhurried sense of motion.",
        "Its idiom suggests a song written for listening rather than for the dance floor, "
        "and its clear structure and repeated material make it easy to follow on first "
        "hearing, the way popular and folk traditions have long shaped their songs.",
        "Nothing in the measurements points to an unusual form or harmony, so the song is "
        "best described as a direct, song-centred piece whose appeal lies in its melody, "
        "its steady motion and the way its sections answer one another.",
    ]
    paragraphs = [tkm, inst, lyr, struct, theory, mood]
    return {k: " ".join(p) for k, p in zip(ASPECTS, paragraphs, strict=True)}


def _qa(question: str, typ: str, skill: str, answer: str, why: str, **refs: list) -> dict:
    options = refs.pop("options", [])
    return {
        "question": question,
        "type": typ,
        "skill": skill,
        "options": options,
        "answer": answer,
        "rationale": why,
        "references": {"seconds": [], "bars": [], "chords": [], **refs},
    }


def qa_items(f: dict[str, Any], notes: list[str]) -> list[dict]:
    """12-20 QA items over the five skills, each answer read off the facts."""
    items = []
    bpm, key, meter, dur = f.get("tempo_bpm"), f.get("key"), f.get("meter"), f["duration_seconds"]
    items.append(
        _qa(
            "How long is the track?",
            "open",
            "temporal",
            f"About {dur:.0f} seconds.",
            "The decoded audio has that duration.",
        )
    )
    if bpm:
        items.append(
            _qa(
                "What is the tempo of the track?",
                "open",
                "attribute",
                f"About {bpm:.0f} BPM.",
                "Measured from the tracked beats.",
            )
        )
        steady = "It holds steady." if f.get("tempo_steady") else "It drifts noticeably."
        items.append(
            _qa(
                "Does the pulse stay steady or drift over the song?",
                "technique",
                "temporal",
                steady,
                "The local tempo curve stays within 4 percent."
                if f.get("tempo_steady")
                else "The local tempo curve moves by more than 4 percent.",
            )
        )
    if key:
        items.append(
            _qa(
                "Which key is the song in?",
                "mcq",
                "harmonic",
                key,
                "The key profile of the whole song points there.",
                options=_rotate(_other_keys(key), key),
            )
        )
    if meter:
        items.append(
            _qa(
                "What is the time signature?",
                "mcq",
                "attribute",
                meter,
                "Accents recur with that bar length.",
                options=_rotate([m for m in _METERS if m != meter], meter),
            )
        )
    if f.get("bars"):
        items.append(
            _qa(
                "Roughly how many bars long is the piece?",
                "count",
                "structural",
                str(f["bars"]),
                "Counted from the detected downbeats.",
            )
        )
    sections = f.get("sections") or []
    if sections:
        items.append(
            _qa(
                "Into how many formal sections does the music divide?",
                "count",
                "structural",
                str(len(sections)),
                "Counted from the section analysis.",
            )
        )
        longest = max(sections, key=lambda s: s["end"] - s["start"])
        items.append(
            _qa(
                "Which section lasts the longest?",
                "comparison",
                "structural",
                f"{_section(longest['label'], first=True)}, from {longest['start']:.0f} to "
                f"{longest['end']:.0f} seconds.",
                "Its span is the widest.",
                seconds=[longest["start"], longest["end"]],
            )
        )
    if len(sections) > 1:
        s = sections[1]
        items.append(
            _qa(
                f"When does the second part (labelled {s['label']}) begin?",
                "time",
                "temporal",
                f"At about {s['start']:.1f} seconds.",
                "The section boundary falls there.",
                seconds=[s["start"]],
            )
        )
    changes = f.get("chords") or []
    ends = [start for start, _ in changes[1:]] + [dur]
    chords = [(a, b, c) for (a, c), b in zip(changes, ends, strict=True) if c != "N"]
    if chords:
        start, end, label = chords[len(chords) // 2]
        t = round((start + end) / 2, 1)
        items.append(
            _qa(
                f"What chord is heard at {t} seconds?",
                "chord",
                "harmonic",
                short_name(triad(label)),
                "The chord track shows it there.",
                seconds=[t],
                chords=[label],
            )
        )
        names = list(dict.fromkeys(short_name(triad(c)) for _, _, c in chords))
        first = names[0]
        items.append(
            _qa(
                "Which chord opens the song?",
                "mcq",
                "harmonic",
                first,
                "It is the first chord detected.",
                options=_rotate([*names[1:], "F#m", "Bb", "E"], first),
                chords=[chords[0][2]],
            )
        )
        items.append(
            _qa(
                "How many distinct triads does the harmony use?",
                "count",
                "harmonic",
                str(len(names)),
                "Counted from the chord track, reduced to triads.",
            )
        )
        if f.get("chord_progression"):
            items.append(
                _qa(
                    "Summarise the chord progression of the opening.",
                    "open",
                    "harmonic",
                    f["chord_progression"].split(" | ")[0],
                    "Taken from the measured progression summary.",
                )
            )
    loud = f.get("loudness") or {}
    if loud.get("integrated_lufs") is not None:
        items.append(
            _qa(
                "How loud is the master overall?",
                "open",
                "attribute",
                f"About {loud['integrated_lufs']:.1f} LUFS integrated.",
                "Measured with the BS.1770 loudness meter.",
            )
        )
    if loud.get("range_lu") is not None:
        wide = "wide" if loud["range_lu"] > 8 else "narrow"
        items.append(
            _qa(
                "Is the dynamic range of the recording wide or narrow?",
                "comparison",
                "structural",
                f"Fairly {wide}: {loud['range_lu']:.1f} LU.",
                "From the loudness range measurement.",
            )
        )
    lyrics = f.get("lyrics") or []
    if lyrics:
        line = lyrics[0]
        items.append(
            _qa(
                f'When is the line "{line["text"]}" first sung?',
                "time",
                "lyric-vocal",
                f"At about {line['start']:.1f} seconds.",
                "The transcript times it there.",
                seconds=[line["start"]],
            )
        )
        last = lyrics[-1]
        items.append(
            _qa(
                f"What words are sung starting near {last['start']:.0f} seconds?",
                "open",
                "lyric-vocal",
                last["text"],
                "From the transcript.",
                seconds=[last["start"]],
            )
        )
        items.append(
            _qa(
                "How many lyric lines does the transcript contain?",
                "count",
                "lyric-vocal",
                str(len(lyrics)),
                "Counted from the transcript.",
            )
        )
    else:
        items.append(
            _qa(
                "Are there intelligible sung lyrics?",
                "open",
                "lyric-vocal",
                "No lyrics could be transcribed.",
                "The transcription found none.",
            )
        )
    vocals = f.get("vocals")
    if vocals and vocals.get("present"):
        items.append(
            _qa(
                "For what share of the track is a voice present?",
                "open",
                "lyric-vocal",
                f"About {vocals['fraction'] * 100:.0f} percent.",
                "From the vocal activity analysis.",
            )
        )
    if notes:
        items.append(
            _qa(
                "How does the opening window sound?",
                "open",
                "attribute",
                notes[0],
                "From the segment caption of the first window.",
            )
        )
    return items[:20]


def distractors(item: dict[str, Any]) -> list[str]:
    """Wrong options of the answer's kind (keys, meters, numbers, chords, else variants)."""
    answer = str(item["answer"])
    taken = {str(o).lower() for o in item.get("options", [])} | {answer.lower()}
    if re.fullmatch(r"[A-G][#b]? (major|minor)", answer):
        pool = [f"{k} {m}" for m in ("major", "minor") for k in _KEYS]
    elif answer in _METERS or re.fullmatch(r"\d+/\d+", answer):
        pool = [*_METERS, "7/8", "12/8", "9/8"]
    elif answer.isdigit():
        pool = [str(int(answer) + d) for d in (-3, -2, -1, 1, 2, 3, 5)]
    elif re.fullmatch(r"[A-G][#b]?m?", answer):
        pool = [k + q for q in ("", "m") for k in _KEYS]
    else:
        pool = [f"Not {answer}", f"{answer} (only in the intro)", f"{answer} (only at the end)"]
    return [p for p in pool if p.lower() not in taken][:5]
