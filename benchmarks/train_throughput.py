"""SFT and GRPO step cost on CPU: `musicflamingo.train` against a plain transformers
`Trainer` loop on the same batches.

    python benchmarks/train_throughput.py [--size tiny|bench] [--steps 6] [--rows 8] [--repeats 2]

Both SFT runs use the same checkpoint, rows (distinct 2 s tones), collator, batch size and
seed, without gradient checkpointing; only the trainer differs (TRL `SFTTrainer` through
`train.run.train` vs `transformers.Trainer`). A callback clocks every optimizer step (wall
and process CPU time, the latter robust to other jobs on a shared machine); the first step
(allocator and oneDNN warm-up) is left out and the runs alternate (plain, ours, plain, …)
so neither profits from running second. Reported: median step times, samples/s, tokens/s,
peak RSS, the overhead ratio (target <= 1.1), and the time of one GRPO step (rollout +
update) at group size 2.
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
from transformers import TrainerCallback

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


class StepClock(TrainerCallback):
    """Each optimizer step's wall and process CPU seconds."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self._start = (0.0, 0.0)

    def on_step_begin(self, *_: object, **__: object) -> None:
        self._start = (time.perf_counter(), time.process_time())

    def on_step_end(self, *_: object, **__: object) -> None:
        self.wall.append(time.perf_counter() - self._start[0])
        self.cpu.append(time.process_time() - self._start[1])


def _plain(ckpt: Path, data: Path, out: Path, args: dict, clock: StepClock) -> None:
    from transformers import Trainer, TrainingArguments

    from musicflamingo.model.loading import load
    from musicflamingo.train.collator import KEPT, Collator
    from musicflamingo.train.data import load_rows

    loaded = load(ckpt, device="cpu")
    collator = Collator(loaded.processor, max_length=512)
    ds = load_rows([data]).map(collator.plan).filter(lambda s: s in KEPT, input_columns="status")
    targs = TrainingArguments(output_dir=str(out), remove_unused_columns=False, **args)
    trainer = Trainer(model=loaded.model.train(), args=targs, train_dataset=ds,
                      data_collator=collator, callbacks=[clock])  # fmt: skip
    trainer.train()


def _median(values: list[float]) -> float:
    return float(np.median(values[1:]))  # the first step warms the allocator and oneDNN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("tiny", "bench"), default="tiny")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    a = parser.parse_args()

    from musicflamingo.train.recipe import Recipe
    from musicflamingo.train.run import train

    tmp = Path(tempfile.mkdtemp(prefix="train-bench-"))
    ckpt = build_checkpoint(tmp / "ckpt", "musicflamingo", a.size)
    data = _rows(tmp, a.rows)
    args = {"max_steps": a.steps, "per_device_train_batch_size": a.rows, "learning_rate": 1e-4,
            "logging_steps": 1, "save_strategy": "no", "report_to": [], "seed": 0,
            "dataloader_pin_memory": False}  # fmt: skip
    clocks: dict[str, list] = {"ours": [], "plain": []}
    tokens = 0
    for r in range(a.repeats):
        plain = StepClock()
        _plain(ckpt, data, tmp / f"plain{r}", args, plain)
        ours = StepClock()
        report = train(Recipe(stage="sft", max_length=512,
                              args=args | {"gradient_checkpointing": False}),
                       str(ckpt), [str(data)], tmp / f"ours{r}", callbacks=[ours])  # fmt: skip
        clocks["plain"].append(plain)
        clocks["ours"].append(ours)
        tokens = next(h["num_tokens"] for h in report["log_history"][::-1] if "num_tokens" in h)
    step = {k: {m: float(np.median([_median(getattr(c, m)) for c in v])) for m in ("wall", "cpu")}
            for k, v in clocks.items()}  # fmt: skip
    grpo_args = {"max_steps": 2, "per_device_train_batch_size": 2, "num_generations": 2,
                 "max_completion_length": 8, "loss_type": "grpo", "beta": 0.04,
                 "gradient_checkpointing": False, "logging_steps": 1, "save_strategy": "no",
                 "report_to": [], "dataloader_pin_memory": False}  # fmt: skip
    g = train(Recipe(stage="grpo", max_length=512, rewards={"format": 1.0, "accuracy": 1.0},
                     args=grpo_args),
              str(ckpt), [str(_rows(tmp, 2, prompt_only=True))], tmp / "grpo")  # fmt: skip
    grpo_step = float(np.mean([h["step_time"] for h in g["log_history"] if "step_time" in h]))

    per_step_tokens = tokens / a.steps
    print(f"checkpoint {a.size}, {a.rows} rows x {a.steps} steps x {a.repeats} runs (CPU)")
    for name, label in (("ours", "ours (TRL SFTTrainer)"), ("plain", "plain transformers Trainer")):
        wall, cpu = step[name]["wall"], step[name]["cpu"]
        print(f"{label}: step {wall:.2f} s wall, {cpu:.2f} s CPU; {a.rows / wall:.2f} samples/s, "
              f"{per_step_tokens / wall:.0f} tokens/s")  # fmt: skip
    for m in ("wall", "cpu"):
        print(f"overhead ratio ({m}): {step['ours'][m] / step['plain'][m]:.2f} (target <= 1.1)")
    print(f"GRPO step (G=2, 2 prompts, 8 new tokens): {grpo_step:.2f} s")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
