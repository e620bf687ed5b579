"""The `musicflamingo analyze` command as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from media import encode, tone

from musicflamingo.facts.schema import SongFacts
from musicflamingo.inputs import output_folder, song_name

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "fixtures"


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "musicflamingo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def fixture(name: str) -> Path:
    return FIXTURES / f"{name}.ogg"


def first_fixtures(n: int) -> list[Path]:
    return sorted(FIXTURES.glob("song*.ogg"))[:n]


def test_single_song_writes_facts_report_and_plots(tmp_path):
    song = first_fixtures(1)[0]
    r = cli("analyze", str(song), "--out", str(tmp_path), "--lyrics-model", "none")
    assert r.returncode == 0, r.stderr
    (folder,) = tmp_path.glob(f"{song.stem}-????????")  # readable name + hash of the path
    facts = SongFacts.from_json((folder / "facts.json").read_text())
    assert facts.tempo is not None and facts.key is not None and facts.chords
    report = (folder / "report.md").read_text()
    assert "| Tempo |" in report and "## Sections" in report and "chords.png" in report
    for png in ("chords.png", "loudness.png", "tempo.png"):
        assert (folder / png).read_bytes()[:4] == b"\x89PNG"
    assert "Tempo" in r.stdout


def test_json_format_prints_the_facts(tmp_path):
    song = first_fixtures(1)[0]
    r = cli(
        "analyze", str(song), "--out", str(tmp_path), "--format", "json", "--lyrics-model", "none"
    )
    assert r.returncode == 0, r.stderr
    facts = SongFacts.from_json(r.stdout)
    assert facts.duration > 10 and facts.source.path == str(song)


def test_bad_single_file_is_one_line_and_nonzero(tmp_path):
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"ID3" + bytes(range(256)) * 40)
    r = cli("analyze", str(bad), "--out", str(tmp_path / "out"), "--lyrics-model", "none")
    assert r.returncode == 1
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and lines[0].startswith("error:")
    assert not list(tmp_path.rglob("facts.json"))


def _batch_folder(tmp_path: Path) -> Path:
    songs = tmp_path / "songs"
    (songs / "sub").mkdir(parents=True)
    for p in first_fixtures(2):
        shutil.copy(p, songs / p.name)
    encode(songs / "sub" / "tone.m4a", tone(12.0, 44_100, 2), 44_100, "aac", "mp4")
    (songs / "corrupt.mp3").write_bytes(os.urandom(20_000))
    (songs / "empty.wav").write_bytes(b"")
    (songs / "dangling.flac").symlink_to(songs / "nowhere.flac")
    (songs / "notes.txt").write_text("not audio, not picked up from a folder")
    sf.write(songs / "silence.wav", np.zeros(16_000 * 5, np.float32), 16_000)
    return songs


def test_batch_completes_the_rest_and_lists_failures_then_resumes(tmp_path):
    songs = _batch_folder(tmp_path)
    out = tmp_path / "out"
    r = cli("analyze", str(songs), "--out", str(out), "--lyrics-model", "none", "--workers", "2")
    assert r.returncode == 1
    summary = json.loads((out / "summary.json").read_text())
    failed = {Path(f["path"]).name: f["reason"] for f in summary["failed"]}
    assert set(failed) == {"corrupt.mp3", "empty.wav", "dangling.flac"}
    assert "empty file" in failed["empty.wav"] and "broken symbolic link" in failed["dangling.flac"]
    assert len(summary["done"]) == 4  # two fixtures, the m4a in a subfolder, the silence
    (tone_facts,) = out.glob("sub__tone-*/facts.json")
    (silence_facts,) = out.glob("silence-*/facts.json")
    silent = SongFacts.from_json(silence_facts.read_text())
    assert silent.key is None and "silence" in silent.undetected["chords"]
    stamp = tone_facts.stat().st_mtime_ns
    again = cli(
        "analyze", str(songs), "--out", str(out), "--lyrics-model", "none", "--format", "json"
    )
    listing = json.loads(again.stdout)
    assert len(listing["skipped"]) == 4 and listing["done"] == [] and len(listing["failed"]) == 3
    assert tone_facts.stat().st_mtime_ns == stamp


def test_killed_batch_resumes_without_redoing_finished_songs(tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    for p in first_fixtures(4):
        shutil.copy(p, songs / p.name)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "musicflamingo",
            "analyze",
            str(songs),
            "--out",
            str(out),
            "--lyrics-model",
            "none",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline and len(list(out.glob("*/facts.json"))) < 1:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/facts.json")}
    assert 1 <= len(finished) < 4
    r = cli("analyze", str(songs), "--out", str(out), "--lyrics-model", "none", "--format", "json")
    assert r.returncode == 0, r.stderr
    listing = json.loads(r.stdout)
    assert len(listing["skipped"]) == len(finished) and len(listing["done"]) == 4 - len(finished)
    for name, stamp in finished.items():
        assert (out / name / "facts.json").stat().st_mtime_ns == stamp
    for p in out.glob("*/facts.json"):
        SongFacts.from_json(p.read_text())


def test_songs_whose_names_slug_alike_get_their_own_folders_and_resume_checks_owner(tmp_path):
    """`a b.wav`/`a_b.wav` and `good.wav`/`good.mp3` once shared one folder: one song's
    facts overwrote the other's and a rerun called both done."""
    songs, out = tmp_path / "songs", tmp_path / "out"
    songs.mkdir()
    lengths = {"a b.wav": 3.0, "a_b.wav": 4.0, "good.wav": 5.0, "good.mp3": 6.0}
    for i, (name, seconds) in enumerate(lengths.items()):
        samples = tone(seconds, 16_000, 1, freq=220.0 * (i + 1))
        if name.endswith(".mp3"):
            encode(songs / name, samples, 16_000, "libmp3lame", "mp3")
        else:
            sf.write(songs / name, samples[0], 16_000)
    args = ("analyze", str(songs), "--out", str(out), "--lyrics-model", "none", "--workers", "1")
    r = cli(*args, "--format", "json")
    assert r.returncode == 0, r.stderr
    written = {Path(p).parent for p in json.loads(r.stdout)["done"]}
    assert len(written) == 4 and all(f.parent == out for f in written)
    facts = {f: SongFacts.from_json((f / "facts.json").read_text()) for f in written}
    assert sorted(Path(x.source.path).name for x in facts.values()) == sorted(lengths)
    for f in facts.values():
        assert abs(f.duration - lengths[Path(f.source.path).name]) < 0.1
    # a stored record that belongs to another song is redone, not trusted
    a_b = next(f for f, x in facts.items() if Path(x.source.path).name == "a_b.wav")
    a_space = next(f for f, x in facts.items() if Path(x.source.path).name == "a b.wav")
    shutil.copy(a_space / "facts.json", a_b / "facts.json")
    again = json.loads(cli(*args, "--format", "json").stdout)
    assert again["done"] == [str(a_b / "facts.json")] and len(again["skipped"]) == 3
    redone = SongFacts.from_json((a_b / "facts.json").read_text())
    assert Path(redone.source.path).name == "a_b.wav" and abs(redone.duration - 4.0) < 0.1


def test_a_file_named_dots_is_written_inside_out(tmp_path):
    """`...wav` once got the folder `..` and its outputs landed beside --out."""
    song = tmp_path / "in" / "...wav"
    song.parent.mkdir()
    sf.write(song, tone(3.0, 16_000)[0], 16_000, format="WAV")
    out = tmp_path / "work" / "out"
    r = cli("analyze", str(song), "--out", str(out), "--lyrics-model", "none")
    assert r.returncode == 0, r.stderr
    written = list((tmp_path / "work").rglob("facts.json"))
    assert len(written) == 1 and written[0].parent.parent == out
    assert written[0].parent.name not in ("", ".", "..")


def test_output_names_are_plain_unique_and_stay_inside_out(tmp_path):
    root = Path("songs")
    tricky = ["...wav", ".wav", "a b.wav", "a_b.wav", "a_b.mp3", "sub/a_b.wav", "sub__a_b.wav"]
    tricky += ["..", "x" * 300 + ".flac", "Beyoncé – Halo.mp3", "sub/../up.wav"]
    names = [song_name(root / t, root) for t in tricky]
    assert len(set(names)) == len(names)
    for name in names:
        assert name not in ("", ".", "..") and "/" not in name and len(name.encode()) < 120
    assert names[9].startswith("Beyoncé_Halo-")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / song_name(Path("a.wav"), None)).symlink_to(elsewhere)  # planted where it would go
    with pytest.raises(ValueError, match="outside"):
        output_folder(Path("a.wav"), out, None)
