"""The Ray executor on a real local Ray cluster: failed songs, --retry-failed and resume
behave as on the local executor, and both write the same dataset."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from scripted_llm import Script, reply, serve_app

from musicflamingo.facts.extract import FactsConfig
from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.skills.build import build
from musicflamingo.skills.song import load_record

ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[2]
SONGS = ["song01_pop_c.ogg", "song05_march_bb.ogg"]


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("raysongs")
    for name in SONGS:
        (folder / name).symlink_to(ROOT / "tests" / "data" / "fixtures" / name)
    (folder / "bad.mp3").write_bytes(os.urandom(20_000))
    return folder


def stamps(out: Path) -> dict[str, tuple[bytes, int]]:
    """Each per-song file's bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "songs").glob("*")}


def test_ray_fails_retries_and_resumes_like_local_and_writes_the_same_rows(
    songs, tmp_path, rules_url
):
    config = FactsConfig(lyrics_model=None, threads=1)
    rules = OpenAIClient(rules_url)
    out = tmp_path / "ray"
    on_ray = dict(executor="ray", workers=2, facts_config=config)
    try:
        with serve_app(Script([reply("Sorry, no JSON today.")] * 100).app) as junk_url:
            failed = build(songs, out, llm=OpenAIClient(junk_url), **on_ray)
        assert ray.is_initialized() and ray.cluster_resources()["CPU"] == 2
        assert failed["songs"] == {"total": 3, "ok": 0, "failed": 2, "errors": 1}
        assert {Path(f["song"]).name for f in failed["failures"]} == {*SONGS, "bad.mp3"}
        at_fail = stamps(out)
        assert len(at_fail) == 2 and failed["executor"] == "ray"

        kept = build(songs, out, llm=rules, **on_ray)  # failed songs stay failed
        assert kept["songs"] == failed["songs"] and stamps(out) == at_fail

        retried = build(songs, out, llm=rules, retry_failed=True, **on_ray)
        assert retried["songs"] == {"total": 3, "ok": 2, "failed": 0, "errors": 1}
        done = stamps(out)
        assert sorted(done) == sorted(at_fail) and all(done[k] != at_fail[k] for k in done)

        again = build(songs, out, llm=rules, **on_ray)  # resumed: finished files untouched
        assert stamps(out) == done and again["rows"] == retried["rows"]
    finally:
        ray.shutdown()
    local = build(songs, tmp_path / "local", llm=rules, executor="local", facts_config=config)
    assert local["songs"] == retried["songs"] and local["rows"] == retried["rows"]
    assert sorted(stamps(tmp_path / "local")) == sorted(done)  # the same ids
    for name in done:
        a = load_record(out / "songs" / name)
        b = load_record(tmp_path / "local" / "songs" / name)
        assert a.caption == b.caption and a.qa == b.qa and a.facts.key == b.facts.key
    rows = json.loads((out / "skills.json").read_text())
    assert len(rows) == retried["rows"]["total"] > 0
