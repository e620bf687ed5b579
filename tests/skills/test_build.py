"""End to end through the real server: a build killed mid-run restarts without losing or
duplicating a song, and its rows load with `datasets`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datasets import load_dataset
from scripted_llm import Script, reply, serve_app

from musicflamingo.facts.extract import FactsConfig
from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.skills.build import build
from musicflamingo.skills.manifest import write_dataset
from musicflamingo.skills.song import load_record
from musicflamingo.skills.stats import stats

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "fixtures"
SONGS = [
    ROOT / "examples" / "demo" / "demo.mp3",
    ROOT / "tests" / "data" / "fixtures" / "song03_waltz_g.ogg",
    ROOT / "tests" / "data" / "fixtures" / "song04_jig_em.ogg",
]
DRIVER = """
import sys
from musicflamingo.facts.extract import FactsConfig
from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.skills.build import build
from musicflamingo.skills.captioner import EndpointCaptioner

url, songs, out, workers = sys.argv[1:]
client = OpenAIClient(url)
build(songs, out, llm=client, captioner=EndpointCaptioner(client), workers=int(workers),
      facts_config=FactsConfig(threads=1), rows_per_shard=25, prices=(0.1, 0.4))
"""


def run_build(url: str, songs: Path, out: Path, workers: int, stderr=None) -> subprocess.Popen:
    cmd = [sys.executable, "-c", DRIVER, url, str(songs), str(out), str(workers)]
    return subprocess.Popen(cmd, start_new_session=True, stderr=stderr or subprocess.DEVNULL)


def stamps(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("*.json")}


@pytest.fixture(scope="module")
def built(tmp_path_factory, rules_url):
    """Start a build, SIGKILL it (and its workers) once the first song is written, then
    start two builds into the same folder at once: one finishes the job, the other finds
    the folder locked and stops. Returns the output folder and the files seen at the kill."""
    tmp = tmp_path_factory.mktemp("skills")
    songs, out = tmp / "songs", tmp / "out"
    songs.mkdir()
    for s in SONGS:
        (songs / s.name).symlink_to(s)
    first = run_build(rules_url, songs, out, workers=1)
    deadline = time.monotonic() + 120
    while not list((out / "songs").glob("*.json")) and time.monotonic() < deadline:
        assert first.poll() is None, "the build ended before it could be killed"
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    at_kill = stamps(out / "songs")
    assert 1 <= len(at_kill) < len(SONGS) and not (out / "manifest.json").exists()
    foreign = out / "songs" / ".x.json.live-writer.tmp"  # another writer's temporary file
    foreign.write_text("mid-write")
    logs = [tmp / "second.err", tmp / "third.err"]
    with logs[0].open("wb") as e2, logs[1].open("wb") as e3:
        racers = [run_build(rules_url, songs, out, 2, e2), run_build(rules_url, songs, out, 2, e3)]
        codes = [p.wait(timeout=240) for p in racers]
    assert sorted(codes) == [0, 1], [p.read_text()[-2000:] for p in logs]
    loser = logs[codes.index(1)].read_text()
    assert "BuildLocked" in loser and "another build (skills or think) is writing" in loser
    assert foreign.read_text() == "mid-write"  # never deleted: its owner may be alive
    return out, at_kill


def test_restart_loses_and_duplicates_nothing(built):
    out, at_kill = built
    files = {p.name: p for p in (out / "songs").glob("*.json")}
    assert sorted(name.rsplit("-", 1)[0] for name in files) == sorted(s.stem for s in SONGS)
    for name, (data, mtime) in at_kill.items():  # finished songs were not redone
        assert files[name].read_bytes() == data and files[name].stat().st_mtime_ns == mtime
    rows = json.loads((out / "skills.json").read_text())
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    records = [load_record(p) for p in files.values()]
    assert all(r.status == "ok" for r in records)
    assert len(rows) == sum((r.caption is not None) + len(r.qa) for r in records)


def test_rows_follow_the_audio_flamingo_layout_and_load_with_datasets(built):
    out, _ = built
    rows = json.loads((out / "skills.json").read_text())
    shards = sorted(str(p) for p in (out / "data").glob("*.parquet"))
    assert len(shards) == -(-len(rows) // 25)
    ds = load_dataset("parquet", data_files=shards, split="train")
    assert ds.num_rows == len(rows)
    assert set(ds.column_names) == {"id", "sound", "duration", "conversations", "meta"}
    assert sorted(ds["id"]) == sorted(r["id"] for r in rows)
    row = ds[0]
    human, gpt = row["conversations"]
    assert (human["from"], gpt["from"]) == ("human", "gpt")
    assert human["value"].startswith("<sound>\n") and gpt["value"]
    assert Path(row["sound"]).is_file() and row["duration"] > 30
    mcq = next(r for r in rows if r["meta"]["qa_type"] == "mcq")
    assert "(A) " in mcq["conversations"][0]["value"]
    assert mcq["conversations"][1]["value"].startswith("(")


def test_segment_captions_facts_and_lyrics_reach_the_records(built):
    out, _ = built
    (demo_file,) = (out / "songs").glob("demo-*.json")
    demo = load_record(demo_file)
    assert [round(s.start) for s in demo.segment_captions] == [0, 30, 60, 90]
    assert all("dBFS" in s.text for s in demo.segment_captions)  # heard through HTTP audio
    assert demo.facts.lyrics is not None and demo.caption is not None
    assert '"' in demo.caption.aspects["lyrics_themes"]  # quoted lyrics passed the check
    p = demo.provenance
    assert p.llm == p.captioner == "rules-v1"
    assert set(p.prompts) == {"segment", "caption", "qa"}
    assert p.usage.calls == 2 and p.usage.completion_tokens > 500


def test_manifest_counts_drops_tokens_and_versions(built):
    out, _ = built
    m = json.loads((out / "manifest.json").read_text())
    rows = json.loads((out / "skills.json").read_text())
    assert m["songs"] == {"total": 3, "ok": 3, "failed": 0, "errors": 0}
    assert m["rows"]["total"] == len(rows) == m["rows"]["caption"] + m["rows"]["qa"]
    assert sum(m["qa_types"].values()) == sum(m["qa_skills"].values()) == m["rows"]["qa"]
    assert m["models"]["llm"] == ["rules-v1"]
    assert {p.split("#")[0] for p in m["prompts"]} == {
        "caption=caption_v1",
        "qa=qa_v1",
        "segment=segment_v1",
    }
    total = m["usage"]["total"]
    assert total["calls"] == 6 and m["usage"]["by_model"]["rules-v1"] == total
    expected = (total["prompt_tokens"] * 0.1 + total["completion_tokens"] * 0.4) / 1e6
    assert m["cost_usd"] == round(expected, 4)
    assert isinstance(m["drops"], dict) and m["failures"] == []


def test_stats_tables_and_plots(built):
    out, _ = built
    data = stats(out)
    assert data["songs"] == {"total": 3, "ok": 3, "failed": 0}
    assert data["coverage"]["tempo"] == 3 and data["coverage"]["lyrics"] >= 1
    assert sum(data["qa_types"].values()) > 36
    names = sorted(Path(p).name for p in data["plots"])
    assert names == [
        "caption_words.png",
        "drop_reasons.png",
        "qa_mix.png",
        "tempo_key_coverage.png",
    ]
    assert all(Path(p).stat().st_size > 5000 for p in data["plots"])


def test_a_second_build_into_a_held_folder_stops_at_once_with_one_line(tmp_path, rules_url):
    from filelock import FileLock

    songs, out = tmp_path / "songs", tmp_path / "out"
    songs.mkdir()
    (songs / "waltz.ogg").symlink_to(FIXTURES / "song03_waltz_g.ogg")
    cmd = [sys.executable, "-m", "musicflamingo", "skills", "build", str(songs), str(out)]
    cmd += ["--llm-endpoint", rules_url, "--lyrics-model", "none"]
    with FileLock(out / ".lock", timeout=0):  # held by this process, as a live build holds it
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 1
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert (
        len(lines) == 1
        and lines[0].startswith("error:")
        and "another build (skills or think)" in lines[0]
    )
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing measured or written


def test_failed_songs_are_kept_until_retried_and_names_that_slug_alike_stay_apart(
    tmp_path, rules_url
):
    """`a b.ogg` and `a_b.ogg` once shared a record file: one song was lost and the
    other's rows appeared twice. A record of another song is redone, not trusted."""
    songs, out = tmp_path / "songs", tmp_path / "out"
    songs.mkdir()
    waltz, march = FIXTURES / "song03_waltz_g.ogg", FIXTURES / "song05_march_bb.ogg"
    (songs / "a b.ogg").symlink_to(waltz)
    (songs / "a_b.ogg").symlink_to(march)
    (songs / "bad.mp3").write_bytes(os.urandom(20_000))
    config = FactsConfig(lyrics_model=None, threads=1)
    script = Script([reply("Sorry, no JSON today.")] * 100)
    with serve_app(script.app) as junk_url:
        first = build(songs, out, llm=OpenAIClient(junk_url), facts_config=config)
    assert first["songs"] == {"total": 3, "ok": 0, "failed": 2, "errors": 1}
    assert first["rows"]["total"] == 0 and not json.loads((out / "skills.json").read_text())
    files = {Path(load_record(p).path): p for p in (out / "songs").glob("*.json")}
    assert sorted(files) == [waltz, march]  # two songs, two files
    for f in files.values():
        record = load_record(f)
        assert record.status == "failed" and "no valid JSON" in record.failure
    failures = {Path(f["song"]).name for f in first["failures"]}
    assert failures == {"song03_waltz_g.ogg", "song05_march_bb.ogg", "bad.mp3"}

    rules = OpenAIClient(rules_url)
    before = stamps(out / "songs")
    kept = build(songs, out, llm=rules, facts_config=config)  # failed songs are not redone
    assert kept["songs"] == first["songs"] and stamps(out / "songs") == before

    retried = build(songs, out, llm=rules, facts_config=config, retry_failed=True)
    assert retried["songs"] == {"total": 3, "ok": 2, "failed": 0, "errors": 1}
    rows = json.loads((out / "skills.json").read_text())
    assert len({r["id"] for r in rows}) == len(rows) == retried["rows"]["total"]
    assert {r["sound"] for r in rows} == {str(waltz), str(march)}
    assert {r["meta"]["llm"] for r in rows} == {"rules-v1"}

    files[march].write_bytes(files[waltz].read_bytes())  # the waltz's record in march's place
    waltz_stamp = stamps(out / "songs")[files[waltz].name]
    redone = build(songs, out, llm=rules, facts_config=config)
    assert redone["songs"] == retried["songs"] and redone["rows"] == retried["rows"]
    assert load_record(files[march]).path == str(march)
    assert stamps(out / "songs")[files[waltz].name] == waltz_stamp


def test_dataset_files_leave_other_writers_temporary_files_alone(tmp_path, record):
    """The final write once used one fixed `.tmp` name per file and deleted every shard
    first: a concurrent writer's temporary file was renamed away or removed."""
    (tmp_path / "data").mkdir()
    theirs = {
        tmp_path / "skills.json.tmp": "theirs",
        tmp_path / "manifest.json.tmp": "theirs",
        tmp_path / "data" / ".train-00000-of-00001.parquet.123.tmp": "theirs",
    }
    for path, text in theirs.items():
        path.write_text(text)
    stale = tmp_path / "data" / "train-00000-of-00003.parquet"  # a larger earlier build's
    stale.write_bytes(b"old")
    m = write_dataset([record], tmp_path, {}, "local", rows_per_shard=1000, prices=None)
    assert all(p.read_text() == text for p, text in theirs.items())
    assert sorted(p.name for p in (tmp_path / "data").glob("*.parquet")) == [
        "train-00000-of-00001.parquet"
    ]
    rows = json.loads((tmp_path / "skills.json").read_text())
    assert len(rows) == m["rows"]["total"] == 1 + len(record.qa)
