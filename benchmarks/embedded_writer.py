"""The embedded SmolLM2 as the MF-Skills stage-3 writer on the rendered fixtures: what it
writes under constrained decoding and what the stage-4 filters drop, with reasons.

    python benchmarks/embedded_writer.py [--limit 3] [--timeout 600] [--threads 1] [--json out.json]

Per song: facts (stage 2; lyrics only with ``--lyrics``), then stages 3 + 4 with the
embedded model (schema-constrained JSON, ``--timeout`` seconds of stage 3 per song).
Prints per song the status, QA kept, drops and seconds; then the drop-reason counts over
all songs, the failures by code (``write_invalid``: no usable JSON in the attempts,
``write_timeout``: time ran out) and the stage-3 seconds and tokens per song.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from musicflamingo.facts.extract import FactsConfig
from musicflamingo.llm.embedded import EmbeddedLLM
from musicflamingo.skills.song import Engine, measure, write
from musicflamingo.skills.stages import WriteConfig

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "fixtures"


def failure_code(reason: str) -> str:
    return "write_timeout" if reason.startswith("write_timeout") else "write_invalid"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="first N fixture songs")
    ap.add_argument("--timeout", type=float, default=600.0, help="stage-3 seconds per song")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--attempts", type=int, default=2)
    ap.add_argument("--lyrics", action="store_true", help="transcribe lyrics (slower)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    console = Console(stderr=True)

    songs = sorted(FIXTURES.glob("*.ogg"))[: args.limit]
    llm = EmbeddedLLM(threads=args.threads)
    t0 = time.perf_counter()
    llm.load()
    console.print(f"model loaded in {time.perf_counter() - t0:.0f} s")
    engine = Engine(
        llm=llm,
        facts=FactsConfig() if args.lyrics else FactsConfig(lyrics_model=None),
        write=WriteConfig(attempts=args.attempts, song_timeout=args.timeout),
    )
    rows = []
    for path in songs:
        t0 = time.perf_counter()
        measured = measure(path, path.stem, engine)
        t1 = time.perf_counter()
        record = write(measured, engine)
        t2 = time.perf_counter()
        rows.append(
            {
                "song": path.stem,
                "status": record.status,
                "failure": record.failure,
                "qa_kept": len(record.qa),
                "caption": record.caption is not None,
                "drops": dict(Counter(d.reason for d in record.drops)),
                "flags": dict(Counter(d.reason for d in record.flags)),
                "facts_s": round(t1 - t0, 1),
                "write_s": round(t2 - t1, 1),
                "completion_tokens": record.provenance.usage.completion_tokens,
                "calls": record.provenance.usage.calls,
            }
        )
        console.print(rows[-1])

    table = Table(title="embedded writer, per song")
    for col in ("song", "status", "qa kept", "drops", "stage-3 s", "tokens"):
        table.add_column(col)
    for r in rows:
        status = r["status"] if r["status"] == "ok" else failure_code(r["failure"])
        drops = str(sum(r["drops"].values()))
        cells = (r["song"], status, str(r["qa_kept"]), drops, f"{r['write_s']:.0f}")
        table.add_row(*cells, str(r["completion_tokens"]))
    out = Console()
    out.print(table)
    drops = sum((Counter(r["drops"]) for r in rows), Counter())
    flags = sum((Counter(r["flags"]) for r in rows), Counter())
    failures = Counter(failure_code(r["failure"]) for r in rows if r["failure"])
    seconds = [r["write_s"] for r in rows]
    summary = {
        "songs": len(rows),
        "ok": sum(r["status"] == "ok" for r in rows),
        "qa_kept": sum(r["qa_kept"] for r in rows),
        "drop_reasons": dict(drops.most_common()),
        "flag_reasons": dict(flags.most_common()),
        "failures": dict(failures.most_common()),
        "stage3_seconds_per_song": {
            "mean": round(statistics.mean(seconds), 1) if seconds else None,
            "max": max(seconds, default=None),
        },
        "completion_tokens_per_song": round(
            statistics.mean(r["completion_tokens"] for r in rows), 1
        )
        if rows
        else None,
        "timeout_s": args.timeout,
        "threads": args.threads,
    }
    out.print_json(data=summary)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "songs": rows}, indent=1))


if __name__ == "__main__":
    main()
