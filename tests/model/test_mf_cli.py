"""`musicflamingo analyze --model` and `musicflamingo ask` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import soundfile as sf
from mfdata import synth

from musicflamingo.inputs import song_name

ROOT = Path(__file__).resolve().parents[2]
SONG = ROOT / "tests" / "data" / "fixtures" / "song03_waltz_g.ogg"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "musicflamingo", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


def test_analyze_with_a_model_adds_its_section_and_fact_check(checkpoints, tmp_path):
    r = cli(
        "analyze",
        str(SONG),
        "--out",
        str(tmp_path),
        "--lyrics-model",
        "none",
        "--model",
        str(checkpoints["musicflamingo"]),
        "--ask",
        "What is the meter?",
        "--grounded",
        "--format",
        "json",
    )
    assert r.returncode == 0, r.stderr
    combined = json.loads(r.stdout)
    assert combined["facts"]["meter"]["numerator"] == 3
    tasks = [a["task"] for a in combined["model"]["answers"]]
    assert tasks == ["caption", "key_facts", "ask"]
    assert combined["model"]["answers"][2]["grounded"] is True
    folder = tmp_path / song_name(SONG, None)
    report = (folder / "report.md").read_text()
    assert report.index("## Sections") < report.index("## What the model hears")
    assert json.loads((folder / "model.json").read_text())["model"] == str(
        checkpoints["musicflamingo"]
    )


def test_ask_multiple_choice_and_bad_checkpoint(checkpoints, tmp_path):
    r = cli(
        "ask",
        str(SONG),
        "Which instrument leads?",
        "--model",
        str(checkpoints["musicflamingo"]),
        "--option",
        "piano",
        "--option",
        "violin",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() in ("(A) piano", "(B) violin", "no option chosen")
    (tmp_path / "config.json").write_text("{}")
    bad = cli("ask", str(SONG), "q", "--model", str(tmp_path))
    assert bad.returncode == 1
    lines = [x for x in bad.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")


def test_rerun_on_finished_songs_rebuilds_the_report_from_its_records(checkpoints, tmp_path):
    """A second `analyze DIR --model` on finished songs once appended a second model
    section to report.md; the report is now rebuilt from facts.json and model.json."""
    songs, out = tmp_path / "songs", tmp_path / "out"
    songs.mkdir()
    sf.write(songs / "clip.wav", synth(12.0, seed=1).samples, 16000)
    args = ["analyze", str(songs), "--out", str(out), "--lyrics-model", "none"]
    model = ["--model", str(checkpoints["musicflamingo"])]
    for _ in range(2):
        r = cli(*args, *model)
        assert r.returncode == 0, r.stderr
    assert "0 analyzed, 1 already done" in r.stderr
    (folder,) = out.glob("clip*")
    report = (folder / "report.md").read_text()
    assert report.count("## What the model hears") == 1 and report.count("\n# clip.wav") == 0
    assert report.startswith("# clip.wav") and report.index("## Sections") < report.index(
        "## What the model hears"
    )
    listened = json.loads((folder / "model.json").read_text())
    assert listened["answers"][0]["answer"].strip() in report
    # without --model the facts stand; a redo (--force) drops the stale model section
    assert cli(*args, "--force").returncode == 0
    assert "What the model hears" not in (folder / "report.md").read_text()
    assert not (folder / "model.json").exists()
