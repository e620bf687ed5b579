"""Whole evaluation runs with the tiny random checkpoint on real question records (and
made-up ones in the other public layouts) with rendered audio: outputs, coverage, scores,
lyrics error rates, the submission file, tables and chart; a run killed with SIGKILL and
resumed; the same items through an OpenAI-compatible endpoint with a judge and an extractor.

The tiny model writes random text, so these tests check structure, counts and agreement
with the official scorers, never accuracy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from benchdata import ROOT, add_layouts, add_unrun_layouts, make_data_root

from musicflamingo.bench import registry, results
from musicflamingo.bench.endpoint import EXTRACT_PROMPT_VERSION
from musicflamingo.bench.items import BenchItem
from musicflamingo.bench.lyrics import error_rates, strip_sheet_markup
from musicflamingo.bench.results import RunResults
from musicflamingo.bench.runner import default_out_dir, run
from musicflamingo.model.parsing import extract

sys.path.insert(0, str(ROOT / "scripts"))
from make_tiny_checkpoint import build_checkpoint, make_tokenizer  # noqa: E402

BENCHES = ["mmau", "muchomusic", "nsynth-family", "nsynth-source"]
N = 3  # records per benchmark; the last MMAU one has no audio
WITH_AUDIO = {"mmau": N - 1, "muchomusic": N, "nsynth-family": N, "nsynth-source": N}
TOKENS = 24
CAPTIONS = {"capA": "A calm solo piano piece.", "capB": "An upbeat folk tune with fiddle."}
LYRICS = {"Song_A": "hello darkness my old friend\nI've come to talk", "Song_B": "la la la"}
LAYOUTS = {"gtzan": 2, "medley-solos": 2, "jamendo-lyrics": len(LYRICS), "musdb-lyrics": 1}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("checkpoint") / "tiny-mf"
    return build_checkpoint(out, "musicflamingo", "tiny", tokenizer=make_tokenizer(4096))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, bench_dir: Path) -> tuple[Path, str]:
    """The data root and the one MMAU audio path left missing."""
    root = tmp_path_factory.mktemp("data")
    missing = make_data_root(root, bench_dir, N)
    add_layouts(root, CAPTIONS, LYRICS)
    return root, missing["mmau"]


@pytest.fixture(scope="module")
def direct(
    checkpoint: Path, data: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, RunResults]:
    out = tmp_path_factory.mktemp("runs") / "direct"
    names = [*BENCHES, *LAYOUTS, "mmau-test", "opencpop"]
    outcome = run(
        names, model=checkpoint, data_root=data[0], out_dir=out, batch_size=4,
        max_new_tokens=TOKENS, progress=False,
    )  # fmt: skip
    return out, outcome


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _by_name(outcome: RunResults) -> dict[str, results.BenchResult]:
    return {b.benchmark: b for b in outcome.benchmarks}


def test_outputs_coverage_and_official_scores(direct, data) -> None:
    out, outcome = direct
    root, missing = data
    found = _by_name(outcome)
    layouts = {k: v for k, v in LAYOUTS.items() if registry.get(k).metric == "accuracy"}
    for name, n in (WITH_AUDIO | layouts).items():
        rows = _rows(out / name / "outputs.jsonl")
        assert len(rows) == len({r["item_id"] for r in rows}) == n
        assert all(r["new_tokens"] <= TOKENS and r["seconds"] > 0 for r in rows)
        b = found[name]
        assert (b.n_items - b.n_missing_audio, b.errors) == (n, {})
        # the stored measure is exactly the official scorer applied to the stored outputs
        entry = registry.get(name)
        loaded = entry.load(root)
        scorer = entry.scorer(loaded)
        texts = {r["item_id"]: r["text"] for r in rows}
        scores = [scorer(i, texts[i.id], "raw") for i in loaded.items if i.id in texts]
        official, extracted = b.measures
        assert "official script" in official.extraction and "<answer>" in extracted.extraction
        answers = [scorer(i, texts[i.id], "answer") for i in loaded.items if i.id in texts]
        assert extracted.value == pytest.approx(100 * sum(s.correct for s in answers) / n, abs=0.01)
        assert official.n_scored == n and official.rule == scores[0].rule
        assert official.value == pytest.approx(100 * sum(s.correct for s in scores) / n, abs=0.01)
        unanswered = 100 * sum(not s.answered for s in scores) / n
        assert official.unanswered_rate == pytest.approx(unanswered, abs=0.01)
        assert len(_rows(out / name / "scores.jsonl")) == 2 * n  # raw, then extracted
    assert found["mmau"].missing_audio == [missing]
    assert (found["mmau"].n_items, found["medley-solos"].n_items) == (N, 2)  # training row out
    assert set(found["gtzan"].measures[0].breakdowns["category"]) == {"blues", "jazz"}
    opencpop = found["opencpop"]
    assert opencpop.measures == [] and "no folder" in opencpop.note
    assert opencpop.availability == "request-gated"


def test_lyrics_error_rates(direct) -> None:
    out, outcome = direct
    musdb = _by_name(outcome)["musdb-lyrics"]
    assert musdb.n_missing_audio == 0 and musdb.measures[0].n_scored == 1  # stem-folder audio
    lyrics = _by_name(outcome)["jamendo-lyrics"]
    assert lyrics.n_items == len(LYRICS)  # the German song is not in the English set
    rows = {r["item_id"]: r["text"] for r in _rows(out / "jamendo-lyrics" / "outputs.jsonl")}
    names = sorted(LYRICS)
    rates = error_rates([LYRICS[n] for n in names], [strip_sheet_markup(rows[n]) for n in names])
    (measure,) = lyrics.measures
    assert measure.rule == f"{rates.rule}+strip_sheet_markup"
    assert measure.value == pytest.approx(100 * rates.normalised, abs=0.01)
    assert measure.details["raw"] == pytest.approx(100 * rates.raw, abs=0.01)


def test_withheld_answers_give_a_submission_file(direct) -> None:
    out, outcome = direct
    test = _by_name(outcome)["mmau-test"]
    (measure,) = test.measures
    assert test.availability == "answers-withheld" and measure.value is None
    assert measure.details["predictions"] == 2
    rows = json.loads((out / "mmau-test" / "submission.json").read_text())
    texts = {r["item_id"]: r["text"] for r in _rows(out / "mmau-test" / "outputs.jsonl")}
    assert [r["id"] for r in rows] == list(texts) and all(len(r["choices"]) == 4 for r in rows)
    assert all(r["model_prediction"] == extract(texts[r["id"]]).text for r in rows)


def test_other_layouts_load(tmp_path) -> None:
    add_unrun_layouts(tmp_path)
    pro = registry.get("mmau-pro").load(tmp_path)  # closed, single-clip, music questions
    assert [i.id for i in pro.items] == ["p1"] and pro.missing_audio == []
    instruct = registry.get("music-instruct").load(tmp_path)  # AudioSet-eval items only
    assert [i.id for i in instruct.items] == ["y1-0", "y3-2"]
    assert instruct.missing_audio == ["audio/y3.wav"]
    cpop = registry.get("opencpop").load(tmp_path)
    assert [i.answer for i in cpop.items] == ["感受停在我发端的指尖", "如何瞬间"]
    assert cpop.missing_audio == ["wavs/2001000002.wav"]
    songs = registry.get("songcaps").load(tmp_path)
    assert [(i.id, i.answer) for i in songs.items] == [("album/one", "Slow ballad in A minor.")]
    prompt = registry.get("songcaps").prompt(songs.items[0])
    assert (prompt.task, prompt.question) == ("caption", None)
    note = BenchItem(
        id="n", benchmark="nsynth-family", audio="n.wav", question="Which?", answer="bass"
    )
    assert registry.get("nsynth-family").prompt(note).question == (
        "Which? Answer with one of: bass, brass, flute, guitar, keyboard, mallet, organ, reed, "
        "string, synth lead, vocal."
    )


def test_default_out_dir_and_selection() -> None:
    assert default_out_dir("nvidia/music-flamingo-hf", think=True) == Path(
        "musicflamingo-eval/music-flamingo-hf-think"
    )
    assert default_out_dir(endpoint="http://host:8000/v1").name == "http_host_8000_v1"
    names = [e.name for e in registry.select(["mmau", "all"])]
    assert names[0] == "mmau" and len(names) == len(set(names)) == len(registry.REGISTRY)
    with pytest.raises(ValueError, match="unknown benchmark"):
        registry.select(["mmau-music"])


def test_table_json_and_chart(direct) -> None:
    out, outcome = direct
    assert RunResults.model_validate_json((out / "results.json").read_text()) == outcome
    md = (out / "results.md").read_text()
    assert "| this run | Music Flamingo (paper) | best prior (paper) |" in md
    mmau_row = next(line for line in md.splitlines() if line.startswith("| mmau |"))
    assert f"| 76.35 | 74.47 (AF3) | {N - 1} / {N} | 1 |" in mmau_row
    assert "mmau-string-match" in mmau_row and "official script" in mmau_row
    assert "### nsynth-family by category" in md
    assert f"- {outcome.benchmarks[0].missing_audio[0]}" in md
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert results.report([out]) == md


def test_killed_run_resumes_without_recomputing(checkpoint, data, tmp_path) -> None:
    root, _ = data
    out = tmp_path / "killed"
    args = dict(model=str(checkpoint), data_root=str(root), out_dir=str(out), max_new_tokens=TOKENS)
    code = (
        "from musicflamingo.bench.runner import run\n"
        f"run({BENCHES!r}, batch_size=1, progress=False, **{args!r})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)

    def finished() -> int:  # complete lines only: the file may be mid-write
        files = [out / name / "outputs.jsonl" for name in BENCHES]
        return sum(f.read_bytes().count(b"\n") for f in files if f.is_file())

    deadline = time.monotonic() + 60
    while finished() < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    _, stderr = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    before = {}  # each file's complete lines at the kill
    for name in BENCHES:
        if (out / name / "outputs.jsonl").is_file():
            text = (out / name / "outputs.jsonl").read_text()
            before[name] = text[: text.rfind("\n") + 1]
    assert 2 <= sum(text.count("\n") for text in before.values()) < sum(WITH_AUDIO.values())
    first = next(iter(before))
    with open(out / first / "outputs.jsonl", "a") as f:
        f.write('{"item_id": "torn')  # a write cut short by the kill

    with pytest.raises(ValueError, match="made differently"):
        run(BENCHES, think=True, progress=False, **args)
    outcome = run(BENCHES, batch_size=4, progress=False, **args)
    for name, n in WITH_AUDIO.items():
        text = (out / name / "outputs.jsonl").read_text()
        assert text.startswith(before.get(name, ""))  # finished rows kept as they were
        ids = [r["item_id"] for r in _rows(out / name / "outputs.jsonl")]
        assert len(ids) == len(set(ids)) == n
        assert _by_name(outcome)[name].measures[0].n_scored == n


def test_endpoint_with_judge_and_extractor(checkpoint, data, direct, tmp_path) -> None:
    from mfserver import TinyChat, serve

    from musicflamingo.model import MusicFlamingo

    root, _ = data
    out = tmp_path / "endpoint"
    names = ["mmau", "muchomusic", "musiccaps"]
    with serve(TinyChat(MusicFlamingo.from_pretrained(checkpoint))) as url:
        kw = dict(endpoint=url, judge=url, extractor=url, data_root=root, out_dir=out,
                  batch_size=2, max_new_tokens=TOKENS, progress=False)  # fmt: skip
        outcome = run(names, **kw)
        judged = (out / "musiccaps" / "judgements.jsonl").read_text()
        assert run(names, **kw) == outcome  # resumed: nothing asked or judged again
    assert (out / "musiccaps" / "judgements.jsonl").read_text() == judged
    found = _by_name(outcome)
    for name in ("mmau", "muchomusic"):  # same prompts, same greedy model, over HTTP
        remote = {r["item_id"]: r["text"] for r in _rows(out / name / "outputs.jsonl")}
        local = {r["item_id"]: r["text"] for r in _rows(direct[0] / name / "outputs.jsonl")}
        assert remote == local
        official, _, extracted = found[name].measures
        label = f"llm-extractor: {TinyChat.model_id} ({EXTRACT_PROMPT_VERSION})"
        assert extracted.extraction == label
        assert extracted.n_scored == official.n_scored == len(local)
        assert len(_rows(out / name / "extractions.jsonl")) == len(local)
    caps = found["musiccaps"]
    assert caps.n_items == len(CAPTIONS)  # the training-split row is left out
    verdicts = _rows(out / "musiccaps" / "judgements.jsonl")
    spec = registry.get("musiccaps").judge
    assert {(v["judge_model"], v["prompt_version"]) for v in verdicts} == {
        (TinyChat.model_id, spec.version)
    }
    (measure,) = caps.measures
    assert TinyChat.model_id in measure.rule and spec.version in measure.rule
    assert measure.n_scored + measure.details["unreadable_verdicts"] == len(CAPTIONS)
    table = results.report([direct[0], out])
    assert "direct (" in table and "endpoint (" in table
    nsynth = next(line for line in table.splitlines() if line.startswith("| nsynth-family |"))
    assert "| – |" in nsynth  # not run by the endpoint


def test_cli_eval_and_report(checkpoint: Path, data: tuple[Path, str], tmp_path: Path) -> None:
    """`musicflamingo eval BENCH… --model … --data-root …`, then `eval report RUN RUN`."""
    import subprocess
    import sys

    root, _ = data
    runs = []
    for seed in (0, 1):
        out = tmp_path / f"run{seed}"
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "musicflamingo",
                "eval",
                "muchomusic",
                "--model",
                str(checkpoint),
                "--data-root",
                str(root),
                "--out",
                str(out),
                "--seed",
                str(seed),
                "--limit",
                "2",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert r.returncode == 0, r.stderr
        assert "muchomusic" in r.stdout.lower() and (out / "results.md").exists()
        runs.append(str(out))
    r = subprocess.run(
        [sys.executable, "-m", "musicflamingo", "eval", "report", *runs],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert all(Path(run).name in r.stdout for run in runs)


def test_a_bad_item_fails_alone_and_its_batch_is_asked_once(checkpoint, data, tmp_path) -> None:
    """The local runtime: audio that does not decode is that item's error; the rest of the
    batch goes to the model in one call (it used to be re-sent one item at a time)."""
    from musicflamingo.audio import AudioError
    from musicflamingo.bench.endpoint import Generation
    from musicflamingo.bench.runner import RuntimeBackend

    root, _ = data
    loaded = registry.get("muchomusic").load(root)
    prompts = [registry.get("muchomusic").prompt(i) for i in loaded.items[:2]]
    good = [loaded.audio_paths[i.id] for i in loaded.items[:2]]
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio\n" * 100)
    backend = RuntimeBackend(checkpoint, batch_size=4, max_new_tokens=TOKENS)
    calls = []
    generate = backend.mf.generate

    def counted(requests, **kw):
        calls.append(len(requests))
        return generate(requests, **kw)

    backend.mf.generate = counted
    got = backend.generate([(good[0], prompts[0]), (bad, prompts[1]), (good[1], prompts[1])])
    assert calls == [2]
    assert isinstance(got[0], Generation) and isinstance(got[2], Generation)
    assert isinstance(got[1], AudioError) and "notes.wav" in str(got[1])
