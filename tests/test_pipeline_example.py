"""The whole paper at toy scale: `examples/pipeline/run.py` in a child process (songs ->
`skills build` -> `think build` -> `train sft|cot|grpo` -> `eval` -> `ask` / `analyze
--model`), every stage's output checked from the files it wrote; a finished training stage
run again trains nothing more; and the CPU mode of `scripts/gpu_smoke_train.py`.

The child processes run one thread each (OMP_NUM_THREADS=1): the toy model gains nothing
from more, and on a shared, oversubscribed machine OpenMP's spin-waiting made the same
run several times slower. Budget: see examples/pipeline/README.md (measured CPU time)."""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from safetensors.torch import load_file

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "pipeline" / "run.py"
STEPS = {"sft": 4, "cot": 4, "grpo": 2}
ONE_THREAD = os.environ | {"OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("pipeline")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        capture_output=True, text=True, timeout=1800, env=ONE_THREAD,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "==> [10/10] analyze" in done.stdout  # progress a person sees
    return out, json.loads((out / "pipeline.json").read_text())


def _rows(folder: Path) -> list[dict]:
    return [r for p in sorted(folder.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_data_engines_write_rows_and_verified_traces(pipeline) -> None:
    out, summary = pipeline
    rows = _rows(out / "skills" / "data")
    manifest = json.loads((out / "skills" / "manifest.json").read_text())
    assert len(rows) == manifest["rows"]["total"] == summary["skills"]["rows"]
    tasks = [r["meta"]["task"] for r in rows]
    assert tasks.count("caption") == 2 and tasks.count("qa") >= 10  # two songs
    assert all(r["conversations"][0]["value"].startswith("<sound>\n") for r in rows)

    think = out / "think"
    cot = _rows(think / "cot_sft" / "data")
    kept = [json.loads(p.read_text()) for p in sorted(think.glob("items/*/*.json"))]
    kept = [r for r in kept if r["status"] == "ok"]
    assert len(cot) == len(kept) == summary["think"]["sets"]["cot_sft"] > 0
    for record in kept:  # every kept trace: steps checked against the facts, none wrong
        verdicts = [s["verdict"] for s in record["steps"]]
        assert "ok" in verdicts and "wrong" not in verdicts, record["item"]["id"]
    for row in cot:
        target = row["conversations"][1]["value"]
        assert re.fullmatch(r"<think>[^<]+</think><answer>[^<]+</answer>", target, re.S)
    assert all(r["answer"] for r in _rows(think / "grpo_qa" / "data"))
    assert len(_rows(think / "grpo_caption" / "data")) == 2


def test_three_training_stages_chain_with_checkpoints_and_logs(pipeline) -> None:
    out, _ = pipeline
    source = {"sft": out / "base", "cot": out / "sft", "grpo": out / "cot"}
    for stage, steps in STEPS.items():
        folder = out / stage
        report = json.loads((folder / "train_report.json").read_text())
        assert report["stage"] == stage and report["model"] == str(source[stage])
        assert report["global_step"] == steps and report["resumed_from"] is None
        losses = [h["loss"] for h in report["log_history"] if "loss" in h]
        assert len(losses) == steps and all(math.isfinite(x) for x in losses)
        checkpoints = {p.name for p in folder.glob("checkpoint-*")}
        assert checkpoints == {"checkpoint-2", f"checkpoint-{steps}"}
        assert list(folder.glob("runs/*/events.out.tfevents.*")), stage  # TensorBoard
        assert (folder / "model.safetensors").is_file(), stage
        assert (folder / "processor_config.json").is_file(), stage
    sft = json.loads((out / "sft" / "train_report.json").read_text())
    losses = [h["loss"] for h in sft["log_history"] if "loss" in h]
    assert losses[-1] < losses[0] - 0.05  # the toy SFT learns something
    base = load_file(out / "base" / "model.safetensors")
    trained = load_file(out / "sft" / "model.safetensors")
    assert base.keys() == trained.keys()
    assert any(not (base[k] == trained[k]).all() for k in base)
    grpo = json.loads((out / "grpo" / "train_report.json").read_text())
    logs = [h for h in grpo["log_history"] if "reward" in h]
    assert len(logs) == STEPS["grpo"]
    for h in logs:  # format and accuracy score every group (QA rows in each batch); a reward
        # whose rows a batch lacks (captions) is left out, never logged as None
        assert h["completions/mean_length"] > 0
        assert h["rewards/format_reward/mean"] is not None
        assert h["rewards/accuracy_reward/mean"] is not None
        assert all(v is not None for v in h.values())


def test_eval_scores_the_trained_model(pipeline) -> None:
    out, summary = pipeline
    results = json.loads((out / "eval" / "results.json").read_text())
    (bench,) = results["benchmarks"]
    assert bench["benchmark"] == "mmau" and bench["n_items"] == 3 and not bench["errors"]
    assert all(m["n_scored"] == 3 and 0 <= m["value"] <= 100 for m in bench["measures"])
    outputs = (out / "eval" / "mmau" / "outputs.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in outputs]
    assert len(rows) == 3 and all(r["text"].strip() and r["new_tokens"] > 0 for r in rows)
    assert json.loads((out / "eval" / "run.json").read_text())["model"] == str(out / "grpo")


def test_the_trained_folder_answers(pipeline) -> None:
    out, summary = pipeline
    asked = summary["ask"]
    assert re.match(r"\([A-C]\) (3/4|6/8|4/4)$|no option chosen$", asked["choice"])
    assert asked["said"].strip() and asked["from_pretrained_tokens"] > 0
    (folder,) = (out / "analyze").iterdir()
    model = json.loads((folder / "model.json").read_text())
    assert model["model"] == str(out / "grpo")
    assert {"caption", "key_facts", "ask"} <= {a["task"] for a in model["answers"]}
    assert "What the model hears" in (folder / "report.md").read_text()


def test_a_finished_stage_run_again_trains_nothing_more(pipeline) -> None:
    """Regression: resumed from its checkpoint at max_steps, the Trainer took one step
    past it (and rewrote the final model)."""
    out, summary = pipeline
    (command,) = [c for c in summary["commands"] if c.startswith("musicflamingo train sft")]
    report = out / "sft" / "train_report.json"
    before = report.read_text()
    args = shlex.split(command)[1:]
    done = subprocess.run(
        [sys.executable, "-m", "musicflamingo", *args],
        capture_output=True, text=True, timeout=300, env=ONE_THREAD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "already trained 4 steps" in done.stderr
    assert report.read_text() == before
    assert not (out / "sft" / "checkpoint-5").exists()


def test_gpu_smoke_script_runs_on_cpu(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "gpu_smoke_train.py"
    done = subprocess.run(
        [sys.executable, str(script), "--cpu", "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=ONE_THREAD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "smoke.json").read_text())
    assert result["device"] == "cpu" and result["checkpoint"] == "tiny"
    assert result["parameters"] > 100_000
    for stage in ("sft", "grpo"):
        r = result[stage]
        assert r["steps"] == 1 and r["step_s"] > 0 and r["tokens_per_s"] > 0
        assert r["tokens_per_step"] > 100 and r["peak_gpu_gib"] is None
        assert math.isfinite(r["loss"])
