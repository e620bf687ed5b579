"""Precision and recall of the MF-Think step verifier's "wrong" on a seeded corpus.

    python benchmarks/think_verify.py [--seeds 5] [--facts-dir DIR]

The corpus (`musicflamingo.think.corpus.make_corpus`) is written from the measured facts
of every rendered fixture and the demo song (lyrics on for the demo only), with the
instruments of their ground truth: true steps in varied wording and steps with one
injected false claim each. Targets (issue 10): recall >= 0.95 on injected errors, false
alarms <= 0.05 on true steps. ``--facts-dir`` reads/writes ``NAME.json`` facts so a rerun
skips the analysis.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from musicflamingo.facts.extract import FactsConfig, analyze
from musicflamingo.facts.schema import SongFacts
from musicflamingo.think.corpus import Song, make_corpus, score

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "fixtures"
DEMO = ROOT / "examples" / "demo" / "demo.mp3"


def _instruments(truth: Path) -> list[str]:
    data = json.loads(truth.read_text())
    return data["instruments"] + (["drums"] if data.get("drums") else [])


def songs(facts_dir: Path | None) -> list[Song]:
    audio = sorted(FIXTURES.glob("*.ogg")) + [DEMO]
    out = []
    for path in audio:
        cached = facts_dir / f"{path.stem}.json" if facts_dir else None
        if cached and cached.exists():
            facts = SongFacts.from_json(cached.read_text())
        else:
            config = FactsConfig() if path == DEMO else FactsConfig(lyrics_model=None)
            facts = analyze(path, config)
            if cached:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(facts.to_json())
        out.append(Song(path.stem, facts, _instruments(path.with_suffix(".json"))))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--facts-dir", type=Path)
    args = ap.parse_args()
    corpus_songs = songs(args.facts_dir)
    console = Console()
    table = Table(title="MF-Think step verifier: 'wrong' on injected false claims")
    for col in ("seed", "steps", "true", "injected", "recall", "false alarms", "precision"):
        table.add_column(col, justify="right")
    missed: Counter = Counter()
    worst_recall, worst_fa = 1.0, 0.0
    for seed in range(args.seeds):
        corpus = make_corpus(corpus_songs, seed=seed)
        s = score(corpus, corpus_songs)
        missed.update(m.injected for m in s.missed)
        worst_recall, worst_fa = min(worst_recall, s.recall), max(worst_fa, s.false_alarm_rate)
        table.add_row(
            str(seed),
            str(len(corpus)),
            str(s.true_steps),
            str(s.injected),
            f"{s.recall:.3f}",
            f"{s.false_alarm_rate:.3f}",
            f"{s.precision:.3f}",
        )
    console.print(table)
    if missed:
        console.print(f"missed by kind: {dict(missed.most_common())}")
    ok = worst_recall >= 0.95 and worst_fa <= 0.05
    console.print(
        f"worst recall {worst_recall:.3f} (target >= 0.95), worst false-alarm rate "
        f"{worst_fa:.3f} (target <= 0.05): {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
