"""Our own clients against `musicflamingo serve`, unchanged: the evaluation runner
(`eval run --endpoint`, with the server also as the answer extractor) gives the same
outputs as the runtime run directly, and the data engine (`skills build --audio-endpoint`)
takes its stage-1 captions from the server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mfapi import ROOT, SONG, clip, tiny_checkpoint

from musicflamingo import audio
from musicflamingo.llm.server import launch as launch_llm
from musicflamingo.serve.app import launch

sys.path.insert(0, str(ROOT / "tests" / "bench"))
from benchdata import make_data_root  # noqa: E402

BENCHES = ["mmau", "muchomusic"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_checkpoint(tmp_path_factory)


@pytest.fixture(scope="module")
def server(ckpt: Path):
    with launch(str(ckpt)) as s:
        yield s


def _cli(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "musicflamingo", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)


def _texts(folder: Path) -> dict[str, str]:
    rows = (json.loads(x) for x in (folder / "outputs.jsonl").read_text().splitlines())
    return {r["item_id"]: r["text"] for r in rows}


def test_eval_endpoint_matches_the_direct_run(server, ckpt, tmp_path) -> None:
    from musicflamingo.bench.runner import run

    root = tmp_path / "data"
    make_data_root(root, ROOT / "tests" / "data" / "bench", 3)
    run(BENCHES, model=ckpt, data_root=root, out_dir=tmp_path / "direct", batch_size=4,
        progress=False)  # fmt: skip
    url = server.url + "/v1"
    out = tmp_path / "endpoint"
    r = _cli("eval", "run", *BENCHES, "--data-root", str(root), "--endpoint", url,
             "--extractor", url, "--out", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert [b["benchmark"] for b in results["benchmarks"]] == BENCHES
    for name in BENCHES:
        remote, local = _texts(out / name), _texts(tmp_path / "direct" / name)
        assert remote == local and len(remote) >= 2  # same prompts, same greedy model
        bench = next(b for b in results["benchmarks"] if b["benchmark"] == name)
        assert bench["errors"] == {}
        assert any("llm-extractor" in m["extraction"] for m in bench["measures"])


def test_skills_build_takes_stage_one_captions_from_the_server(server, ckpt, tmp_path) -> None:
    from musicflamingo.skills.build import load_record

    songs = tmp_path / "songs"
    songs.mkdir()
    clip(songs, SONG, 35.0)  # two 30 s windows
    before = httpx.get(server.url + "/healthz").json()["batches"]["requests"]
    with launch_llm("rules", max_pending=8, wait_ready=True) as rules:
        r = _cli("skills", "build", str(songs), str(tmp_path / "out"), "--llm-endpoint", rules.url,
                 "--audio-endpoint", server.url + "/v1", "--lyrics-model", "none")  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    (record_file,) = (tmp_path / "out" / "songs").glob("*.json")
    record = load_record(record_file)
    wins, _ = audio.windows(int(record.duration * audio.MODEL_SR))
    assert [s.index for s in record.segment_captions] == [w.index for w in wins]
    assert len(wins) == 2 and all(s.text for s in record.segment_captions)
    served = httpx.get(server.url + "/healthz").json()["batches"]["requests"] - before
    assert served == len(wins)
    assert record.provenance.captioner == str(ckpt)  # the id the server lists
