"""MuChoMusic option extraction (mulab-mir/muchomusic rule and the stricter marker variant)."""

import pytest

from musicflamingo.bench.aggregate import aggregate
from musicflamingo.bench.recipes.muchomusic import LETTERS as MUCHOMUSIC_LETTERS
from musicflamingo.bench.recipes.muchomusic import muchomusic_choice, muchomusic_scorer

# test_1: (A) Synthesizer (B) Rueful tune (C) Acoustic guitar (D) Vocals -> C
# test_798: (A) Keyboard (B) Keyboard and synth (C) Acoustic guitar (D) Back vocal... -> B
# test_949: (A) Drums ... (D) Bass guitar and drums -> D


def score_muchomusic(item, text: str, mode: str = "official"):
    return muchomusic_scorer(mode)(item, text)


def _letter(item) -> str:
    return item.metadata["answer_letter"]


def _shifted(item) -> str:
    return MUCHOMUSIC_LETTERS[(MUCHOMUSIC_LETTERS.index(_letter(item)) + 1) % 4]


def _report(items, make, mode):
    return aggregate([score_muchomusic(i, make(i), mode) for i in items]).overall


def test_real_counts(muchomusic) -> None:
    assert len(muchomusic.items) == 42  # the excerpt in tests/data/bench
    letters = [_letter(i) for i in muchomusic.items]
    assert {x: letters.count(x) for x in "ABCD"} == {"A": 10, "B": 8, "C": 14, "D": 10}
    assert all(i.answer == i.choices["ABCD".index(_letter(i))] for i in muchomusic.items)


@pytest.mark.parametrize("mode", ["official", "marker"])
def test_letters_score_full_and_wrong_letters_zero(muchomusic, mode: str) -> None:
    items = muchomusic.items
    assert _report(items, _letter, mode).accuracy == 1.0
    assert _report(items, lambda i: f"The correct answer is: ({_letter(i)})", mode).accuracy == 1.0
    thinking = lambda i: f"<think>Maybe B?</think><answer>{_letter(i)}</answer>"  # noqa: E731
    assert _report(items, thinking, mode).accuracy == 1.0
    assert _report(items, _shifted, mode).accuracy == 0.0
    empty = _report(items, lambda i: "", mode)
    assert (empty.accuracy, empty.unanswered_rate) == (0.0, 1.0)


def test_official_rule_reads_any_capital_a_to_d(muchomusic) -> None:
    """Upper-case A-D anywhere in the output count as letters (set of characters).

    The counts are what upstream `extract_responses` + `compare_answers` give on these
    outputs, run once on the excerpt (mulab-mir/muchomusic, muchomusic_eval/scoring.py at
    commit d3c9a423d006c545b86472c0c1cfacce7058cfc5).
    """
    items = muchomusic.items
    assert _report(items, lambda i: i.answer, "official").correct == 36
    assert _report(items, lambda i: f"({_letter(i)}) {i.answer}", "official").correct == 41
    wrong_text = lambda i: i.choices[(i.choices.index(i.answer) + 1) % 4]  # noqa: E731
    assert _report(items, wrong_text, "official").correct == 2
    item = muchomusic.item("test_1")
    assert score_muchomusic(item, "Acoustic guitar").chosen == "Synthesizer"  # 'A' -> option A
    assert score_muchomusic(item, "acoustic guitar").chosen == "Acoustic guitar"
    assert score_muchomusic(item, "I think (C) Acoustic guitar").correct  # C, I and A: text
    assert score_muchomusic(item, "Drums").chosen == "Vocals"  # the 'D' of "Drums"


def test_marker_rule_reads_only_option_markers(muchomusic) -> None:
    items = muchomusic.items
    n = len(items)
    assert _report(items, lambda i: f"({_letter(i)}) {i.answer}", "marker").correct == n
    assert _report(items, lambda i: f"Answer: {_letter(i)}", "marker").correct == n
    # a gold text fails only where another option is a substring of it, shown earlier
    contained = [
        i
        for i in items
        if any(c.lower() in i.answer.lower() for c in i.choices[: i.choices.index(i.answer)])
    ]
    assert _report(items, lambda i: i.answer, "marker").correct == n - len(contained)
    item = muchomusic.item("test_1")
    for text in ("Acoustic guitar", "C) Acoustic guitar", "The answer is C because", "C.", "[C]"):
        assert score_muchomusic(item, text, "marker").correct, text
    assert score_muchomusic(item, "A Synthesizer? No: C", "marker").correct


def test_text_fallback_takes_the_first_contained_option(muchomusic) -> None:
    item = muchomusic.item("test_798")
    for mode in ("official", "marker"):
        # "keyboard" (A) is inside "keyboard and synth" (B), the answer: A wins
        assert score_muchomusic(item, "keyboard and synth", mode).chosen == "Keyboard"
        # two letters -> text: "keyboard" comes first again
        assert not score_muchomusic(item, "(A) or (B) keyboard and synth", mode).correct
    assert muchomusic_choice("none of them", item.choices) is None
    score = score_muchomusic(item, "none of them")
    assert not score.answered and not score.correct


def test_prompt_prefix_is_cut(muchomusic) -> None:
    item = muchomusic.item("test_949")
    echoed = "Question: ... Options: (A) Drums (B) ... The correct answer is: D"
    assert muchomusic_choice(echoed, item.choices) == 3
    assert score_muchomusic(item, echoed).correct
