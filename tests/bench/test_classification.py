"""Label mapping for NSynth (real test labels), GTZAN and Medley-Solos-DB."""

import pytest

from musicflamingo.bench.aggregate import aggregate
from musicflamingo.bench.items import BenchItem
from musicflamingo.bench.labels import LabelSet
from musicflamingo.bench.recipes.gtzan import GTZAN_GENRE
from musicflamingo.bench.recipes.medley_solos import MEDLEY_SOLOS
from musicflamingo.bench.recipes.nsynth import NSYNTH_FAMILY, NSYNTH_SOURCE, load_nsynth
from musicflamingo.bench.scorers import label_scorer


def test_nsynth_real_labels(nsynth, bench_dir) -> None:
    assert len(nsynth.items) == 40  # the excerpt in tests/data/bench
    scorer = label_scorer(NSYNTH_FAMILY)
    report = aggregate([scorer(i, i.answer) for i in nsynth.items])
    assert report.overall.accuracy == 1.0
    assert report.rules == ["label-match:nsynth-family"]
    assert report.breakdowns["category"]["bass"].n == 10
    assert "synth_lead" not in report.breakdowns["category"]  # not in the test split
    assert {k: v.n for k, v in report.breakdowns["sub_category"].items()} == {
        "acoustic": 23,
        "electronic": 7,
        "synthetic": 10,
    }
    wrong = [scorer(i, "organ" if i.answer != "organ" else "flute") for i in nsynth.items]
    assert sum(s.correct for s in wrong) == 0
    source = load_nsynth(bench_dir / "nsynth-test-labels.jsonl", target="source")
    by_source = label_scorer(NSYNTH_SOURCE)
    assert aggregate([by_source(i, i.answer.upper()) for i in source.items]).overall.accuracy == 1.0


@pytest.mark.parametrize(
    ("labels", "text", "expected", "how"),
    [
        (NSYNTH_FAMILY, "guitar", "guitar", "exact"),
        (NSYNTH_FAMILY, "Synth Lead", "synth_lead", "normalised"),
        (NSYNTH_FAMILY, "synth-lead", "synth_lead", "normalised"),
        (NSYNTH_FAMILY, "Piano", "keyboard", "synonym"),
        (NSYNTH_FAMILY, "This note is played on a bass guitar.", "bass", "mention"),
        (NSYNTH_FAMILY, "It is a violin (string family).", "string", "mention"),
        (NSYNTH_FAMILY, "Either a guitar or a piano", None, None),
        (NSYNTH_FAMILY, "a kazoo", None, None),
        (NSYNTH_FAMILY, "", None, None),
        (GTZAN_GENRE, "Hip-Hop", "hiphop", "synonym"),
        (GTZAN_GENRE, "hip hop", "hiphop", "synonym"),
        (GTZAN_GENRE, "This is classic heavy metal.", "metal", "mention"),
        (GTZAN_GENRE, "rock", "rock", "exact"),
        (GTZAN_GENRE, "pop rock", None, None),
        (GTZAN_GENRE, "Reggaeton", None, None),
        (MEDLEY_SOLOS, "Distorted Electric Guitar", "distorted electric guitar", "normalised"),
        (MEDLEY_SOLOS, "sax", "tenor saxophone", "synonym"),
        (MEDLEY_SOLOS, "A woman is singing.", "female singer", "mention"),
        (MEDLEY_SOLOS, "clarinet, or maybe a flute", None, None),
    ],
)
def test_label_mapping(labels: LabelSet, text: str, expected: str | None, how: str | None) -> None:
    assert labels.match(text) == (expected, how)


def test_score_records_rule_and_unanswered() -> None:
    item = BenchItem(
        id="blues.00000",
        benchmark="gtzan",
        audio="blues/blues.00000.wav",
        question="Genre?",
        answer="blues",
    )
    assert label_scorer(GTZAN_GENRE)(item, "<answer>Blues</answer>").correct
    score = label_scorer(GTZAN_GENRE)(item, "jazz or blues")
    assert (score.correct, score.answered, score.rule) == (False, False, "label-match:gtzan")


def test_label_set_rejects_unknown_synonym_targets() -> None:
    with pytest.raises(ValueError, match="unknown labels"):
        LabelSet(name="x", labels=("a",), synonyms={"b": "c"})
