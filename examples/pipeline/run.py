"""The whole Music Flamingo paper at toy scale, through the `musicflamingo` command line.

    python examples/pipeline/run.py [--out pipeline-out]

Songs (rendered fixtures) -> `skills build` -> `think build` -> `train sft` -> `train cot`
-> `train grpo` -> `eval` on a few MMAU-layout items -> `ask` and `analyze --model` with the
trained folder, which also loads in `MusicFlamingo.from_pretrained`. The text LLM of the
data engines is `musicflamingo serve-llm` on loopback (by default the deterministic rule
writer the tests use; `--llm embedded` for SmolLM2, or `--llm-endpoint URL` for your own);
the starting model is a tiny random checkpoint built here. Nothing reaches the network.

Every stage's output is checked (rows, verified steps, checkpoints and TensorBoard logs,
scores, answers) and the counts go to ``OUT/pipeline.json``. A stage that fails stops the
run with its name; each command is resumable, so running again into OUT continues.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "fixtures"
MMAU = ROOT / "tests" / "data" / "bench" / "mmau-test-mini.json"
RECIPES = ROOT / "recipes"
SONGS = ("song04_jig_em", "song09_nocturne_cm")  # the two shortest fixtures (45 s, 48 s)
QUESTION = "What is the meter of this piece?"
# Toy-scale overrides of the paper's recipes (recipes/*.yaml keep the paper's values).
COMMON = {
    "gradient_accumulation_steps": 1,
    "gradient_checkpointing": False,
    "logging_steps": 1,
    "save_strategy": "steps",
    "save_steps": 2,
    "dataloader_num_workers": 0,
    "dataloader_pin_memory": False,
}
SFT = COMMON | {"max_steps": 4, "per_device_train_batch_size": 2, "learning_rate": 3e-3}
COT = COMMON | {"max_steps": 4, "per_device_train_batch_size": 2, "learning_rate": 3e-3}
GRPO = COMMON | {
    "max_steps": 2,
    "num_generations": 5,  # the paper's group size
    "per_device_train_batch_size": 5,
    "max_completion_length": 24,
    "learning_rate": 1e-4,
}


STAGES = 10


class StageError(RuntimeError):
    """A stage whose command failed or whose output is not what it should be."""


def say(text: str) -> None:
    print(text, flush=True)


COMMANDS: list[str] = []  # every command run, as typed (saved in pipeline.json)


def musicflamingo(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    """``musicflamingo ARGS`` in a child process, shown as the command a user types; its
    progress goes to the terminal (``capture``: stdout and stderr are returned instead)."""
    COMMANDS.append("musicflamingo " + shlex.join(args))
    say("$ " + COMMANDS[-1])
    cmd = [sys.executable, "-m", "musicflamingo", *args]
    pipe = subprocess.PIPE if capture else None
    done = subprocess.run(cmd, stdout=pipe, stderr=pipe, text=True)
    if done.returncode != 0:
        tail = f": {done.stderr.strip()[-300:]}" if capture else ""
        raise StageError(f"`musicflamingo {args[0]}` exited with {done.returncode}{tail}")
    return done


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (user + system)."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def check(ok: bool, what: str) -> None:
    if not ok:
        raise StageError(what)


def sets(overrides: dict[str, Any]) -> list[str]:
    return [a for k, v in overrides.items() for a in ("--set", f"{k}={json.dumps(v)}")]


@contextmanager
def text_llm(spec: str, endpoint: str | None) -> Iterator[str]:
    """The data engines' text LLM: ``endpoint`` as given, else ``musicflamingo serve-llm
    --llm SPEC`` on a free loopback port for the duration."""
    if endpoint:
        yield endpoint
        return
    from musicflamingo.llm.server import launch

    say(f"$ musicflamingo serve-llm --llm {spec} --port <free port> &")
    with launch(spec, max_pending=8, wait_ready=True) as server:
        yield server.url


# --- stages ------------------------------------------------------------------------------------


def songs(out: Path, names: tuple[str, ...]) -> dict[str, Any]:
    folder = out / "songs"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / f"{name}.ogg", folder / f"{name}.ogg")
    return {"songs": len(names)}


def base_model(out: Path) -> dict[str, Any]:
    folder = out / "base"
    if not (folder / "config.json").is_file():
        script = ROOT / "scripts" / "make_tiny_checkpoint.py"
        say(f"$ python scripts/make_tiny_checkpoint.py {folder} --size tiny")
        subprocess.run([sys.executable, str(script), str(folder), "--size", "tiny"], check=True)
    check((folder / "model.safetensors").is_file(), f"{folder}: no weights written")
    return {"folder": str(folder)}


def skills(out: Path, url: str) -> dict[str, Any]:
    folder = out / "skills"
    musicflamingo(
        "skills", "build", str(out / "songs"), str(folder),
        "--llm-endpoint", url, "--lyrics-model", "none",
    )  # fmt: skip
    manifest = json.loads((folder / "manifest.json").read_text())
    rows = parquet_rows(folder / "data")
    check(manifest["songs"]["ok"] >= 1, "skills: no song was written")
    check(rows == manifest["rows"]["total"] > 0, f"skills: {rows} Parquet rows, manifest says "
          f"{manifest['rows']['total']}")  # fmt: skip
    return {"songs_ok": manifest["songs"]["ok"], "rows": rows, "by_task": manifest["rows"]}


def think(out: Path, url: str) -> dict[str, Any]:
    folder = out / "think"
    musicflamingo("think", "build", str(out / "skills"), str(folder), "--llm-endpoint", url)
    manifest = json.loads((folder / "manifest.json").read_text())
    counts = {name: parquet_rows(folder / name / "data") for name in SETS}
    check(all(counts.values()), f"think: an empty set: {counts}")
    kept = [
        json.loads(p.read_text())
        for p in sorted(folder.glob("items/*/*.json"))
        if json.loads(p.read_text())["status"] == "ok"
    ]
    verified = sum(sum(s["verdict"] == "ok" for s in r["steps"]) for r in kept)
    wrong = sum(sum(s["verdict"] == "wrong" for s in r["steps"]) for r in kept)
    check(len(kept) == counts["cot_sft"], f"think: {len(kept)} kept items, cot_sft rows {counts}")
    check(verified > 0, "think: no trace step was verified against the facts")
    return {
        "items": manifest["items"],
        "sets": counts,
        "kept_steps_verified": verified,
        "kept_steps_wrong": wrong,
    }


SETS = ("cot_sft", "grpo_qa", "grpo_caption")


def parquet_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(folder.glob("*.parquet")))


def train(out: Path, stage: str, recipe: str, model: Path, data: list[Path], overrides: dict):
    folder = out / stage
    args = ["train", stage, "--recipe", str(RECIPES / recipe), "--model", str(model)]
    for d in data:
        args += ["--data", str(d)]
    musicflamingo(*args, "--out", str(folder), *sets(overrides))
    report = json.loads((folder / "train_report.json").read_text())
    steps = overrides["max_steps"]
    losses = [h["loss"] for h in report["log_history"] if "loss" in h]
    checkpoints = sorted(p.name for p in folder.glob("checkpoint-*"))
    events = list(folder.rglob("events.out.tfevents.*"))
    check(report["global_step"] == steps, f"{stage}: {report['global_step']} steps, not {steps}")
    check(len(losses) == steps, f"{stage}: {len(losses)} logged losses for {steps} steps")
    check(f"checkpoint-{steps}" in checkpoints, f"{stage}: no checkpoint-{steps} in {folder}")
    check(bool(events), f"{stage}: no TensorBoard event file under {folder}")
    check((folder / "model.safetensors").is_file(), f"{stage}: no final model in {folder}")
    summary = {
        "steps": report["global_step"],
        "rows_kept": report["data_report"]["kept"],
        "losses": losses,
        "checkpoints": checkpoints,
        "tensorboard_files": len(events),
    }
    if stage == "grpo":
        rewards = [h["reward"] for h in report["log_history"] if "reward" in h]
        check(len(rewards) == steps, f"grpo: {len(rewards)} logged rewards for {steps} steps")
        summary["rewards"] = rewards
    return summary


def bench_root(out: Path, n: int) -> Path:
    """An MMAU-layout data root: the first ``n`` music records of the MMAU test-mini excerpt
    (tests/data/bench) with 10 s clips of the fixture songs as their audio."""
    import soundfile as sf

    root = out / "bench"
    records = [r for r in json.loads(MMAU.read_text()) if r["task"] == "music"][:n]
    fixtures = sorted(FIXTURES.glob("*.ogg"))
    for i, r in enumerate(records):
        samples, sr = sf.read(fixtures[i % len(fixtures)], frames=10 * 44_100, dtype="float32")
        path = root / "mmau" / r["audio_id"]
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, samples, sr)
    (root / "mmau" / "mmau-test-mini.json").write_text(json.dumps(records, indent=1))
    return root


def evaluate(out: Path, model: Path, n: int) -> dict[str, Any]:
    root = bench_root(out, n)
    folder = out / "eval"
    musicflamingo(
        "eval", "mmau", "--data-root", str(root), "--model", str(model), "--out", str(folder),
        "--batch-size", str(n),
    )  # fmt: skip
    results = json.loads((folder / "results.json").read_text())
    (bench,) = results["benchmarks"]
    outputs = (folder / "mmau" / "outputs.jsonl").read_text().splitlines()
    scores = (folder / "mmau" / "scores.jsonl").read_text().splitlines()
    measures = bench["measures"]  # the official rule, and on the <answer> part
    check(bench["n_items"] == n == len(outputs), f"eval: {len(outputs)} outputs for {n} items")
    check(len(scores) == n * len(measures), f"eval: {len(scores)} verdicts for {n} items")
    check(all(m["n_scored"] == n for m in measures), f"eval: not every item scored: {measures}")
    return {
        "items": bench["n_items"],
        "metric": bench["metric"],
        "values": {m["extraction"]: m["value"] for m in measures},
    }


def ask(out: Path, model: Path) -> dict[str, Any]:
    """A multiple-choice question through `musicflamingo ask` (the choice on stdout, the
    model's own words on stderr), and a short caption through the Python API."""
    song = out / "songs" / f"{SONGS[0]}.ogg"
    options = ["3/4", "6/8", "4/4"]
    args = ["ask", str(song), QUESTION, "--model", str(model)]
    done = musicflamingo(*args, *(a for o in options for a in ("--option", o)), capture=True)
    said = done.stderr.partition("model said:")[2].strip()
    say(f"    answer: {done.stdout.strip()}; model said: {said[:120]!r}")
    check(done.stdout.startswith(("(", "no option chosen")), f"ask: {done.stdout!r}")
    check(bool(said), f"ask: the model's answer text is empty: {done.stderr[-300:]!r}")

    from musicflamingo.model import MusicFlamingo

    loaded = MusicFlamingo.from_pretrained(model, device="cpu")
    caption = loaded.caption(song, max_new_tokens=16)
    check(caption.new_tokens > 0, "from_pretrained: the caption has no tokens")
    return {
        "choice": done.stdout.strip(),
        "said": said,
        "from_pretrained_tokens": caption.new_tokens,
    }


def analyze(out: Path, model: Path) -> dict[str, Any]:
    song = out / "songs" / f"{SONGS[0]}.ogg"
    musicflamingo(
        "analyze", str(song), "--model", str(model), "--out", str(out / "analyze"),
        "--lyrics-model", "none", "--ask", QUESTION,
    )  # fmt: skip
    (folder,) = (out / "analyze").iterdir()
    report = json.loads((folder / "model.json").read_text())
    check(len(report["answers"]) >= 3, f"analyze: {len(report['answers'])} answers")
    check("What the model hears" in (folder / "report.md").read_text(), "analyze: no model part")
    return {"folder": str(folder), "answers": [a["task"] for a in report["answers"]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("pipeline-out"))
    parser.add_argument(
        "--llm",
        default="musicflamingo.think.rulewriter:noisy",
        help="serve-llm --llm: the rule writer (default), embedded, module:factory",
    )
    parser.add_argument("--llm-endpoint", help="use this OpenAI-compatible text LLM instead")
    parser.add_argument("--eval-items", type=int, default=3)
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"out": str(out), "seconds": {}, "cpu_seconds": {}}
    started = time.monotonic()

    def stage(n: int, name: str, fn, *a) -> Any:  # noqa: ANN001
        say(f"\n==> [{n}/{STAGES}] {name}")
        t0, c0 = time.monotonic(), cpu_seconds()
        try:
            result = fn(*a)
        except StageError as e:
            say(f"pipeline: stage {name!r} failed: {e}")
            raise SystemExit(1) from None
        summary[name] = result
        summary["seconds"][name] = round(time.monotonic() - t0, 1)
        summary["cpu_seconds"][name] = round(cpu_seconds() - c0, 1)
        say(f"    {name}: {json.dumps(result)[:300]}")
        return result

    stage(1, "songs", songs, out, SONGS)
    stage(2, "base_model", base_model, out)
    with text_llm(args.llm, args.llm_endpoint) as url:
        stage(3, "skills", skills, out, url)
        stage(4, "think", think, out, url)
    think_out = out / "think"
    stage(5, "sft", train, out, "sft", "mf_sft.yaml", out / "base", [out / "skills" / "data"], SFT)
    stage(6, "cot", train, out, "cot", "cot_warmup.yaml", out / "sft",
          [think_out / "cot_sft" / "data"], COT)  # fmt: skip
    stage(7, "grpo", train, out, "grpo", "grpo.yaml", out / "cot",
          [think_out / "grpo_qa" / "data", think_out / "grpo_caption" / "data"], GRPO)  # fmt: skip
    stage(8, "eval", evaluate, out, out / "grpo", args.eval_items)
    stage(9, "ask", ask, out, out / "grpo")
    stage(10, "analyze", analyze, out, out / "grpo")
    summary["seconds"]["total"] = round(time.monotonic() - started, 1)
    summary["cpu_seconds"]["total"] = round(cpu_seconds(), 1)
    summary["commands"] = COMMANDS
    (out / "pipeline.json").write_text(json.dumps(summary, indent=2))
    total = summary["seconds"]["total"], summary["cpu_seconds"]["total"]
    say(f"\npipeline done in {total[0]:.0f} s ({total[1]:.0f} s CPU): {out / 'pipeline.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
