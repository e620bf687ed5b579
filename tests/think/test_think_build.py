"""`musicflamingo think build` end to end: an MF-Skills output of two fixtures (built by
`musicflamingo skills build`) through our LLM server process running the noisy think rule
writer, into the three sets; SIGKILL and resume; the folder lock; one-line errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from thinkdata import SONGS, cli

from musicflamingo.llm.server import free_port
from musicflamingo.skills.build import locked
from musicflamingo.think.stages import METADATA_KEYS

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "musicflamingo"]


@pytest.fixture(scope="module")
def built(skills_out, think_url) -> tuple[Path, subprocess.CompletedProcess]:
    out = skills_out.parent / "think"
    return out, cli("think", "build", str(skills_out), str(out), "--llm-endpoint", think_url)


def rows(out: Path, name: str) -> list[dict]:
    return json.loads((out / name / f"{name}.json").read_text())


def test_the_three_sets_are_built_with_reasons_for_every_drop(built):
    out, run = built
    assert run.returncode == 0, run.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    items = manifest["items"]
    assert items["chosen"] == items["ok"] + items["dropped"] + items["failed"] > 10
    assert items["caption"] == len(SONGS)
    assert {"rewritten", "too_many_wrong", "still_wrong"} <= set(manifest["notes"])
    assert manifest["usage"]["calls"] > items["chosen"]
    assert manifest["tokens_per_item"]["prompt"] > 0
    for path in (out / "items").glob("*/*.json"):
        record = json.loads(path.read_text())
        if record["status"] != "ok":
            assert record["notes"], path
    cot = rows(out, "cot_sft")
    assert len(cot) == items["ok"] == manifest["sets"]["cot_sft"]["rows"]
    for row in cot:
        human, gpt = row["conversations"]
        assert human["value"].startswith("<sound>\n") and "<think> </think>" in human["value"]
        assert re.fullmatch(r"<think>[^<]+</think><answer>[^<]+</answer>", gpt["value"], re.S)
    captions = rows(out, "grpo_caption")
    assert len(captions) == len(SONGS)
    assert all(list(r["metadata"]) == list(METADATA_KEYS) for r in captions)
    measured = {}
    for path in (out.parent / "skills" / "songs").glob("*.json"):
        facts = json.loads(path.read_text())["facts"]
        meter = facts["meter"]
        measured[path.stem] = (
            f"{facts['tempo']['bpm']:.0f}",
            f"{meter['numerator']}/{meter['denominator']}",
        )
    for r in captions:  # the noisy writer's wrong BPM is corrected to the measured one
        assert (r["metadata"]["BPM"], r["metadata"]["Meter"]) == measured[r["meta"]["song_id"]]
    assert manifest["notes"]["metadata_corrected"] >= 1
    qa = rows(out, "grpo_qa")
    assert qa and all(r["answer"] and r["answer_normalised"] for r in qa)


def test_the_sets_load_with_datasets(built):
    from datasets import load_dataset

    out, _ = built
    for name in ("cot_sft", "grpo_qa", "grpo_caption"):
        files = [str(p) for p in sorted((out / name / "data").glob("*.parquet"))]
        ds = load_dataset("parquet", data_files=files, split="train")
        assert ds.num_rows == len(rows(out, name))
        assert ds[0]["conversations"][0]["from"] == "human"


def test_stats_prints_the_tables(built):
    out, _ = built
    run = cli("think", "stats", str(out))
    assert run.returncode == 0, run.stderr
    assert "too_many_wrong" in run.stdout and "step verdicts" in run.stdout


def test_a_killed_build_resumes_without_loss_or_duplicates(built, skills_out, think_url):
    clean, _ = built
    out = skills_out.parent / "killed"
    proc = subprocess.Popen(
        [*CLI, "think", "build", str(skills_out), str(out), "--llm-endpoint", think_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("items/*/*.json"))) < 3:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists()  # killed mid-run
    assert list(out.glob("items/*/*.json"))
    run = cli("think", "build", str(skills_out), str(out), "--llm-endpoint", think_url)
    assert run.returncode == 0, run.stderr
    for name in ("cot_sft", "grpo_qa", "grpo_caption"):
        again, once = rows(out, name), rows(clean, name)
        assert len({r["id"] for r in again}) == len(again)
        assert again == once
    assert not list(out.rglob("*.tmp"))


def test_a_second_build_into_a_locked_folder_fails_at_once(skills_out, think_url, tmp_path):
    with locked(tmp_path):
        run = cli("think", "build", str(skills_out), str(tmp_path), "--llm-endpoint", think_url)
    assert run.returncode == 1
    assert run.stderr.strip().startswith("error:") and "another" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_dead_endpoint_or_a_bad_folder_is_one_line(skills_out, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    run = cli("think", "build", str(skills_out), str(tmp_path / "a"), "--llm-endpoint", dead)
    assert run.returncode == 1 and "unreachable" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    run = cli("think", "build", str(tmp_path), str(tmp_path / "b"))
    assert run.returncode == 1 and "not an MF-Skills output" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_the_training_loader_and_rewards_accept_the_sets(built):
    """The training issue's loader reads every set, and its rewards give full marks to a
    completion that writes the ground truth (the verified trace for a caption)."""
    data = pytest.importorskip("musicflamingo.train.data")
    rewards = pytest.importorskip("musicflamingo.train.rewards")
    out, _ = built
    loaded = {n: data.load_rows([out / n / "data"]) for n in ("cot_sft", "grpo_qa", "grpo_caption")}
    for ds in loaded.values():
        assert all(data.turns(row)[1] for row in ds)  # the audio is in the first turn
    qa = list(loaded["grpo_qa"])
    done = [f"<think>listening</think><answer>{r['answer']}</answer>" for r in qa]
    options = [r["options"] or None for r in qa]
    answers = [r["answer"] for r in qa]
    assert rewards.format_reward(done) == [1.0] * len(qa)
    assert rewards.accuracy_reward(done, answer=answers, options=options) == [1.0] * len(qa)
    targets = {r["id"]: r["conversations"][1]["value"] for r in loaded["cot_sft"]}
    captions = [r for r in loaded["grpo_caption"] if r["id"] in targets]
    assert captions
    scores = rewards.structured_thinking_reward(
        [targets[r["id"]] for r in captions], metadata=[r["metadata"] for r in captions]
    )
    assert scores == [1.0] * len(captions)


def test_true_text_in_other_wording_raises_no_false_alarm(skills_out):
    """The MF-Skills writer's captions and QA (true to the facts, its own wording) split
    into steps: none is called wrong, and some are checked."""
    from musicflamingo.skills.song import load_record
    from musicflamingo.think.verify import check_trace

    verdicts = []
    for path in (skills_out / "songs").glob("*.json"):
        r = load_record(path)
        texts = [r.caption.text, *(f"{q.question} {q.answer}. {q.rationale}" for q in r.qa)]
        verdicts += [(c.verdict, c.step) for t in texts for c in check_trace(t, r.facts)]
    assert [s for v, s in verdicts if v == "wrong"] == []
    assert sum(v == "ok" for v, _ in verdicts) >= 20
