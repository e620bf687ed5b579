"""SFT and GRPO step cost on CPU: `musicflamingo.train` against a plain transformers
`Trainer` loop on the same batches.

    python benchmarks/train_throughput.py [--size tiny|bench] [--steps 6] [--rows 8]

Both SFT runs use the same checkpoint, rows (distinct 2 s tones), collator, batch size and
seed, without gradient checkpointing; only the trainer differs (TRL `SFTTrainer` through
`train.run.train` vs `transformers.Trainer`). Reported: samples/s, tokens/s, peak RSS,
the overhead ratio (target <= 1.1), and the time of one GRPO step (rollout + update) at
group size 2.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from make_tiny_checkpoint import build_checkpoint  # noqa: E402

SR = 16_000


def _rows(folder: Path, n: int, prompt_only: bool = False) -> Path:
    rows = []
    for i in range(n):
        t = np.arange(2 * SR) / SR
        path = folder / f"tone{i}.wav"
        sf.write(path, (0.3 * np.sin(2 * np.pi * 110 * 2 ** (i / 2) * t)).astype(np.float32), SR)
        convo = [{"from": "human", "value": "<sound>\nWhich tone is this?"}]
        if not prompt_only:
            convo.append({"from": "gpt", "value": f"tone number {i}"})
        rows.append({"id": f"s{i}", "sound": str(path), "duration": 2.0,
                     "conversations": convo, "answer": f"tone number {i}"})  # fmt: skip
    out = folder / ("prompts.json" if prompt_only else "rows.json")
    out.write_text(json.dumps(rows))
    return out


def _plain(ckpt: Path, data: Path, out: Path, args: dict) -> float:
    from transformers import Trainer, TrainingArguments

    from musicflamingo.model.loading import load
    from musicflamingo.train.collator import KEPT, Collator
    from musicflamingo.train.data import load_rows

    loaded = load(ckpt, device="cpu")
    collator = Collator(loaded.processor, max_length=512)
    ds = load_rows([data]).map(collator.plan).filter(lambda s: s in KEPT, input_columns="status")
    targs = TrainingArguments(output_dir=str(out), remove_unused_columns=False, **args)
    trainer = Trainer(model=loaded.model.train(), args=targs, train_dataset=ds,
                      data_collator=collator)  # fmt: skip
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("tiny", "bench"), default="tiny")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rows", type=int, default=8)
    a = parser.parse_args()

    from musicflamingo.train.recipe import Recipe
    from musicflamingo.train.run import train

    tmp = Path(tempfile.mkdtemp(prefix="train-bench-"))
    ckpt = build_checkpoint(tmp / "ckpt", "musicflamingo", a.size)
    data = _rows(tmp, a.rows)
    args = {"max_steps": a.steps, "per_device_train_batch_size": a.rows, "learning_rate": 1e-4,
            "logging_steps": 1, "save_strategy": "no", "report_to": [], "seed": 0,
            "dataloader_pin_memory": False}  # fmt: skip
    start = time.perf_counter()
    report = train(Recipe(stage="sft", max_length=512,
                          args=args | {"gradient_checkpointing": False}),
                   str(ckpt), [str(data)], tmp / "ours")  # fmt: skip
    ours = time.perf_counter() - start
    ours_train = next(h["train_runtime"] for h in report["log_history"] if "train_runtime" in h)
    plain = _plain(ckpt, data, tmp / "plain", args)
    tokens = next(h["num_tokens"] for h in report["log_history"][::-1] if "num_tokens" in h)

    grpo_args = {"max_steps": 2, "per_device_train_batch_size": 2, "num_generations": 2,
                 "max_completion_length": 8, "loss_type": "grpo", "beta": 0.04,
                 "gradient_checkpointing": False, "logging_steps": 1, "save_strategy": "no",
                 "report_to": [], "dataloader_pin_memory": False}  # fmt: skip
    g = train(Recipe(stage="grpo", max_length=512, rewards={"format": 1.0, "accuracy": 1.0},
                     args=grpo_args),
              str(ckpt), [str(_rows(tmp, 2, prompt_only=True))], tmp / "grpo")  # fmt: skip
    grpo_step = float(np.mean([h["step_time"] for h in g["log_history"] if "step_time" in h]))

    samples = a.steps * a.rows
    print(f"checkpoint {a.size}, {a.rows} rows x {a.steps} steps (CPU, {a.rows} per step)")
    print(
        f"ours (TRL SFTTrainer): {samples / ours_train:.2f} samples/s, "
        f"{tokens / ours_train:.0f} tokens/s; whole call with planning {ours:.1f} s"
    )
    print(f"plain transformers Trainer: {samples / plain:.2f} samples/s")
    print(f"overhead ratio: {ours_train / plain:.2f} (target <= 1.1)")
    print(f"GRPO step (G=2, 2 prompts, 8 new tokens): {grpo_step:.2f} s")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
