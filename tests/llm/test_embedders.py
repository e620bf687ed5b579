"""Embedders: the bundled default loads offline; NV-Embed, which runs its repository's
code, loads only when the caller opts in."""

from __future__ import annotations

import numpy as np
import pytest

from musicflamingo.llm.embedders import ChoiceMatcher, load_embedder


@pytest.mark.parametrize("model", ["nvidia/NV-Embed-v2", "/models/my-nv-embed-copy"])
def test_remote_code_needs_an_explicit_opt_in(model):
    with pytest.raises(ValueError, match="runs Python code from its model repository: opt in"):
        load_embedder(model)


def test_the_default_embedder_matches_the_nearest_choice():
    embedder = load_embedder()
    assert embedder.name == "all-MiniLM-L6-v2"
    vectors = embedder.encode(["a fast drum beat", "a slow piano ballad"])
    assert vectors.shape[0] == 2 and np.isfinite(vectors).all()
    index, similarity = ChoiceMatcher(embedder).match(
        "the answer is a string quartet", ["electric guitar solo", "string quartet", "choir"]
    )
    assert index == 1 and similarity > 0.5
