"""The stages learn, driven through `train.run.train` (what `musicflamingo train sft|cot|grpo`
calls) on the tiny random checkpoint, with tone clips written by the tests and read by the
real collator: the CoT warm-up (`train cot`) takes the format reward of greedy outputs on
the training prompts from 0 to >= 0.9; GRPO raises a warm-started verifiable reward from
<= 0.5 (mean of the first two steps) to >= 0.9 (mean of the last three) within 25 steps,
read from the trainer's logged curve. Both measured with seeds 0 and 1; the curves, and
the SFT memorisation runs that did not reach the issue's recall target, are in
docs/training.md ("Measured on CPU").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from conftest import qa_row

from musicflamingo.model import prompts
from musicflamingo.train.recipe import Recipe
from musicflamingo.train.rewards import format_reward
from musicflamingo.train.run import train

QUESTION = "Which tone is this?"
WORDS = ["self", "return", "None", "True", "import", "class", "else", "while"]  # one token each
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


def _answers(folder: Path, clips: list[Path], *, think: bool = False, tokens: int = 4) -> list[str]:
    """Greedy outputs of the trained folder through the runtime, one per clip."""
    from musicflamingo.model import MusicFlamingo
    from musicflamingo.model.runtime import Request

    model = MusicFlamingo.from_pretrained(folder)
    requests = [
        Request(c, "ask", question=QUESTION, think=think, max_new_tokens=tokens) for c in clips
    ]
    return [a.text.strip() for a in model.generate(requests, progress=False)]


# --- CoT warm-up: the thinking format ------------------------------------------------------

COT_STEPS = 80


def _cot_row(i: int, clip: Path, word: str) -> dict:
    row = qa_row(i, clip, f"<think>A pure tone.</think><answer>{word}</answer>")
    row["conversations"][0]["value"] = f"<sound>\n{QUESTION}\n{prompts.THINK}"
    return row


def test_cot_warmup_teaches_the_thinking_format(checkpoint, clips, tmp_path) -> None:
    rows = [_cot_row(i, c, w) for i, (c, w) in enumerate(zip(clips, WORDS, strict=True))]
    data = _write(tmp_path / "cot_sft.json", rows)
    before = format_reward(_answers(checkpoint, clips, think=True, tokens=32))
    args = BASE | {"max_steps": COT_STEPS, "per_device_train_batch_size": 4}
    recipe = Recipe(stage="cot", max_length=512, args=args | {"learning_rate": 1e-2, "seed": 0})
    train(recipe, str(checkpoint), [str(data)], tmp_path / "out")
    said = _answers(tmp_path / "out", clips, think=True, tokens=32)
    after = format_reward(said)
    assert np.mean(before) <= 0.1 and np.mean(after) >= 0.9, said


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
