"""`stats(out_dir)`: tables (rich) and PNG plots of a built MF-Skills dataset.

Caption length distribution, QA type and skill mix, drop reasons, and how many songs have
a measured tempo, key, meter, chords and lyrics (with the tempo and key distributions).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from musicflamingo.skills.build import SONGS_DIR, load_record  # noqa: E402
from musicflamingo.skills.records import SongRecord  # noqa: E402

STATS_DIR = "stats"


def _records(out: Path) -> list[SongRecord]:
    paths = sorted((out / SONGS_DIR).glob("*.json"))
    return [r for p in paths if (r := load_record(p)) is not None]


def coverage(records: list[SongRecord]) -> Counter:
    c: Counter = Counter()
    for r in records:
        f = r.facts
        if f is None:
            continue
        c.update(
            tempo=f.tempo is not None,
            key=f.key is not None,
            meter=f.meter is not None,
            chords=any(x.label != "N" for x in f.chords),
            lyrics=f.lyrics is not None,
        )
    return c


def _table(title: str, counts: dict, total: int | None = None) -> Table:
    t = Table(title=title)
    t.add_column("what")
    t.add_column("count", justify="right")
    if total:
        t.add_column("share", justify="right")
    for k, v in counts.items():
        t.add_row(str(k), str(v), *([f"{100 * v / total:.0f} %"] if total else []))
    return t


def _bars(ax, counts: dict, title: str) -> None:
    ax.barh(list(map(str, counts))[::-1], list(counts.values())[::-1], color="#4c72b0")
    ax.set_title(title)


def plot(records: list[SongRecord], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ok = [r for r in records if r.status == "ok"]
    paths = []

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist([r.caption.words for r in ok if r.caption], bins=20, color="#4c72b0")
    ax.set_xlabel("words per caption")
    ax.set_ylabel("songs")
    paths.append(_save(fig, folder / "caption_words.png"))

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    _bars(axes[0], Counter(q.type for r in ok for q in r.qa), "QA type")
    _bars(axes[1], Counter(q.skill for r in ok for q in r.qa), "QA skill")
    paths.append(_save(fig, folder / "qa_mix.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    drops = Counter(d.reason for r in records for d in r.drops)
    _bars(ax, dict(drops.most_common()) or {"none": 0}, "drop reasons")
    paths.append(_save(fig, folder / "drop_reasons.png"))

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.5))
    _bars(axes[0], dict(coverage(records)), f"facts measured (of {len(records)} songs)")
    tempos = [r.facts.tempo.bpm for r in records if r.facts and r.facts.tempo]
    axes[1].hist(tempos, bins=20, color="#4c72b0")
    axes[1].set_title("tempo (BPM)")
    keys = Counter(r.facts.key.label for r in records if r.facts and r.facts.key)
    _bars(axes[2], dict(keys.most_common(24)) or {"none": 0}, "key")
    paths.append(_save(fig, folder / "tempo_key_coverage.png"))
    return paths


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def stats(out_dir: str | Path, console: Console | None = None) -> dict:
    """Print the tables, write the PNGs under ``out_dir/stats``; returns counts and paths."""
    out = Path(out_dir)
    records = _records(out)
    ok = [r for r in records if r.status == "ok"]
    words = sorted(r.caption.words for r in ok if r.caption)
    data: dict[str, Any] = {
        "songs": {"total": len(records), "ok": len(ok), "failed": len(records) - len(ok)},
        "caption_words": {
            "captions": len(words),
            "min": words[0] if words else 0,
            "median": words[len(words) // 2] if words else 0,
            "max": words[-1] if words else 0,
        },
        "qa_types": dict(Counter(q.type for r in ok for q in r.qa).most_common()),
        "qa_skills": dict(Counter(q.skill for r in ok for q in r.qa).most_common()),
        "drops": dict(Counter(d.reason for r in records for d in r.drops).most_common()),
        "coverage": dict(coverage(records)),
    }
    console = console or Console()
    console.print(_table("songs", data["songs"]))
    console.print(_table("caption length (words)", data["caption_words"]))
    n_qa = sum(data["qa_types"].values())
    console.print(_table("QA types", data["qa_types"], n_qa))
    console.print(_table("QA skills", data["qa_skills"], n_qa))
    console.print(_table("drop reasons", data["drops"]))
    console.print(_table("facts coverage", data["coverage"], len(records)))
    data["plots"] = [str(p) for p in plot(records, out / STATS_DIR)]
    return data
