"""The three GRPO rewards on corpora of real-looking model outputs."""

from __future__ import annotations

import pytest

from musicflamingo.train.rewards import (
    accuracy_reward,
    format_reward,
    metadata_share,
    structured_thinking_reward,
)

GOOD = [
    "<think>The bass walks down from D to A.</think><answer>(B) D major</answer>",
    "<think>\nI hear four bars of intro, then the vocal enters.\n</think>\n<answer>12</answer>\n",
    "  <think>Brushed snare, upright bass.</think> <answer>jazz</answer>",
]
BAD = [
    "(B) D major",  # no tags at all
    "<answer>(B) D major</answer>",  # answer only
    "<think>reasoning</think>",  # no answer
    "<think>reasoning</think><answer>B</answer> and then more text",  # trailing text
    "Sure! <think>reasoning</think><answer>B</answer>",  # leading text
    "<think>a</think><think>b</think><answer>B</answer>",  # two think blocks
    "<think>reasoning<answer>B</answer></think>",  # nested
    "<answer>B</answer><think>reasoning</think>",  # wrong order
    "<think>reasoning</think><answer>B",  # unclosed (cut off)
    "",
]


def test_format_is_one_exactly_for_think_then_answer() -> None:
    assert format_reward(GOOD) == [1.0] * len(GOOD)
    assert format_reward(BAD) == [0.0] * len(BAD)
    chat = [[{"role": "assistant", "content": GOOD[0]}], [{"role": "assistant", "content": BAD[0]}]]
    assert format_reward(chat) == [1.0, 0.0]


OPTIONS = ["C major", "D major", "E minor", "G major"]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("<think>...</think><answer>(B) D major</answer>", 1.0),
        ("<think>...</think><answer>B</answer>", 1.0),
        ("<think>...</think><answer>The key is D major.</answer>", 1.0),
        ("<think>...</think><answer>Option B.</answer>", 1.0),
        ("<think>...</think><answer>(A) C major</answer>", 0.0),
        ("<think>...</think><answer>D minor</answer>", 0.0),
        ("<think>...</think><answer>B or C</answer>", 0.0),  # two letters: no pick
        ("<think>it sounds like D major</think><answer>(C) E minor</answer>", 0.0),
        ("<think>thinking about D major but never answering", 0.0),
    ],
)
def test_accuracy_on_multiple_choice(output: str, expected: float) -> None:
    assert accuracy_reward([output], answer=["(B) D major"], options=[OPTIONS]) == [expected]


@pytest.mark.parametrize(
    ("output", "answer", "expected"),
    [
        ("<think>Counting the hits...</think><answer>4</answer>", "four", 1.0),
        ("<think>..</think><answer>Four.</answer>", "4", 1.0),
        ("<think>..</think><answer>1:05</answer>", "1:05", 1.0),
        ("<think>..</think><answer>Am</answer>", "Am", 1.0),
        ("<think>..</think><answer>Don't stop</answer>", "dont stop", 1.0),
        ("<think>..</think><answer>5</answer>", "four", 0.0),
        ("<think>..</think><answer></answer>", "four", 0.0),
        ("four", "four", 1.0),  # accuracy alone does not judge the format
    ],
)
def test_accuracy_on_open_answers(output: str, answer: str, expected: float) -> None:
    assert accuracy_reward([output], answer=[answer], options=[[]]) == [expected]


def test_accuracy_is_none_for_rows_without_ground_truth() -> None:
    out = accuracy_reward(["<think>a</think><answer>b</answer>"] * 2, answer=["b", None])
    assert out == [1.0, None]


METADATA = {
    "Genre": "indie folk",
    "BPM": "96",
    "Key": "D major",
    "Meter": "6/8",
    "Structure": "intro, verse, chorus, bridge, outro",
    "Instruments": "acoustic guitar, upright bass, brushed drums, violin",
    "Vocal Character": "breathy female alto",
    "Lyric Themes": "leaving home, memory",
    "Theory": "I-IV-V with a borrowed iv chord",
    "Mix Notes": "warm, close-miked, wide reverb",
    "Dynamics": "builds from quiet verses to a full final chorus",
}
FULL = (
    "<think>I hear a lilting compound pulse.</think><answer>An indie folk song at about 97 BPM "
    "in D major, in 6/8. It moves from an intro through verse and chorus to a bridge and "
    "outro. Acoustic guitar, upright bass, brushed drums and a violin carry a breathy female "
    "alto voice singing about leaving home and memory. The harmony is a I-IV-V progression "
    "with a borrowed iv chord. The mix is warm and close-miked with a wide reverb; the song "
    "builds from quiet verses to a full final chorus.</answer>"
)


def test_structured_thinking_counts_matched_categories() -> None:
    assert structured_thinking_reward([FULL], metadata=[METADATA]) == [1.0]
    wrong = (
        "<think>..</think><answer>A techno track at 128 BPM in F minor, 4/4, with synths and "
        "a drum machine, no vocals.</answer>"
    )
    assert structured_thinking_reward([wrong], metadata=[METADATA]) == [0.0]
    half = (
        "<think>..</think><answer>Indie folk at 48 bpm (half time) in B minor, 6/8, with "
        "acoustic guitar, upright bass and violin.</answer>"
    )
    # genre, meter, instruments (3 of 4) match; 48 is half of 96 (no octave credit);
    # B minor is D major's relative, not the same key
    assert metadata_share(half.split("<answer>")[1], METADATA) == pytest.approx(3 / 11)


@pytest.mark.parametrize(
    ("caption", "key", "value", "hit"),
    [
        ("steady 96 bpm groove", "BPM", "96", True),
        ("a tempo of roughly 99", "BPM", "96", True),  # within 4 %
        ("a tempo of roughly 101", "BPM", "96", False),
        ("96 beats per minute", "BPM", "96.0", True),
        ("in the key of F# minor", "Key", "Gb minor", True),  # enharmonic
        ("sits in F#m throughout", "Key", "F# minor", True),
        ("in D minor", "Key", "D major", False),  # parallel key
        ("in 3/4 time", "Meter", "6/8", False),
        ("a 12/8 shuffle", "Meter", "12/8", True),
        ("with guitar and bass", "Instruments", "electric guitar, bass guitar, drums", False),
        ("electric guitar, bass guitar and drums", "Instruments", "electric guitar, drums", True),
    ],
)
def test_category_matchers(caption: str, key: str, value: str, hit: bool) -> None:
    assert metadata_share(caption, {key: value}) == (1.0 if hit else 0.0)


def test_structured_thinking_skips_empty_categories_and_other_rows() -> None:
    record = {k: "" for k in METADATA} | {"Key": "D major"}
    assert structured_thinking_reward(["<answer>in D major</answer>"], metadata=[record]) == [1.0]
    assert structured_thinking_reward(["x", "y"], metadata=[None, METADATA]) == [None, 0.0]
