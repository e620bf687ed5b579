"""Music-AVQA audio-only questions and the exact-match rule over the answer vocabulary."""

import pytest

from musicflamingo.bench.aggregate import aggregate
from musicflamingo.bench.recipes.music_avqa import avqa_label_set, fill_avqa_template
from musicflamingo.bench.scorers import label_scorer

THREE = "31366"  # How many musical instruments were heard throughout the video? -> three
MANY = "32890"  # same question -> more than ten
LOUDER = "2945"  # Is the clarinet louder than the acoustic guitar? -> yes


def test_real_counts_and_templates(avqa) -> None:
    assert len(avqa.items) == 24  # the excerpt in tests/data/bench
    scorer = label_scorer(avqa_label_set(avqa.answer_vocabulary), mentions=False)
    report = aggregate([scorer(i, i.answer) for i in avqa.items])
    assert {k: v.n for k, v in report.breakdowns["category"].items()} == {
        "Audio-Comparative": 5,
        "Audio-Counting": 19,
    }
    assert report.overall.accuracy == 1.0
    flipped = [scorer(i, "no" if i.answer == "yes" else "yes") for i in avqa.items]
    assert sum(s.correct for s in flipped) == 0
    assert len(avqa.answer_vocabulary) == 7
    assert not any("<" in i.question for i in avqa.items)
    assert avqa.item(LOUDER).question == "Is the clarinet louder than the acoustic guitar?"
    assert avqa.item(LOUDER).audio == "00000823.wav"


def test_fill_template() -> None:
    template = "Is the <Object> louder than the <Object>? "
    filled = fill_avqa_template(template, ["violin", "acoustic_guitar"])
    assert filled == "Is the violin louder than the acoustic guitar?"
    assert fill_avqa_template("Is there a <Object> sound?", []) == "Is there a <Object> sound?"


@pytest.mark.parametrize(
    ("item_id", "text", "correct"),
    [
        (THREE, "three", True),
        (THREE, "3", True),
        (THREE, " Three. ", True),
        (THREE, "<think>one, two, three</think><answer>3</answer>", True),
        (THREE, "III", False),
        (THREE, "two", False),
        (THREE, "There are three instruments.", False),  # exact match, not a mention
        (MANY, "more than ten", True),
        (MANY, "12", True),
        (MANY, "More-than-ten!", True),
        (MANY, "10", False),
        (LOUDER, "Yes", True),
        (LOUDER, "YES.", True),
        (LOUDER, "no", False),
        (LOUDER, "yes, it is", False),
        (LOUDER, "", False),
    ],
)
def test_exact_match(avqa, item_id: str, text: str, correct: bool) -> None:
    vocab = avqa_label_set(avqa.answer_vocabulary)
    score = label_scorer(vocab, mentions=False)(avqa.item(item_id), text)
    assert score.correct is correct
    assert score.rule == "exact-match:music-avqa"


def test_out_of_vocabulary_is_unanswered(avqa) -> None:
    vocab = avqa_label_set(avqa.answer_vocabulary)
    score = label_scorer(vocab, mentions=False)(avqa.item(LOUDER), "maybe")
    assert (score.correct, score.answered, score.chosen) == (False, False, None)
    assert label_scorer(vocab, mentions=False)(avqa.item(THREE), "3").chosen == "three"
