"""MMAU-Pro nearest-choice rule with the bundled all-MiniLM-L6-v2 embedder.

No MMAU-Pro question file is shipped, so MMAU test-mini music items stand in for
closed MMAU-Pro questions (same shape: question, choices, answer text).
"""

import pytest

from musicflamingo.bench.aggregate import aggregate
from musicflamingo.bench.recipes.mmau_pro import nearest_choice_scorer
from musicflamingo.llm.embedders import ChoiceMatcher, load_embedder


@pytest.fixture(scope="module")
def matcher() -> ChoiceMatcher:
    return ChoiceMatcher(load_embedder())


@pytest.fixture(scope="module")
def items(mmau):
    return [i.model_copy(update={"benchmark": "mmau-pro"}) for i in mmau.items[:20]]


def test_gold_full_wrong_zero(items, matcher: ChoiceMatcher) -> None:
    matcher.warm([c for i in items for c in i.choices])
    scorer = nearest_choice_scorer(matcher)
    gold = aggregate([scorer(i, i.answer) for i in items])
    assert gold.overall.accuracy == 1.0
    assert gold.rules == ["mmau-pro-embedding:all-MiniLM-L6-v2"]
    wrong = [scorer(i, next(c for c in i.choices if c != i.answer)) for i in items]
    assert aggregate(wrong).overall.accuracy == 0.0
    wordy = [
        scorer(i, f"<think>...</think><answer>I'd say {i.answer.lower()}.</answer>") for i in items
    ]
    assert aggregate(wordy).overall.accuracy >= 0.95  # nearest-choice is approximate by design


def test_nearest_choice_and_empty(mmau, matcher: ChoiceMatcher) -> None:
    item = mmau.item("d85c0fca-5bc8-4a4c-aa9c-8e45d9cc9aed").model_copy(
        update={"benchmark": "mmau-pro"}
    )
    assert nearest_choice_scorer(matcher)(item, "frederic chopin, the polish composer").correct
    index, similarity = matcher.match("Claude Debussy", item.choices)
    assert item.choices[index] == "Claude Debussy" and similarity == pytest.approx(1.0, abs=1e-5)
    empty = nearest_choice_scorer(matcher)(item, "<think>not sure")
    assert (empty.correct, empty.answered, empty.chosen) == (False, False, None)


def test_official_embedder_needs_the_remote_code_opt_in(monkeypatch) -> None:
    from musicflamingo.bench.recipe import Resources

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="trust_remote_code"):
        Resources("nvidia/NV-Embed-v2").matcher()
    with pytest.raises(Exception) as opted_in:  # past the opt-in: offline, so the load fails
        Resources("nvidia/NV-Embed-v2", trust_remote_code=True, revision="main").matcher()
    assert "trust_remote_code" not in str(opted_in.value)
