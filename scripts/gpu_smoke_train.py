"""GPU smoke test of training: one bf16 SFT step and one GRPO step on a ~0.75B random
Music Flamingo checkpoint, through `musicflamingo.train` with the paper's recipes.

    accelerate launch --config_file recipes/accelerate/fsdp2_8gpu.yaml --num_processes 1 \\
        scripts/gpu_smoke_train.py --work /tmp/mf-smoke       # see docs/gpu.md
    python scripts/gpu_smoke_train.py --cpu                   # tiny, float32, no FSDP

The checkpoint (`make_tiny_checkpoint.py --size mid`, the tiny format at ~0.75B), the
audio (distinct sine tones of ``--seconds``) and the rows are made in ``--work`` by the
main process. SFT runs `recipes/mf_sft.yaml`, GRPO `recipes/grpo.yaml` from the SFT
model (group size 5), each with ``max_steps`` 1 and no accumulation. Prints one JSON
object (also saved as ``WORK/smoke.json``): per stage the step time, tokens/s and peak
accelerator memory (max over ranks).
``--cpu`` checks the same wiring on the tiny checkpoint in float32 in one process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from make_tiny_checkpoint import build_checkpoint  # noqa: E402

SR = 16_000
QUESTION = "Describe this track in detail."
ANSWER_WORDS = 300  # a caption-length target


def _rows(work: Path, n: int, seconds: float, grpo: bool) -> Path:
    """``n`` rows over distinct tones: SFT caption-like targets, or GRPO QA prompts."""
    t = np.arange(int(seconds * SR)) / SR
    rows = []
    for i in range(n):
        clip = work / "audio" / f"tone{i}.wav"
        if not clip.is_file():
            clip.parent.mkdir(parents=True, exist_ok=True)
            wave = 0.3 * np.sin(2 * np.pi * 110 * 2 ** (i / 4) * t)
            sf.write(clip, wave.astype(np.float32), SR)
        row: dict[str, Any] = {"id": f"tone{i}", "sound": str(clip), "duration": seconds}
        if grpo:
            question = "<sound>\nWhich tone is this? Think first, then answer."
            row |= {"conversations": [{"from": "human", "value": question}],
                    "answer": f"tone {i}", "options": []}  # fmt: skip
        else:
            target = " ".join(f"tone {i} bar {k}." for k in range(ANSWER_WORDS // 4))
            row["conversations"] = [
                {"from": "human", "value": f"<sound>\n{QUESTION}"},
                {"from": "gpt", "value": target},
            ]
        rows.append(row)
    path = work / ("grpo.json" if grpo else "sft.json")
    path.write_text(json.dumps(rows))
    return path


def _tokens(checkpoint: Path, data: Path, reserve: int) -> int:
    """Tokens of one row (a GRPO prompt: without the ``reserve`` for its completion) after
    audio expansion; all rows have the same length."""
    from transformers import AutoProcessor

    from musicflamingo.train.collator import Collator

    collator = Collator(AutoProcessor.from_pretrained(checkpoint), reserve=reserve)
    return int(collator.plan(json.loads(data.read_text())[0])["length"]) - reserve


def _peak_memory() -> float | None:
    """Peak allocated accelerator memory in GiB, the max over ranks (None on CPU)."""
    import torch

    if not torch.cuda.is_available():
        return None
    peak = torch.tensor(float(torch.cuda.max_memory_allocated()), device="cuda")
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(peak, op=torch.distributed.ReduceOp.MAX)
    return round(peak.item() / 2**30, 2)


def _stage(
    name: str, recipe: str, model: Path, data: Path, out: Path, sets: dict[str, Any], world: int
) -> dict[str, Any]:
    import torch

    from musicflamingo.train.recipe import load_recipe
    from musicflamingo.train.run import train

    spec = load_recipe(ROOT / "recipes" / recipe, [f"{k}={json.dumps(v)}" for k, v in sets.items()])
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    report = train(spec, str(model), [str(data)], out, resume=False)
    wall = time.perf_counter() - start
    logs = report["log_history"]
    loop = next(h for h in logs if "train_runtime" in h)["train_runtime"]
    steps = report["global_step"]
    batch = int(spec.args["per_device_train_batch_size"]) * world
    if name == "grpo":  # prompt + sampled completion, per completion
        prompt = _tokens(model, data, int(spec.args["max_completion_length"]))
        completion = np.mean([h["completions/mean_length"] for h in logs if "step_time" in h])
        tokens = batch * steps * (prompt + float(completion))
    else:
        tokens = batch * steps * _tokens(model, data, 0)
    return {
        "steps": steps,
        "step_s": round(loop / steps, 3),
        "tokens_per_step": round(tokens / steps),
        "tokens_per_s": round(tokens / loop, 1),
        "peak_gpu_gib": _peak_memory(),
        "wall_s_with_loading": round(wall, 1),
        "loss": report["train_loss"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("gpu-smoke"), help="scratch folder")
    parser.add_argument("--cpu", action="store_true", help="tiny checkpoint, float32, one process")
    parser.add_argument("--seconds", type=float, default=120.0, help="audio per row")
    parser.add_argument("--completion", type=int, default=128, help="GRPO max new tokens")
    a = parser.parse_args()

    import torch
    from accelerate import PartialState

    state = PartialState(cpu=a.cpu)
    if not a.cpu and not torch.cuda.is_available():
        parser.error("no CUDA device: run with --cpu for the wiring check")
    size = "tiny" if a.cpu else "mid"
    seconds = min(a.seconds, 4.0) if a.cpu else a.seconds
    work = a.work.resolve()
    checkpoint = work / f"checkpoint-{size}"
    with state.main_process_first():  # the other ranks reuse what the main one made
        if not (checkpoint / "model.safetensors").is_file():
            build_checkpoint(checkpoint, "musicflamingo", size)
        prompts = 8 * state.num_processes  # rows: enough for one step on every rank
        sft_data = _rows(work, prompts, seconds, grpo=False)
        grpo_data = _rows(work, prompts, seconds, grpo=True)
    common: dict[str, Any] = {
        "max_steps": 1,
        "gradient_accumulation_steps": 1,
        "save_strategy": "no",
        "logging_steps": 1,
        "dataloader_num_workers": 0,
    }
    if a.cpu:
        common |= {"bf16": False, "gradient_checkpointing": False, "optim": "adamw_torch"}
    completion = min(a.completion, 16) if a.cpu else a.completion
    results: dict[str, Any] = {
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "processes": state.num_processes,
        "distributed": str(state.distributed_type),
        "checkpoint": size,
        "parameters": _parameters(checkpoint),
        "audio_seconds": seconds,
    }
    sft_out = work / "sft"
    results["sft"] = _stage(
        "sft", "mf_sft.yaml", checkpoint, sft_data, sft_out,
        common | {"per_device_train_batch_size": 1}, state.num_processes,
    )  # fmt: skip
    results["grpo"] = _stage(
        "grpo", "grpo.yaml", sft_out, grpo_data, work / "grpo",
        common | {"per_device_train_batch_size": 5, "num_generations": 5,
                  "max_completion_length": completion},
        state.num_processes,
    )  # fmt: skip
    if state.is_main_process:
        text = json.dumps(results, indent=2)
        (work / "smoke.json").write_text(text)
        print(text, flush=True)


def _parameters(checkpoint: Path) -> int:
    """Parameters stored in the checkpoint (read from the safetensors header)."""
    from safetensors import safe_open

    total = 0
    for path in sorted(checkpoint.glob("*.safetensors")):
        with safe_open(path, "pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                total += int(np.prod(f.get_slice(key).get_shape()))
    return total


if __name__ == "__main__":
    main()
