"""The verifier on a seeded corpus of steps written from the fixtures' measured facts: it
catches the injected false claims and leaves the true steps alone."""

from __future__ import annotations

from collections import Counter

import pytest

from musicflamingo.think.corpus import KEY_ERRORS, make_corpus, score

pytestmark = pytest.mark.slow  # analyses every fixture once per session


def test_the_corpus_is_large_seeded_and_covers_every_kind_of_error(corpus_songs):
    corpus = make_corpus(corpus_songs, seed=0)
    assert len(corpus) >= 200
    assert corpus == make_corpus(corpus_songs, seed=0)
    assert corpus != make_corpus(corpus_songs, seed=1)
    injected = Counter(s.injected for s in corpus if s.injected)
    kinds = {"tempo", "mode", "meter", "chord", "progression", "sections", "section_time"}
    kinds |= {"instrument", "vocals", "lyric", *(f"key_{k}" for k in KEY_ERRORS)}
    assert kinds <= set(injected), kinds - set(injected)
    assert sum(s.injected is None for s in corpus) >= 100


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recall_and_false_alarms_meet_the_targets(corpus_songs, seed):
    result = score(make_corpus(corpus_songs, seed=seed), corpus_songs)
    assert result.recall >= 0.95, [m.text for m in result.missed]
    assert result.false_alarm_rate <= 0.05, result.alarms
