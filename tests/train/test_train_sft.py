"""SFT on TRL with our collator: the loss falls on a repeated batch, the final folder loads
in the runtime, LoRA merges and leaves the encoder alone, a killed run resumes."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import qa_row
from safetensors.torch import load_file

from musicflamingo.train.recipe import Recipe, load_recipe
from musicflamingo.train.run import train

FAST = {
    "per_device_train_batch_size": 4,
    "learning_rate": 3e-3,
    "lr_scheduler_type": "constant",
    "logging_steps": 1,
    "gradient_checkpointing": False,
    "save_strategy": "no",
    "dataloader_pin_memory": False,
}


@pytest.fixture(scope="module")
def data(clips, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "rows.json"
    path.write_text(json.dumps([qa_row(i, clips[i], f"tone number {i}") for i in range(4)]))
    return path


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def test_sft_loss_falls_on_a_repeated_batch(checkpoint, data, clips, tmp_path) -> None:
    recipe = Recipe(stage="sft", max_length=512, args=FAST | {"max_steps": 6})
    report = train(recipe, str(checkpoint), [str(data)], tmp_path / "out")
    losses = [h["loss"] for h in report["log_history"] if "loss" in h]
    assert len(losses) == 6 and all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0] - 0.3
    assert report["data_report"]["kept"] == 4 and report["global_step"] == 6
    assert list((tmp_path / "out").rglob("events.out.tfevents.*"))  # TensorBoard logs
    from musicflamingo.model import MusicFlamingo

    trained = MusicFlamingo.from_pretrained(tmp_path / "out")
    assert trained.ask(clips[0], "Which tone is this?", max_new_tokens=4).new_tokens > 0


def test_streamed_rows_train_and_bad_rows_are_counted(checkpoint, clips, tmp_path) -> None:
    rows = [qa_row(i, clips[i], f"tone number {i}") for i in range(3)]
    rows.append(qa_row(9, tmp_path / "missing.wav", "gone"))
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    recipe = Recipe(
        stage="sft",
        max_length=512,
        streaming=True,
        group_buffer=2,
        args=FAST | {"max_steps": 1, "per_device_train_batch_size": 2},
    )
    report = train(recipe, str(checkpoint), [str(tmp_path / "rows.jsonl")], tmp_path / "out")
    assert report["global_step"] == 1
    assert report["data_report"]["dropped"] == {"no_audio_file": 1}
    assert report["data_report"]["kept"] >= 2


def test_lora_merges_resumes_and_leaves_the_encoder_untouched(checkpoint, data, tmp_path) -> None:
    def recipe(steps: int) -> Recipe:
        return Recipe(
            stage="sft",
            max_length=512,
            freeze={"audio_encoder": True, "projector": False, "llm": True},
            lora={"r": 4, "alpha": 8, "dropout": 0.0},
            args=FAST | {"max_steps": steps, "save_strategy": "steps", "save_steps": 2},
        )

    train(recipe(2), str(checkpoint), [str(data)], tmp_path / "out")
    report = train(recipe(4), str(checkpoint), [str(data)], tmp_path / "out")  # resumes
    whole = train(recipe(4), str(checkpoint), [str(data)], tmp_path / "whole")
    assert report["resumed_from"].endswith("checkpoint-2")
    losses = [[h["loss"] for h in r["log_history"] if "loss" in h] for r in (report, whole)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-3)  # the adapter was restored
    assert report["trainable_parameters"]["audio_encoder"] == 0
    before, after = _weights(checkpoint), _weights(tmp_path / "out")
    assert before.keys() == after.keys()  # a plain checkpoint, no adapter names
    encoder = [k for k in before if k.startswith("audio_tower.")]
    assert encoder and all(torch.equal(before[k], after[k]) for k in encoder)
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"language_model", "multi_modal_projector"}
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").is_file()


def test_a_killed_run_resumes_from_its_last_checkpoint(checkpoint, data, tmp_path) -> None:
    recipe = tmp_path / "sft.yaml"
    recipe.write_text("stage: sft\nmax_length: 512\nargs: {}\n")
    load_recipe(recipe)  # valid
    out = tmp_path / "out"
    sets = {**FAST, "max_steps": 12, "save_strategy": "steps", "save_steps": 2}
    cmd = [sys.executable, "-m", "musicflamingo", "train", "sft", "--recipe", str(recipe),
           "--model", str(checkpoint), "--data", str(data), "--out", str(out)]  # fmt: skip
    for k, v in sets.items():
        cmd += ["--set", f"{k}={json.dumps(v)}"]
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    # the trainer writes a checkpoint's state last: once it is there, kill at once (a fixed
    # wait let a quiet machine finish the whole run first)
    while not (out / "checkpoint-2" / "trainer_state.json").is_file():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "train_report.json").exists()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "train_report.json").read_text())
    assert report["resumed_from"] and int(report["resumed_from"].rsplit("-", 1)[1]) >= 2
    assert report["global_step"] == 12
    steps = [h["step"] for h in report["log_history"] if "loss" in h]
    assert steps == list(range(1, 13))  # the checkpoint's history, then the rest once
    # the same run without the kill ends at the same loss (weights, optimizer, schedule restored)
    whole = train(
        Recipe(stage="sft", max_length=512, args=sets), str(checkpoint), [str(data)],
        tmp_path / "whole",
    )  # fmt: skip
    losses = [[h["loss"] for h in r["log_history"] if "loss" in h] for r in (report, whole)]
    assert losses[0][-1] == pytest.approx(losses[1][-1], rel=1e-3), losses


def test_cli_rejects_a_recipe_of_another_stage(checkpoint, data, tmp_path) -> None:
    recipe = tmp_path / "g.yaml"
    recipe.write_text("stage: grpo\n")
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "musicflamingo", "train", "sft", "--recipe", str(recipe),
           "--model", str(checkpoint), "--data", str(data), "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "is a 'grpo' recipe, not 'sft'" in done.stderr


KILL_AT_LAST_SAVE = """
import os, signal, sys
from pathlib import Path
from transformers import TrainerCallback
from musicflamingo.train.recipe import Recipe
from musicflamingo.train.run import train

class KillAfterLastSave(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:  # the checkpoint is on disk, the final save not
            os.kill(os.getpid(), signal.SIGKILL)

recipe = Recipe.model_validate_json(sys.argv[1])
kill = [KillAfterLastSave()] if sys.argv[5] == "kill" else []
train(recipe, sys.argv[2], [sys.argv[3]], Path(sys.argv[4]), callbacks=kill)
"""


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_a_run_killed_after_its_last_checkpoint_ends_at_max_steps(
    checkpoint, data, tmp_path, lora
) -> None:
    # 2 steps per epoch, 3 steps: the last checkpoint falls mid-epoch, where the Trainer
    # resumed at max_steps would take a 4th step
    sets = {**FAST, "per_device_train_batch_size": 2, "max_steps": 3}
    recipe = Recipe(
        stage="sft",
        max_length=512,
        lora={"r": 4, "alpha": 8, "dropout": 0.0} if lora else None,
        args=sets | {"save_strategy": "steps", "save_steps": 3},
    )
    out, whole_out = tmp_path / "out", tmp_path / "whole"

    def run(folder: Path, mode: str) -> subprocess.CompletedProcess:
        args = [recipe.model_dump_json(), str(checkpoint), str(data), str(folder), mode]
        return subprocess.run(
            [sys.executable, "-c", KILL_AT_LAST_SAVE, *args], capture_output=True, timeout=240
        )

    killed = run(out, "kill")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert (out / "checkpoint-3").is_dir() and not (out / "train_report.json").exists()
    report = train(recipe, str(checkpoint), [str(data)], out)
    # the uninterrupted run in a fresh process too: float sums depend on the thread count,
    # which earlier tests in this process may have changed (torch.set_num_threads)
    done = run(whole_out, "whole")
    assert done.returncode == 0, done.stderr[-2000:]
    whole = json.loads((whole_out / "train_report.json").read_text())
    assert report["resumed_from"].endswith("checkpoint-3")
    assert report["global_step"] == whole["global_step"] == 3
    steps = [h["step"] for h in report["log_history"] if "loss" in h]
    assert steps == [1, 2, 3]
    final, expected = _weights(out), _weights(whole_out)
    assert final.keys() == expected.keys()
    assert all(torch.allclose(final[k], expected[k], rtol=1e-5, atol=1e-7) for k in final)
