"""One collator for every stage: conversation rows -> the model's training inputs.

Prompts are rendered with the checkpoint's chat template through `model.prompts` and
tokenised, audio expanded, by the runtime's `model.frontend.FrontEnd`, so a training
prompt is token for token the prompt the runtime sends. Labels cover the assistant turns
only (their text and the end-of-turn token); system and user text, the audio block and
padding are -100. The context budget is counted after audio expansion (750 tokens per
30 s window); a row over it is dropped or has whole windows cut from its end, and every
such decision is a status in the ``status`` column that `count_statuses` reports.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from musicflamingo import audio
from musicflamingo.model import prompts
from musicflamingo.model.frontend import Features, FrontEnd

from .data import DataError, Role, sound_path, turns

Overflow = Literal["drop", "truncate_audio"]
KEPT = ("ok", "capped", "truncated")  # capped: over the checkpoint's cap; truncated: budget
IGNORE = -100


@dataclass(frozen=True)
class Encoded:
    """Token ids (audio expanded) and labels of one row."""

    ids: list[int]
    labels: list[int]


class Collator:
    """Plans rows (``plan``, for `datasets.map`) and turns batches of them into tensors.

    ``max_length`` is the context budget in tokens after audio expansion; ``reserve`` is
    kept free for generation (GRPO prompts); ``overflow`` says what happens to a row over
    the budget; relative ``sound`` paths are read under ``audio_root``.
    """

    def __init__(
        self,
        processor: Any,
        *,
        max_length: int = 24_576,
        overflow: Overflow = "drop",
        reserve: int = 0,
        audio_root: str | Path | None = None,
    ):
        if overflow not in ("drop", "truncate_audio"):
            raise ValueError(f"overflow must be 'drop' or 'truncate_audio', not {overflow!r}")
        self.frontend = FrontEnd(processor)
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.max_length = max_length
        self.overflow = overflow
        self.reserve = reserve
        self.audio_root = Path(audio_root) if audio_root else None
        self.counts: Counter[str] = Counter()  # rows dropped at collate time

    # --- text ---------------------------------------------------------------------------------

    def segments(self, convo: list[tuple[Role, str]], has_audio: bool) -> list[tuple[str, bool]]:
        """The rendered conversation as (text, is_target) pieces: each prompt up to the
        generation prompt, then each assistant reply as the template writes it."""
        pieces: list[tuple[str, bool]] = []
        done = ""
        for i, (role, _) in enumerate(convo):
            if role != "assistant":
                continue
            head = prompts.render_turns(
                self.processor, convo[:i], audio=has_audio, add_generation_prompt=True
            )
            full = prompts.render_turns(
                self.processor, convo[: i + 1], audio=has_audio, add_generation_prompt=False
            )
            if not (head.startswith(done) and full.startswith(head)):
                raise DataError("the chat template does not render turns as prefixes")
            pieces += [(head[len(done) :], False), (full[len(head) :], True)]
            done = full
        if convo[-1][0] == "user":  # a prompt to answer (GRPO)
            head = prompts.render_turns(
                self.processor, convo, audio=has_audio, add_generation_prompt=True
            )
            pieces.append((head[len(done) :], False))
        return pieces

    def encode(self, row: dict[str, Any], n_audio: int | None) -> Encoded:
        """Ids and labels of ``row`` with ``n_audio`` ``<sound>`` tokens (None: no audio)."""
        convo, has_audio = turns(row)
        if has_audio != (n_audio is not None):
            raise DataError(f"{row.get('id')}: audio marker and audio file disagree")
        convo = [(r, prompts.sanitize(self.tokenizer, t) if r == "user" else t) for r, t in convo]
        ids: list[int] = []
        labels: list[int] = []
        eos = self.tokenizer.convert_tokens_to_ids(self.tokenizer.eos_token)
        for k, (text, target) in enumerate(self.segments(convo, has_audio)):
            part = (
                self.frontend.token_ids(text, n_audio)
                if k == 0
                else self.tokenizer(text, add_special_tokens=False)["input_ids"]
            )
            ids += part
            if not target:
                labels += [IGNORE] * len(part)
                continue
            end = len(part) - part[::-1].index(eos) if eos in part else len(part)
            labels += part[:end] + [IGNORE] * (len(part) - end)
        return Encoded(ids, labels)

    # --- planning -----------------------------------------------------------------------------

    def _duration(self, row: dict[str, Any], path: Path) -> float:
        stated = row.get("duration")
        if stated:
            return float(stated)
        probed = audio.probe(path)[1]
        return probed if probed else audio.load(path, self.frontend.sr).duration

    def plan(self, row: dict[str, Any]) -> dict[str, Any]:
        """``status``, ``length`` (tokens after audio expansion) and ``heard`` (seconds of
        audio to use) of one row; for ``datasets.map``."""
        try:
            convo, has_audio = turns(row)
            path = sound_path(row, self.audio_root) if has_audio else None
            if has_audio and (path is None or not path.is_file()):
                return {"status": "no_audio_file", "length": 0, "heard": 0.0}
        except DataError:
            return {"status": "bad_row", "length": 0, "heard": 0.0}
        if not self.reserve and convo[-1][0] != "assistant":
            return {"status": "no_target", "length": 0, "heard": 0.0}
        try:
            seconds = self._duration(row, path) if path else 0.0
        except audio.AudioError:
            return {"status": "unreadable_audio", "length": 0, "heard": 0.0}
        status = "ok"
        window = self.frontend.window_seconds
        windows = max(1, math.ceil(seconds / window)) if path else 0
        if windows > self.frontend.max_windows:
            windows, status = self.frontend.max_windows, "capped"
        while True:
            heard = windows * window  # at most this much audio is used
            n_audio = self._n_audio(min(seconds, heard)) if path else None
            length = len(self.encode(row, n_audio).ids) + self.reserve
            if length <= self.max_length:
                return {"status": status, "length": length, "heard": heard}
            if self.overflow == "drop" or windows <= 1:
                return {"status": "over_budget", "length": length, "heard": heard}
            windows, status = windows - 1, "truncated"

    def _n_audio(self, seconds: float) -> int:
        sr = self.frontend.sr
        return audio.audio_token_count(round(seconds * sr), sr, self.frontend.max_windows)

    # --- batches ------------------------------------------------------------------------------

    def features(self, row: dict[str, Any]) -> Features | None:
        """The row's log-mel windows, cut to its planned ``heard`` seconds (None: no audio)."""
        path = sound_path(row, self.audio_root) if turns(row)[1] else None
        if path is None:
            return None
        samples = audio.load(path, self.frontend.sr).samples
        window = int(self.frontend.window_seconds * self.frontend.sr)
        limit = self.frontend.max_windows * window
        if row.get("heard"):
            limit = min(limit, round(row["heard"] * self.frontend.sr))
        return self.frontend.features(np.asarray(samples[:limit]))

    def inputs(self, row: dict[str, Any]) -> tuple[Encoded, Features | None]:
        feats = self.features(row)
        return self.encode(row, feats.n_tokens if feats else None), feats

    def __call__(self, rows: Iterable[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Right-padded ``input_ids``, ``attention_mask``, ``labels`` and the batch's audio
        windows (``input_features``, ``input_features_mask``); a row whose audio cannot be
        read is left out and counted."""
        done: list[tuple[Encoded, Features | None]] = []
        for row in rows:
            try:
                done.append(self.inputs(row))
            except audio.AudioError as e:
                self.counts["unreadable_audio"] += 1
                self.counts[f"unreadable_audio:{e.path}"] = 1
        if not done:
            raise DataError("no row of this batch has readable audio")
        return self.pad(done)

    def pad(self, done: list[tuple[Encoded, Features | None]]) -> dict[str, torch.Tensor]:
        width = max(len(e.ids) for e, _ in done)
        pad_id = self.tokenizer.pad_token_id
        ids = torch.full((len(done), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(done), width), dtype=torch.long)
        labels = torch.full((len(done), width), IGNORE, dtype=torch.long)
        for i, (e, _) in enumerate(done):
            n = len(e.ids)
            ids[i, :n] = torch.tensor(e.ids)
            mask[i, :n] = 1
            labels[i, :n] = torch.tensor(e.labels)
        batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
        feats = [f for _, f in done if f is not None]
        if feats:
            batch["input_features"] = torch.cat([f.input_features for f in feats])
            batch["input_features_mask"] = torch.cat([f.mask for f in feats])
        return batch


def count_statuses(statuses: Iterable[str]) -> dict[str, Any]:
    """What planning kept and dropped: ``{"rows", "kept", "capped", "truncated",
    "dropped": {reason: n}}``."""
    c = Counter(statuses)
    return {
        "rows": sum(c.values()),
        "kept": sum(c[s] for s in KEPT),
        "capped": c["capped"],
        "truncated": c["truncated"],
        "dropped": {s: n for s, n in sorted(c.items()) if s not in KEPT},
    }
