"""MMAU / MMAR token-set rule on the real test-mini and MMAR music items."""

import pytest

from musicflamingo.bench.aggregate import aggregate
from musicflamingo.bench.items import BenchItem
from musicflamingo.bench.normalize import word_tokens
from musicflamingo.bench.scorers import TOKEN_SET, mmau_string_match

CHOPIN = "d85c0fca-5bc8-4a4c-aa9c-8e45d9cc9aed"  # Frédéric Chopin among 4 composers
NOTE_A = "cf9af588-ec47-4295-ad22-70213d122dce"  # choices A, B, C, D; answer "A"
NOTE_D = "660c8ed0-db0f-4d6f-9ccc-f1bad54683a1"  # choices A, B, C, D; answer "D"
COUNT_3 = "77f26a22-0722-43f4-9fb9-25a7434814af"  # choices 1-4; answer "3"
DUPLICATE = "e277d88f-fc07-41a4-9c22-de21dfbc8ab3"  # "1.63 seconds" listed twice
MMAR_NO = "BV1UN4y1P7F4_00-00-18_00-00-48"  # No / Yes / Unknown / Initially yes, but later no
MMAR_STEREO = "BV1pp421S7fs_00-04-30_00-04-38"  # two choices with the same word set


def _wrong(item: BenchItem) -> str:
    return next(c for c in item.choices if word_tokens(c) != word_tokens(item.answer))


def _accuracy(items: list[BenchItem], make) -> float:
    return aggregate([TOKEN_SET(i, make(i)) for i in items]).overall.accuracy


def test_real_counts(mmau, mmar) -> None:
    assert len(mmau.items) == 41  # the excerpts in tests/data/bench
    assert len(mmar.items) == 34
    report = aggregate([TOKEN_SET(i, i.answer) for i in mmau.items])
    assert report.breakdowns["category"]["Information Extraction"].n == 16
    assert report.breakdowns["category"]["Reasoning"].n == 25
    assert {k: v.n for k, v in report.breakdowns["difficulty"].items()} == {
        "easy": 18,
        "hard": 7,
        "medium": 16,
    }
    assert report.breakdowns["task"]["music"].n == 41
    assert len(report.breakdowns["sub_category"]) == 5
    assert report.rules == ["mmau-string-match"]


@pytest.mark.parametrize("name", ["mmau", "mmar"])
def test_gold_scores_full_and_wrong_choices_zero(name: str, request) -> None:
    items = request.getfixturevalue(name).items
    assert _accuracy(items, lambda i: i.answer) == 1.0
    thinking = lambda i: f"<think>{' or '.join(i.choices)}?</think><answer>{i.answer}</answer>"  # noqa: E731
    assert _accuracy(items, thinking) == 1.0
    assert _accuracy(items, lambda i: i.answer.upper()) == 1.0
    distinct = [i for i in items if any(word_tokens(c) != word_tokens(i.answer) for c in i.choices)]
    assert _accuracy(distinct, _wrong) == 0.0
    # every choice named: correct only where all choices share the answer's word set
    same = [i for i in items if all(word_tokens(c) == word_tokens(i.answer) for c in i.choices)]
    assert _accuracy(items, lambda i: " or ".join(i.choices)) == len(same) / len(items)
    assert _accuracy(items, lambda i: "") == 0.0


def test_mmar_has_choices_the_rule_cannot_tell_apart(mmar) -> None:
    same = [
        i for i in mmar.items if all(word_tokens(c) == word_tokens(i.answer) for c in i.choices)
    ]
    assert len(same) == 3  # every choice has the answer's word set: any of them is "correct"
    item = mmar.item(MMAR_STEREO)
    assert TOKEN_SET(item, "The former is stereo, the latter is mono").correct
    first_other = [TOKEN_SET(i, next(c for c in i.choices if c != i.answer)) for i in mmar.items]
    assert sum(s.correct for s in first_other) == 3  # upstream string_match: 3


def test_bare_letters(mmau) -> None:
    chopin = mmau.item(CHOPIN)
    assert not TOKEN_SET(chopin, "D").correct  # the 4th option, but only its text counts
    # a letter prefix is harmless unless a wrong choice has that letter as a word
    assert TOKEN_SET(chopin, "(D) Frédéric Chopin").correct
    assert not TOKEN_SET(mmau.item(NOTE_A), "(B) A").correct  # "b" is a wrong choice
    assert TOKEN_SET(chopin, "Frédéric Chopin").correct
    assert TOKEN_SET(mmau.item(NOTE_A), "A").correct  # the letter is the answer text
    assert not TOKEN_SET(mmau.item(NOTE_A), "B").correct
    assert TOKEN_SET(mmau.item(NOTE_D), "The note is D.").correct
    assert not TOKEN_SET(mmau.item(NOTE_D), "D, not A").correct
    assert sum(TOKEN_SET(i, "A").correct for i in mmau.items) == 1


def test_extra_words_two_options_unicode_numbers(mmau) -> None:
    chopin = mmau.item(CHOPIN)
    assert TOKEN_SET(chopin, "It sounds like a nocturne by Frédéric Chopin.").correct
    assert not TOKEN_SET(chopin, "Either Franz Liszt or Frédéric Chopin").correct
    assert not TOKEN_SET(chopin, "Frederic Chopin").correct  # no accent folding
    assert TOKEN_SET(chopin, "FRÉDÉRIC CHOPIN").correct  # Unicode lower-casing
    count = mmau.item(COUNT_3)
    assert TOKEN_SET(count, "3").correct
    assert not TOKEN_SET(count, "three").correct  # numbers are not spelled out
    assert not TOKEN_SET(count, "3 or 4").correct
    duplicate = mmau.item(DUPLICATE)
    assert TOKEN_SET(duplicate, "1.63 seconds").correct
    assert not TOKEN_SET(duplicate, "1.53 seconds").correct


def test_answer_tokens_shared_with_a_wrong_choice(mmar) -> None:
    item = mmar.item(MMAR_NO)
    assert TOKEN_SET(item, "No").correct  # "no" also in "Initially yes, but later no"
    assert not TOKEN_SET(item, "Initially yes, but later no").correct
    assert not TOKEN_SET(item, "No, not yes").correct


def test_verbose_answers_hit_function_words_of_wrong_choices(mmau, mmar) -> None:
    # counts from upstream string_match on these outputs (Sakshi113/MMAU evaluation.py at
    # commit 110127f54c0dfba3faa5ec9feee4a7e4148679c5)
    wrapped = lambda i: f"The answer is {i.answer}."  # noqa: E731
    assert sum(TOKEN_SET(i, wrapped(i)).correct for i in mmau.items) == 40
    assert sum(TOKEN_SET(i, wrapped(i)).correct for i in mmar.items) == 32


def test_empty_is_unanswered(mmau) -> None:
    item = mmau.item(CHOPIN)
    for text in ("", "   ", "…", "<think>Chopin?</think>", "<think>unfinished Frédéric Chopin"):
        score = TOKEN_SET(item, text)
        assert not score.correct and not score.answered
    assert not mmau_string_match("Piano", "", ["Piano", "Guitar"])
