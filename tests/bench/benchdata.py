"""A small data root laid out like the real benchmarks: a few real question records from
``tests/data/bench`` (MMAU, MuChoMusic, NSynth) and a few made-up records in the public
layouts of the others, with short clips cut from the rendered fixture songs as audio."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "tests" / "data" / "fixtures").glob("*.ogg"))
CLIP_SECONDS = 3.0


class Clips:
    """Distinct short clips cut in turn from the fixture songs (read straight from the files,
    only the frames needed)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, path: Path) -> Path:
        song = FIXTURES[self.count % len(FIXTURES)]
        info = sf.info(song)
        n = int(CLIP_SECONDS * info.samplerate)
        start = (self.count // len(FIXTURES) * n) % max(1, info.frames - n)
        self.count += 1
        samples, sr = sf.read(song, start=start, frames=n, dtype="float32")
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, samples.mean(axis=1) if samples.ndim == 2 else samples, sr)
        return path


def _lines(path: Path, n: int) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line, _ in zip(f, range(n), strict=False)]


def make_data_root(root: Path, bench_dir: Path, n: int = 3) -> dict[str, str]:
    """MMAU (music), MuChoMusic and NSynth folders with `n` items each; the last MMAU item's
    audio is left out; the first two MMAU items again, answers removed, as the full test
    split. Returns {benchmark folder: relative path of the missing audio}."""
    clips = Clips()
    mmau = [r for r in json.loads((bench_dir / "mmau-test-mini.json").read_text())
            if r["task"] == "music"][:n]  # fmt: skip
    (root / "mmau").mkdir(parents=True)
    (root / "mmau" / "mmau-test-mini.json").write_text(json.dumps(mmau), encoding="utf-8")
    withheld = [{k: v for k, v in r.items() if k != "answer"} for r in mmau[:2]]
    (root / "mmau" / "mmau-test.json").write_text(json.dumps(withheld), encoding="utf-8")
    for r in mmau[:-1]:
        clips.write(root / "mmau" / r["audio_id"])
    mucho = _lines(bench_dir / "muchomusic-questions.jsonl", n)
    nsynth = _lines(bench_dir / "nsynth-test-labels.jsonl", n)
    for folder, name, records in (
        ("muchomusic", "muchomusic-questions.jsonl", mucho),
        ("nsynth", "nsynth-test-labels.jsonl", nsynth),
    ):
        (root / folder).mkdir()
        text = "".join(json.dumps(r) + "\n" for r in records)
        (root / folder / name).write_text(text, encoding="utf-8")
        for r in records:
            clips.write(root / folder / r["audio"])
    return {"mmau": mmau[-1]["audio_id"].removeprefix("./")}


def _csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def add_layouts(root: Path, captions: dict[str, str], lyrics: dict[str, str]) -> None:
    """GTZAN (two genre folders), Medley-solos-DB (two test rows, one training row),
    JamendoLyrics (`lyrics`: name -> text, English, plus one German song), MUSDB18 lyrics
    (one track, stem folder layout) and MusicCaps (`captions`: ytid -> caption, plus one
    training-split row)."""
    clips = Clips()
    musdb = root / "musdb-lyrics"
    (musdb / "lyrics").mkdir(parents=True)
    (musdb / "lyrics" / "Track A.txt").write_text("one two three\nfour", encoding="utf-8")
    clips.write(musdb / "audio" / "Track A" / "mixture.wav")
    for genre, number in (("blues", "00000"), ("jazz", "00001")):
        clips.write(root / "gtzan" / "genres" / genre / f"{genre}.{number}.wav")
    medley = root / "medley-solos"
    rows = [dict(subset=subset, instrument=name, instrument_id=k, song_id=k, uuid4=f"u{k}")
            for subset, name, k in (("test", "flute", 3), ("test", "piano", 4),
                                    ("training", "violin", 7))]  # fmt: skip
    _csv(medley / "Medley-solos-DB_metadata.csv", rows)
    for r in rows[:2]:
        name = f"Medley-solos-DB_test-{r['instrument_id']}_{r['uuid4']}.wav"
        clips.write(medley / "audio" / name)
    jamendo = root / "jamendo-lyrics"
    songs = [(name, "English") for name in lyrics] + [("Lied", "German")]
    _csv(jamendo / "JamendoLyrics.csv",
         [dict(Filepath=f"{n}.mp3", Artist="a", Title=n, Genre="Pop", Language=lang)
          for n, lang in songs])  # fmt: skip
    (jamendo / "lyrics").mkdir()
    for name, text in [*lyrics.items(), ("Lied", "ein Lied")]:
        (jamendo / "lyrics" / f"{name}.txt").write_text(text, encoding="utf-8")
        clips.write(jamendo / "mp3" / f"{name}.mp3")
    caps = [dict(ytid=k, start_s=0, end_s=10, caption=v, is_audioset_eval=True)
            for k, v in captions.items()]  # fmt: skip
    caps.append(dict(ytid="train0", start_s=0, end_s=10, caption="x", is_audioset_eval=False))
    _csv(root / "musiccaps" / "musiccaps-public.csv", caps)
    for ytid in captions:
        clips.write(root / "musiccaps" / "audio" / f"{ytid}.wav")


def add_unrun_layouts(root: Path) -> None:
    """Question files of MMAU-Pro (parquet), Music Instruct, Opencpop and a song folder, for
    loading only: one item of each has audio."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    clips = Clips()
    pro = root / "mmau-pro"
    pro.mkdir()
    table = {
        "id": ["p1", "p2", "p3", "p4"],
        "audio_path": [["data/p1.wav"], ["data/p2.wav"], ["data/a.wav", "data/b.wav"], ["x"]],
        "question": ["Which instrument?", "Open question?", "Two clips?", "Speech?"],
        "choices": [["piano", "drums"], [], ["a", "b"], ["yes", "no"]],
        "answer": ["piano", "anything", "a", "yes"],
        "category": ["music", "music", "music", "speech"],
        "task_identifier": ["t1", "t2", "t3", "t4"],
    }
    pq.write_table(pa.table(table), pro / "test.parquet")
    clips.write(pro / "data" / "p1.wav")
    mi = root / "music-instruct"
    mi.mkdir()
    qa = [{"ytid": y, "question": f"What about {y}?", "answer": "Calm.", "is_audioset_eval": e}
          for y, e in (("y1", True), ("y2", False), ("y3", True))]  # fmt: skip
    (mi / "music_instruct.json").write_text(json.dumps({"QA": qa}), encoding="utf-8")
    clips.write(mi / "audio" / "y1.wav")
    cpop = root / "opencpop" / "segments"
    (cpop / "wavs").mkdir(parents=True)
    lines = "2001000001|感受停在我发端的指尖|g an|0\n2001000002|如何瞬间|r u|0\n"
    (cpop / "test.txt").write_text(lines, encoding="utf-8")
    clips.write(cpop / "wavs" / "2001000001.wav")
    songs = root / "songcaps" / "album"
    clips.write(songs / "one.ogg")
    (songs / "one.txt").write_text("Slow ballad in A minor.", encoding="utf-8")
