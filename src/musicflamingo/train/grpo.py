"""GRPO with audio: a thin `trl.GRPOTrainer` subclass (written against trl 1.16.0).

TRL's GRPOTrainer knows images, not audio: its scoring and loss forwards would run without
``input_features`` and train the policy blind to the music. This subclass renders each
prompt with the training `Collator` (the runtime's prompt code), generates with the
row's audio windows, and hands the same windows to every scoring forward (old policy,
reference model) and to the loss forward. Rows carry their windows through TRL's
buffering as one tensor per row, so TRL's splitting and shuffling keep them aligned.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from trl import GRPOTrainer

from .collator import Collator

AUDIO_KEYS = ("input_features", "input_features_mask")


class AudioGRPOTrainer(GRPOTrainer):
    """GRPOTrainer whose prompts are rows of the training data with their audio."""

    def __init__(self, *args: Any, collator: Collator, **kwargs: Any):
        self.collator = collator
        self._rows_audio: dict[str, list[torch.Tensor | None]] | None = None
        self.audio_forwards = 0  # forwards that received audio (the plumbing test reads it)
        super().__init__(*args, **kwargs)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """TRL's log, less the metrics no row of the logged batches had: a reward that
        applies to none of them (captions in a QA batch) has only NaN means, which TRL
        logs as None (dropped by TensorBoard with a warning, a hole in log_history)."""
        metrics = self._metrics["train" if self.model.training else "eval"]
        for key in [k for k, v in metrics.items() if all(math.isnan(x) for x in v)]:
            del metrics[key]
        super().log(logs, start_time)

    # --- generation: prompts rendered and tokenised by the collator -------------------------

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        encoded = [self.collator.inputs(row) for row in inputs]
        self._prompt_ids = [e.ids for e, _ in encoded]
        self._rows_audio = {
            "input_features": [f.input_features if f else None for _, f in encoded],
            "input_features_mask": [f.mask if f else None for _, f in encoded],
        }
        output = super()._generate_and_score_completions(inputs)
        output.update(self._rows_audio)
        self._rows_audio = None
        return output

    def _tokenize_prompts(self, prompts: list) -> tuple[list[list[int]], None, dict[str, Any]]:
        assert self._rows_audio is not None, "prompts are tokenised with their rows"
        return self._prompt_ids, None, self._audio_slice(0, len(self._prompt_ids))

    def _audio_slice(self, start: int, end: int) -> dict[str, torch.Tensor]:
        """The windows of rows ``start:end`` of the current batch, concatenated."""
        if self._rows_audio is None:
            return {}
        device = self.accelerator.device
        out = {}
        for key in AUDIO_KEYS:
            parts = [t for t in self._rows_audio[key][start:end] if t is not None]
            if parts:
                out[key] = torch.cat(parts).to(device)
        if "input_features" in out:
            out["input_features"] = out["input_features"].to(self.model.dtype)
        return out

    # --- scoring and loss: every forward gets the rows' audio -------------------------------

    def _compute_loss(self, model: Any, inputs: dict[str, Any]) -> torch.Tensor:
        self._rows_audio = {k: inputs[k] for k in AUDIO_KEYS}
        try:
            return super()._compute_loss(model, inputs)
        finally:
            self._rows_audio = None

    def _get_per_token_logps_and_entropies(
        self,
        model: Any,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        logits_to_keep: int,
        batch_size: int | None = None,
        compute_entropy: bool = False,
        compute_aux_loss: bool = False,
        **_: Any,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """TRL's per-token log-probs for text + audio rows (no image fields)."""
        batch_size = batch_size or input_ids.size(0)
        logps, entropies = [], []
        for start in range(0, input_ids.size(0), batch_size):
            end = min(start + batch_size, input_ids.size(0))
            ids, mask = input_ids[start:end], attention_mask[start:end]
            audio = self._audio_slice(start, end)
            if audio:
                self.audio_forwards += 1
            labels = ids.masked_fill(mask == 0, -100)
            labels[:, :-logits_to_keep] = -100
            with self.accelerator.autocast():
                out = model(
                    input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True, **audio
                )
            logps.append(out.log_probs[:, -logits_to_keep:])
            if compute_entropy:
                entropies.append(out.entropy[:, -logits_to_keep:])
        return (
            torch.cat(logps),
            torch.cat(entropies) if compute_entropy else None,
            None,
        )
