"""The audio front end: the processor's 30 s windows and log-mel features, and prompt ids with
the audio placeholder expanded, identical to the checkpoint's processor.

The features come from the checkpoint's own Whisper feature extractor; the only difference
from ``processor(...)`` is that the placeholder is expanded on token ids (one tokenizer call
on the short prompt) instead of tokenising a string holding thousands of ``<sound>`` tokens.
A server can `FrontEnd.prepare` a song's features on the thread that received it, so the
thread that runs the model takes them ready-made instead of computing them in its turn.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from musicflamingo import audio


@dataclass(frozen=True)
class Features:
    """Log-mel windows of one audio (``(windows, mels, frames)``), their frame mask and the
    number of ``<sound>`` tokens they become."""

    input_features: torch.Tensor
    mask: torch.Tensor
    n_tokens: int

    @property
    def nbytes(self) -> int:
        return self.input_features.nbytes + self.mask.nbytes


PREPARED_BYTES = 256 * 2**20  # prepared features kept at most (oldest dropped first)


def _digest(samples: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(samples).data, digest_size=16).hexdigest()


class FrontEnd:
    """Turns samples and rendered prompt text into the model's inputs."""

    def __init__(self, processor: Any):
        fe = processor.feature_extractor
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.sr = int(fe.sampling_rate)
        self.window_seconds = float(fe.chunk_length)
        self.max_windows = int(processor.max_audio_len // fe.chunk_length)
        self.audio_token_id = int(processor.audio_token_id)
        one = processor.replace_audio_token({"num_audio_tokens": [1]}, audio_idx=0)
        self.expansion = self.tokenizer(one, add_special_tokens=False)["input_ids"]
        if self.expansion.count(self.audio_token_id) != 1:
            raise ValueError(f"unexpected audio placeholder expansion {one!r}")
        self._prepared: OrderedDict[str, Features] = OrderedDict()
        self._lock = threading.Lock()

    def prepare(self, samples: np.ndarray) -> None:
        """Compute the features of ``samples`` now; the next `features` call on the same
        samples takes them (at most `PREPARED_BYTES` are kept, the oldest dropped first)."""
        key, ready = _digest(samples), self._compute(samples)
        with self._lock:
            self._prepared[key] = ready
            while sum(f.nbytes for f in self._prepared.values()) > PREPARED_BYTES:
                self._prepared.popitem(last=False)

    def features(self, samples: np.ndarray) -> Features:
        """Windows and features of mono ``samples`` at the processor's rate (within its cap):
        the prepared ones if `prepare` was called on the same samples, else computed now."""
        if self._prepared:
            with self._lock:
                ready = self._prepared.pop(_digest(samples), None)
            if ready is not None:
                return ready
        return self._compute(samples)

    def _compute(self, samples: np.ndarray) -> Features:
        wins, _ = audio.windows(len(samples), self.sr, self.max_windows)
        chunks = [samples[w.start_sample : w.end_sample] for w in wins]
        out = self.processor.feature_extractor(
            chunks, sampling_rate=self.sr, return_attention_mask=True, return_tensors="pt"
        )
        n = audio.audio_token_count(len(samples), self.sr, self.max_windows)
        return Features(out["input_features"], out["attention_mask"], n)

    def token_ids(self, text: str, n_audio_tokens: int | None) -> list[int]:
        """Ids of a rendered prompt; its one audio placeholder expanded to ``n_audio_tokens``."""
        bos = self.tokenizer.bos_token
        add_special = not (bos is not None and text.startswith(bos))
        ids = self.tokenizer(text, add_special_tokens=add_special)["input_ids"]
        found = ids.count(self.audio_token_id)
        if n_audio_tokens is None:
            if found:
                raise ValueError("a text-only prompt contains the audio placeholder")
            return ids
        if found != 1:
            raise ValueError(f"expected one audio placeholder in the prompt, found {found}")
        at = ids.index(self.audio_token_id)
        expanded: list[int] = []
        for t in self.expansion:
            expanded.extend([t] * n_audio_tokens if t == self.audio_token_id else [t])
        return ids[:at] + expanded + ids[at + 1 :]

    def audio_end(self, ids: list[int]) -> int:
        """Index just past the expanded audio block (the last ``<sound>`` and its closing
        tokens); the prompt up to there is the same for every question about that audio."""
        last = len(ids) - 1 - ids[::-1].index(self.audio_token_id)
        return last + len(self.expansion) - self.expansion.index(self.audio_token_id)

    def collate(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded ``input_ids`` and ``attention_mask``, as the processor pads a batch."""
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            if r:
                ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
                mask[i, width - len(r) :] = 1
        return ids, mask
