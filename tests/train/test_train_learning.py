"""The stages learn, driven through `train.run.train` (what `musicflamingo train sft|grpo`
calls) on the tiny random checkpoint, with tone clips written by the tests and read by the
real collator: GRPO raises a warm-started verifiable reward from <= 0.5 (mean of the first
two steps) to >= 0.9 (mean of the last three) within 25 steps, read from the trainer's
logged curve (seeds 0 and 1 measured, docs/training.md). The measured curves, and the SFT
memorisation runs that did not reach the issue's recall target, are in docs/training.md
("Measured on CPU").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from conftest import qa_row

from musicflamingo.train.recipe import Recipe
from musicflamingo.train.run import train

BASE = {
    "logging_steps": 1,
    "gradient_checkpointing": False,
    "save_strategy": "no",
    "dataloader_pin_memory": False,
    "lr_scheduler_type": "constant",
    "warmup_steps": 0,
    "report_to": [],
}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps(rows))
    return path


# --- GRPO: a warm-started verifiable reward rises -----------------------------------------

GRPO_STEPS = 25


def test_grpo_raises_a_warm_started_reward(checkpoint, clips, tmp_path) -> None:
    # warm-up: each prompt answered "yes" once in four, so the policy samples "yes" ~1/4
    warm = [qa_row(i, clips[i], "yes" if k == 0 else "no") for i in range(4) for k in range(4)]
    sft = Recipe(
        stage="sft",
        max_length=512,
        args=BASE
        | {"max_steps": 16, "per_device_train_batch_size": 8, "learning_rate": 2e-2, "seed": 0},
    )
    train(sft, str(checkpoint), [str(_write(tmp_path / "warm.json", warm))], tmp_path / "warm")
    # GRPO: the verifiable answer is "yes" for every prompt (accuracy reward)
    prompts_ = []
    for i in range(4):
        row = qa_row(i, clips[i], "unused")
        row["conversations"] = row["conversations"][:1]
        prompts_.append(row | {"answer": "yes", "options": []})
    recipe = Recipe(
        stage="grpo",
        max_length=512,
        freeze={"audio_encoder": True},
        rewards={"accuracy": 1.0},
        args=BASE
        | {
            "max_steps": GRPO_STEPS,
            "per_device_train_batch_size": 8,
            "num_generations": 4,
            "max_completion_length": 4,
            "temperature": 1.0,
            "loss_type": "grpo",
            "beta": 0.0,
            "learning_rate": 1e-2,
            "seed": 0,
        },
    )
    data = _write(tmp_path / "grpo_qa.json", prompts_)
    report = train(recipe, str(tmp_path / "warm"), [str(data)], tmp_path / "out")
    curve = [h["rewards/accuracy_reward/mean"] for h in report["log_history"] if "reward" in h]
    assert len(curve) == GRPO_STEPS
    assert np.mean(curve[:2]) <= 0.5 and np.mean(curve[-3:]) >= 0.9, curve
