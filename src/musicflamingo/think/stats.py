"""`stats(out_dir)`: tables (rich) of a built MF-Think output, from its item records."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from musicflamingo.think.jobs import ITEMS_DIR, load_item
from musicflamingo.think.records import ThinkRecord


def records(out: Path) -> list[ThinkRecord]:
    paths = sorted((out / ITEMS_DIR).glob("*/*.json"))
    return [r for p in paths if (r := load_item(p)) is not None]


def _table(title: str, counts: Counter) -> Table:
    total = sum(counts.values())
    t = Table(title=title)
    t.add_column("what")
    t.add_column("count", justify="right")
    t.add_column("share", justify="right")
    for k, v in counts.most_common():
        t.add_row(str(k), str(v), f"{100 * v / total:.0f} %" if total else "")
    return t


def summary(recs: list[ThinkRecord]) -> dict[str, Counter]:
    """Counts per item status, pick reason, step verdict, step reason and note."""
    return {
        "items by status": Counter(f"{r.item.task} {r.status}" for r in recs),
        "why chosen": Counter(r.item.pick.reason for r in recs),
        "step verdicts": Counter(s.verdict for r in recs for s in r.steps),
        "wrong-step reasons": Counter(x for r in recs for s in r.steps for x in s.reasons),
        "drops, rewrites, metadata": Counter(n.reason for r in recs for n in r.notes),
        "trace words": Counter(
            f"{min(sum(len(s.split()) for s in r.trace) // 50 * 50, 250)}+" for r in recs if r.trace
        ),
    }


def stats(out: Path, console: Console | None = None) -> dict[str, Counter]:
    """Print the tables; returns their counts. `ValueError` when ``out`` has no items."""
    recs = records(out)
    if not recs:
        raise ValueError(f"{out}: no MF-Think item records (not a think build folder?)")
    console = console or Console()
    counts = summary(recs)
    for title, c in counts.items():
        console.print(_table(title, c))
    return counts
