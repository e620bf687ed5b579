"""Throughput of the MF-Skills engine on the rendered fixture songs (CPU only).

    python benchmarks/skills_throughput.py [--limit 6] [--workers 1] [--no-lyrics]

1. Stages 2 (facts) + 4 (deterministic checks, MiniLM dedup) one song after another in
   this process, warm: CPU seconds per song, scaled to a 3-minute song by duration, and
   songs per hour per core (target >= 60 for 3-minute songs).
2. The local and Ray executors end to end (`skills.build`, stages 2-4, rule writer as the stage-3
   LLM so no model time is counted): wall time -> 3-minute songs per hour per core.
3. Stage-3 LLM tokens per song: the real caption and QA prompts, and a valid reply of the
   size the rule writer produces, counted with the SmolLM2 tokenizer (a Llama-style BPE).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from musicflamingo.facts.extract import FactsConfig
from musicflamingo.inputs import expand_inputs
from musicflamingo.skills.build import build
from musicflamingo.skills.factsheet import facts_json, segments_text
from musicflamingo.skills.filter import FilterConfig, default_embedder, stage4_filter
from musicflamingo.skills.prompting import load_prompt
from musicflamingo.skills.records import SongRecord
from musicflamingo.skills.rulewriter import RuleWriter
from musicflamingo.skills.stages import CAPTION_SCHEMA, QA_SCHEMA, stage2_facts, stage3_write

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "fixtures"
SONG_SECONDS = 180.0
TARGET = 60.0  # 3-minute songs per hour per core, stages 2 + 4


def cpu(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def tokenizer():
    from transformers import AutoTokenizer

    from musicflamingo.llm.embedded import SMOLLM2_GGUF, smollm2_folder

    return AutoTokenizer.from_pretrained(str(smollm2_folder()), gguf_file=SMOLLM2_GGUF)


def prompt_tokens(tok, values: dict[str, str]) -> int:
    """Tokens of the caption and QA prompts, chat template included."""
    total = 0
    for name in ("caption", "qa"):
        text = tok.apply_chat_template(
            load_prompt(name).messages(**values), tokenize=False, add_generation_prompt=True
        )
        total += len(tok(text, add_special_tokens=False)["input_ids"])
    return total


def stage_rates(songs: list[Path], config: FactsConfig, tok) -> tuple[list[dict], list[dict]]:
    """Per song: CPU seconds of stage 2 and stage 4, and the stage-3 token counts."""
    writer, times, tokens = RuleWriter(), [], []
    default_embedder().encode(["warm up"])
    stage2_facts(songs[0], config)  # warm: models load once per process
    for song in songs:
        facts, c2, _ = cpu(lambda s=song: stage2_facts(s, config))
        out = stage3_write(facts, [], writer)
        rec = SongRecord(
            id=song.stem,
            path=str(song),
            duration=facts.duration,
            facts=facts,
            caption=out.caption,
            qa=out.qa,
        )
        kept, c4, _ = cpu(lambda r=rec: stage4_filter(r, FilterConfig()))
        times.append(
            {
                "song": song.stem,
                "duration": facts.duration,
                "stage2": c2,
                "stage4": c4,
                "drops": len(kept.drops),
            }
        )
        values = {"facts": facts_json(facts), "segments": segments_text([])}
        prompt = prompt_tokens(tok, values)
        replies = [
            writer.complete(load_prompt(n).messages(**values), json_schema=s).text
            for n, s in (("caption", CAPTION_SCHEMA), ("qa", QA_SCHEMA))
        ]
        completion = sum(len(tok(r, add_special_tokens=False)["input_ids"]) for r in replies)
        bare = prompt_tokens(tok, {"facts": "{}", "segments": values["segments"]})
        tokens.append(
            {
                "duration": facts.duration,
                "prompt": prompt,
                "facts": prompt - bare,
                "completion": completion,
            }
        )
    return times, tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", default=str(FIXTURES))
    ap.add_argument("--limit", type=int, default=6, help="songs to use (0: all)")
    ap.add_argument("--workers", type=int, default=1, help="local executor worker processes")
    ap.add_argument("--no-lyrics", action="store_true", help="stage 2 without Whisper")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    songs, _ = expand_inputs([args.songs])
    songs = songs[: args.limit] if args.limit else songs
    config = FactsConfig(threads=1, lyrics_model=None) if args.no_lyrics else FactsConfig(threads=1)
    console = Console()
    times, tokens = stage_rates(songs, config, tokenizer())

    table = Table(
        title=f"stages 2 + 4, one core, warm ({'no lyrics' if args.no_lyrics else 'with lyrics'})"
    )
    for col in ("song", "seconds", "stage 2 CPU s", "stage 4 CPU s", "drops"):
        table.add_column(col, justify="left" if col == "song" else "right")
    for t in times:
        table.add_row(
            t["song"],
            f"{t['duration']:.0f}",
            f"{t['stage2']:.2f}",
            f"{t['stage4']:.3f}",
            str(t["drops"]),
        )
    console.print(table)
    audio = sum(t["duration"] for t in times)
    cpu_per_3min = sum(t["stage2"] + t["stage4"] for t in times) / audio * SONG_SECONDS
    rate = 3600 / cpu_per_3min
    verdict = "meets" if rate >= TARGET else "misses"
    console.print(
        f"CPU per 3-minute song: {cpu_per_3min:.1f} s (stage 4 alone "
        f"{sum(t['stage4'] for t in times) / audio * SONG_SECONDS:.2f} s) -> "
        f"[bold]{rate:.0f} songs/hour/core[/] ({verdict} the target of {TARGET:.0f})"
    )

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        manifest = build(songs, tmp, llm=RuleWriter(), workers=args.workers, facts_config=config)
        wall = time.perf_counter() - t0
    per_core = audio / SONG_SECONDS / wall * 3600 / args.workers
    how = "in this process, warm" if args.workers == 1 else "worker processes, cold start included"
    console.print(
        f"local executor, {args.workers} worker(s), stages 2-4, {how}: {len(songs)} songs "
        f"({audio / 60:.1f} min of audio) in {wall:.1f} s wall -> "
        f"[bold]{per_core:.0f} 3-minute songs/hour/core[/]; rows {manifest['rows']['total']}"
    )

    tok = Table(title="stage-3 LLM tokens per song (SmolLM2 tokenizer; caption + QA calls)")
    for col in ("", "prompt", "of which facts", "completion"):
        tok.add_column(col, justify="right")
    med = {k: statistics.median(t[k] for t in tokens) for k in ("prompt", "facts", "completion")}
    tok.add_row("per song (median)", *(f"{med[k]:.0f}" for k in ("prompt", "facts", "completion")))
    facts_3min = statistics.mean(t["facts"] / t["duration"] for t in tokens) * SONG_SECONDS
    fixed = statistics.mean(t["prompt"] - t["facts"] for t in tokens)
    tok.add_row(
        "3-minute song (facts scaled)",
        f"{fixed + facts_3min:.0f}",
        f"{facts_3min:.0f}",
        f"{med['completion']:.0f}",
    )
    console.print(tok)

    import ray

    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        on_ray = build(
            songs, tmp, llm=RuleWriter(), executor="ray", workers=args.workers, facts_config=config
        )
        ray_wall = time.perf_counter() - t0
    ray.shutdown()
    ray_rate = audio / SONG_SECONDS / ray_wall * 3600 / args.workers
    console.print(
        f"Ray executor (local cluster, {args.workers} CPU(s), cluster start excluded, worker "
        f"imports included), stages 2-4: {ray_wall:.1f} s wall -> [bold]{ray_rate:.0f} "
        f"3-minute songs/hour/core[/] = {ray_rate / per_core:.2f}x the local executor; "
        f"rows {on_ray['rows']['total']} (local {manifest['rows']['total']})"
    )


if __name__ == "__main__":
    main()
