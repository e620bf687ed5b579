"""MF-Skills stage 1 on our runtime: the tiny random Music Flamingo checkpoint captions each
30 s window of a real song, through `musicflamingo skills build` and a real LLM server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from musicflamingo import audio
from musicflamingo.llm.server import launch
from musicflamingo.skills.build import load_record

ROOT = Path(__file__).resolve().parents[2]
SONG = ROOT / "tests" / "data" / "fixtures" / "song06_waltz_fsm.ogg"


def test_skills_build_with_the_model_as_stage_one(checkpoints, tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    (songs / SONG.name).symlink_to(SONG)
    ckpt = str(checkpoints["musicflamingo"])
    with launch("rules", max_pending=8, wait_ready=True) as server:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "musicflamingo",
                "skills",
                "build",
                str(songs),
                str(tmp_path / "out"),
                "--llm-endpoint",
                server.url,
                "--audio-model",
                ckpt,
                "--lyrics-model",
                "none",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
    assert r.returncode == 0, r.stderr
    (record_file,) = (tmp_path / "out" / "songs").glob(f"{SONG.stem}-*.json")
    record = load_record(record_file)
    wins, _ = audio.windows(int(record.duration * audio.MODEL_SR))
    assert [s.index for s in record.segment_captions] == [w.index for w in wins]
    assert all(s.text for s in record.segment_captions)
    assert record.provenance.captioner == ckpt and "segment" in record.provenance.prompts
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["songs"]["ok"] == 1
