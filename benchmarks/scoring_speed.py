"""Time the official scorers on whole benchmarks: MMAU test-mini music and MuChoMusic.

Predictions are written to JSON-lines files first (about 80 % the gold answer wrapped in
thinking/answer tags and extra words, the rest a wrong option), then each timed run reads
the file, scores every item and aggregates. Target: under 1 s per benchmark.

    python benchmarks/scoring_speed.py [--bench-dir ../shared/benchmarks] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from musicflamingo.bench.aggregate import aggregate
from musicflamingo.bench.items import BenchItem, Prediction, read_predictions, write_predictions
from musicflamingo.bench.recipes.mmau import load_mmau
from musicflamingo.bench.recipes.muchomusic import LETTERS as MUCHOMUSIC_LETTERS
from musicflamingo.bench.recipes.muchomusic import load_muchomusic, muchomusic_scorer
from musicflamingo.bench.scorers import TOKEN_SET, Scorer, score_predictions

TARGET_S = 1.0
DEFAULT_BENCH_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "benchmarks"


def _mmau_text(item: BenchItem, k: int) -> str:
    if k % 5 == 4:
        return next(c for c in item.choices if c != item.answer)
    return f"<think>Listening closely.</think><answer>It is {item.answer}</answer>"


def _muchomusic_text(item: BenchItem, k: int) -> str:
    letter = item.metadata["answer_letter"]
    if k % 5 == 4:
        letter = MUCHOMUSIC_LETTERS[(MUCHOMUSIC_LETTERS.index(letter) + 1) % 4]
    return f"<think>Hmm.</think><answer>The correct answer is: ({letter})</answer>"


def _time(
    name: str,
    items: list[BenchItem],
    make: Callable[[BenchItem, int], str],
    scorer: Scorer,
    repeats: int,
    tmp: Path,
) -> None:
    path = tmp / f"{name}.jsonl"
    write_predictions(
        path, [Prediction(item_id=i.id, text=make(i, k)) for k, i in enumerate(items)]
    )
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        report = aggregate(score_predictions(items, read_predictions(path), scorer))
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(
        f"{name}: {len(items)} items, accuracy {report.overall.accuracy:.3f} ({report.rules[0]}); "
        f"first run {times[0]:.4f} s, median of {repeats} {median:.4f} s, "
        f"{len(items) / median:,.0f} items/s; target < {TARGET_S:.0f} s: "
        f"{'met' if max(times) < TARGET_S else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    mmau = load_mmau(args.bench_dir / "mmau-test-mini.json").items
    muchomusic = load_muchomusic(args.bench_dir / "muchomusic-questions.jsonl").items
    with tempfile.TemporaryDirectory() as tmp:
        _time("MMAU test-mini music", mmau, _mmau_text, TOKEN_SET, args.repeats, Path(tmp))
        scorer = muchomusic_scorer()
        _time("MuChoMusic", muchomusic, _muchomusic_text, scorer, args.repeats, Path(tmp))


if __name__ == "__main__":
    main()
