"""Parsing messy model output: thinking/answer, key-facts JSON, multiple-choice picks."""

from __future__ import annotations

import pytest

from musicflamingo.bench.recipes.muchomusic import muchomusic_choice
from musicflamingo.model import parse_choice, parse_key_facts, parse_thinking
from musicflamingo.model.parsing import normalise_key

THINK_CORPUS = [
    # (raw output, thinking, answer)
    (
        "<think>slow tempo, minor</think><answer>A sad ballad.</answer>",
        "slow tempo, minor",
        "A sad ballad.",
    ),
    ("<think>\nreasoning\n</think>\n\n<answer>\nC major\n</answer>\n", "reasoning", "C major"),
    ("<think>reasoning</think> The key is D minor.", "reasoning", "The key is D minor."),
    (
        "The bass walks down, so minor. </think> D minor",
        "The bass walks down, so minor.",
        "D minor",
    ),
    (
        "<think>cut off mid-thought because of the token lim",
        "cut off mid-thought because of the token lim",
        "",
    ),
    ("<think>one</think><think>two</think><answer>B</answer>", "one\n\ntwo", "B"),
    ("<think>a</think><answer>first</answer><answer>second</answer>", "a", "second"),
    ("<think>a</think><answer>kept</answer><answer> </answer>", "a", "kept"),
    ("<answer>only an answer</answer>", "", "only an answer"),
    ("<answer>unclosed answer at the end", "", "unclosed answer at the end"),
    ("<THINK>upper</THINK><Answer>case</Answer>", "upper", "case"),
    ("< think >spaced</ think ><answer>ok</answer>", "spaced", "ok"),
    ("<think>nested <think>inner</think> outer</think><answer>x</answer>", "nested\n\ninner", "x"),
    ("<think>r</think><answer>x</answer> trailing chatter", "r", "x"),
    ("<think>open <answer>ans</answer>", "open", "ans"),
    ("No tags at all, just prose.", "", "No tags at all, just prose."),
    ("", "", ""),
]


@pytest.mark.parametrize(("raw", "thinking", "answer"), THINK_CORPUS)
def test_parse_thinking(raw: str, thinking: str, answer: str) -> None:
    thought = parse_thinking(raw)
    assert (thought.thinking, thought.answer) == (thinking, answer)


def test_parse_thinking_none() -> None:
    assert parse_thinking(None).answer == ""


GOOD = {
    "genre": "synth-pop",
    "bpm": 120,
    "key": "A minor",
    "meter": "4/4",
    "instruments": ["synth", "drums"],
    "vocals": "female lead",
    "mood": ["wistful"],
    "chords": ["Am", "F", "C", "G"],
}

KEY_FACTS_CORPUS = [
    # (raw output, method)
    (
        '{"genre": "synth-pop", "bpm": 120, "key": "A minor", "meter": "4/4", "instruments": '
        '["synth", "drums"], "vocals": "female lead", "mood": ["wistful"], "chords": ["Am", "F", '
        '"C", "G"]}',
        "json",
    ),
    (
        '```json\n{"genre": "synth-pop", "bpm": 120, "key": "A minor", "meter": "4/4",\n'
        '"instruments": ["synth", "drums"], "vocals": "female lead", "mood": ["wistful"],\n'
        '"chords": ["Am", "F", "C", "G"]}\n```',
        "json",
    ),
    (
        "Here you go: {'genre': 'synth-pop', 'bpm': 120, 'key': 'A minor', 'meter': '4/4', "
        "'instruments': ['synth', 'drums'], 'vocals': 'female lead', 'mood': ['wistful'], "
        "'chords': ['Am', 'F', 'C', 'G'],}",
        "repaired-json",
    ),
    (
        '{genre: "synth-pop", bpm: 120, key: "A minor", meter: "4/4", instruments: ["synth", '
        '"drums"], vocals: "female lead", mood: ["wistful"], chords: ["Am", "F", "C", "G"]}',
        "repaired-json",
    ),
    (
        '<think>sounds like synth-pop</think><answer>{"genre": "synth-pop", "bpm": "120 BPM", '
        '"key": "Am", "meter": "common time", "instruments": "synth, drums", "vocals": '
        '"female lead", "mood": "wistful", "chords": "Am, F, C, G"}</answer>',
        "json",
    ),
    (
        '{"Genre": "synth-pop", "Tempo": 120, "Key Signature": "A minor", "Time Signature": '
        '"4/4", "Instrumentation": ["synth", "drums"], "Vocal Character": "female lead", '
        '"Mood": ["wistful"], "Chord Progression": ["Am", "F", "C", "G"], "Era": "2010s"}',
        "json",
    ),
    (
        "Genre: synth-pop\nBPM: 120\nKey: A minor\nMeter: 4/4\nInstruments: synth, drums\n"
        "Vocals: female lead\nMood: wistful\nChords: Am, F, C, G",
        "lines",
    ),
    (
        "{“genre”: “synth-pop”, “bpm”: 120, “key”: “A minor”, “meter”: “4/4”, “instruments”: "
        "[“synth”, “drums”], “vocals”: “female lead”, “mood”: [“wistful”], “chords”: [“Am”, "
        "“F”, “C”, “G”]}",
        "repaired-json",
    ),
]


@pytest.mark.parametrize(("raw", "method"), KEY_FACTS_CORPUS)
def test_parse_key_facts_recovers_everything(raw: str, method: str) -> None:
    parsed = parse_key_facts(raw)
    assert parsed.method == method
    assert parsed.facts is not None
    assert parsed.facts.model_dump() == GOOD


def test_parse_key_facts_cut_off_object() -> None:
    raw = '{"genre": "jazz", "bpm": 96, "key": "Bb major", "instruments": ["sax", "dou'
    parsed = parse_key_facts(raw)
    assert parsed.method == "repaired-json" and "jsonrepair" in parsed.repairs
    f = parsed.facts
    # the cut-off last item ("dou…") is dropped, not reported as a word
    assert (f.genre, f.bpm, f.key, f.instruments) == ("jazz", 96.0, "Bb major", ["sax"])
    assert f.meter is None and f.mood == []


def test_parse_key_facts_dangling_key_and_unknown_keys() -> None:
    parsed = parse_key_facts('{"genre": "folk", "era": "1970s", "bpm":')
    assert parsed.facts.genre == "folk" and parsed.facts.bpm is None
    assert parsed.unknown_keys == ["era"]


def test_parse_key_facts_cut_off_after_a_complete_value() -> None:
    parsed = parse_key_facts('{"genre": "jazz", "instruments": ["sax"], "key": "Bb maj')
    assert parsed.method == "repaired-json" and parsed.repairs == ["jsonrepair"]
    assert (parsed.facts.genre, parsed.facts.instruments, parsed.facts.key) == (
        "jazz",
        ["sax"],
        None,
    )
    parsed = parse_key_facts('{"genre": "folk", "era": "1970s", "mood": ["calm"],}')
    assert parsed.repairs == ["jsonrepair"] and parsed.unknown_keys == ["era"]


@pytest.mark.parametrize("raw", ["I cannot tell.", "{}", "[1, 2, 3]", "", None, "{{{{"])
def test_parse_key_facts_nothing_usable(raw: str | None) -> None:
    parsed = parse_key_facts(raw)
    assert parsed.facts is None and parsed.method == "none"


def test_key_facts_values_validated() -> None:
    parsed = parse_key_facts('{"bpm": 9000, "key": "H minor", "meter": "fast", "genre": 5}')
    f = parsed.facts
    assert f.bpm is None and f.key is None and f.meter is None and f.genre == "5"
    assert parse_key_facts('{"bpm": "118-122"}').facts.bpm == 120.0


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("A minor", "A minor"),
        ("F#m", "F# minor"),
        ("Bb maj", "Bb major"),
        ("E flat major", "Eb major"),
        ("c# minor", "C# minor"),
        ("G", "G major"),
        ("D dorian", "D dorian"),
        ("CM7", None),
        ("nonsense", None),
    ],
)
def test_normalise_key(text: str, label: str | None) -> None:
    assert normalise_key(text) == label


OPTIONS = ["Rock", "Jazz", "Classical", "Hip hop"]


@pytest.mark.parametrize(
    ("raw", "index", "rule"),
    [
        ("(B) Jazz", 1, "letter"),
        ("The answer is C.", 2, "letter"),
        ("<think>maybe (A) or (B)?</think><answer>B</answer>", 1, "letter"),
        ("It is clearly jazz.", 1, "text"),
        ("Answer: D", 3, "letter"),
        ("A or B, hard to say", None, "none"),
        ("A or B", 1, "letter"),  # a letter ending the text is a marker
        ("Drums dominate.", None, "none"),
        ("", None, "none"),
    ],
)
def test_parse_choice(raw: str, index: int | None, rule: str) -> None:
    choice = parse_choice(raw, OPTIONS)
    assert (choice.index, choice.rule) == (index, rule)
    if index is not None:
        assert choice.option == OPTIONS[index] and choice.letter == "ABCD"[index]


@pytest.mark.parametrize(
    "raw",
    [
        "(B) Jazz",
        "The answer is C.",
        "It is clearly jazz.",
        "A or B",
        "Drums dominate.",
        "B",
        "[C]",
        "option D",
        "d) hip hop",
    ],
)
def test_parse_choice_agrees_with_muchomusic_marker_rule(raw: str) -> None:
    assert parse_choice(raw, OPTIONS).index == muchomusic_choice(raw, OPTIONS, "marker")


def test_parse_choice_many_options() -> None:
    options = [f"option {i}" for i in range(8)]
    assert parse_choice("(G)", options).index == 6
