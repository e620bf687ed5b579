"""Throughput and LLM cost of the MF-Think engine (CPU only).

    python benchmarks/think_throughput.py [--skills-out DIR] [--limit 4]
        [--price-prompt 0.15] [--price-completion 0.60] [--items 176000]

1. Stages 1 (selection by skill and distractor similarity) + 3 (deterministic step
   verification) on an MF-Skills output, warm, in this process: CPU seconds per item ->
   items per hour per core. No LLM and no audio model time is counted: the traces come
   from the rule writer beforehand.
2. LLM tokens per item: every chosen item through stages 2-4 with the rule writer behind
   a counting wrapper that applies the SmolLM2 chat template and tokenizer (a Llama-style
   BPE, close to what a 120B endpoint bills): the clean writer (no rewrites) and the noisy
   one (about a quarter of the drafts rewritten, as the rewrite path costs). The rule
   writer's traces are short; the bound for a full 250-word trace is shown too.
3. The cost of the paper's 176k traces at the given prices (USD per million tokens;
   defaults are an assumption for a rented gpt-oss-120b endpoint: set your own).

Without ``--skills-out`` an MF-Skills output of ``--limit`` fixtures is built first with
the MF-Skills rule writer (lyrics off).
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
from musicflamingo.llm.base import ChatRequest, Completion, TextLLM
from musicflamingo.skills.build import build as skills_build
from musicflamingo.skills.records import SongRecord
from musicflamingo.skills.rulewriter import RuleWriter
from musicflamingo.skills.song import load_record
from musicflamingo.think.rulewriter import ThinkRuleWriter
from musicflamingo.think.select import select
from musicflamingo.think.stages import MAX_WORDS, Engine, process, verify_steps, write_trace

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "fixtures"
TOKENS_PER_WORD = 1.35  # English prose in a Llama-style BPE
JSON_OVERHEAD = 30  # {"steps": [...], "final_answer": ...} punctuation and quotes


class Counting(TextLLM):
    """Passes requests to ``inner`` and counts real tokens (chat template applied)."""

    def __init__(self, inner: TextLLM, tok) -> None:
        self.inner, self.tok = inner, tok

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def respond(self, request: ChatRequest) -> Completion:
        c = self.inner.respond(request)
        prompt = self.tok.apply_chat_template(
            request.messages, tokenize=False, add_generation_prompt=True
        )
        n_prompt = len(self.tok(prompt, add_special_tokens=False)["input_ids"])
        n_completion = len(self.tok(c.text, add_special_tokens=False)["input_ids"])
        return Completion(c.text, c.model, n_prompt, n_completion)


def tokenizer():
    from transformers import AutoTokenizer

    from musicflamingo.llm.embedded import SMOLLM2_GGUF, smollm2_folder

    return AutoTokenizer.from_pretrained(str(smollm2_folder()), gguf_file=SMOLLM2_GGUF)


def skills_records(skills_out: Path | None, limit: int, tmp: Path) -> list[SongRecord]:
    if skills_out is None:
        songs = tmp / "songs"
        songs.mkdir()
        for p in sorted(FIXTURES.glob("song*.ogg"))[:limit]:
            (songs / p.name).symlink_to(p)
        skills_out = tmp / "skills"
        skills_build(
            songs, skills_out, llm=RuleWriter(), facts_config=FactsConfig(lyrics_model=None)
        )
    records = [load_record(p) for p in sorted((skills_out / "songs").glob("*.json"))]
    return [r for r in records if r is not None and r.status == "ok"]


def stage_rates(records: list[SongRecord]) -> dict[str, float]:
    writer = ThinkRuleWriter()
    select_cpu = verify_cpu = 0.0
    n_items = n_steps = 0
    for r in records:
        c0 = time.process_time()
        items = select(r)
        select_cpu += time.process_time() - c0
        traces = [write_trace(i, r, writer, Engine(writer).config)[1].steps for i in items]
        c0 = time.process_time()
        for steps in traces:
            verify_steps(steps, r, None)
        verify_cpu += time.process_time() - c0
        n_items += len(items)
        n_steps += sum(map(len, traces))
    total = select_cpu + verify_cpu
    return {
        "songs": len(records),
        "items": n_items,
        "steps": n_steps,
        "select_ms_per_item": 1000 * select_cpu / max(n_items, 1),
        "verify_ms_per_item": 1000 * verify_cpu / max(n_items, 1),
        "items_per_hour_per_core": 3600 * n_items / total if total else float("inf"),
    }


def tokens(records: list[SongRecord], tok, noisy: bool) -> dict[str, float]:
    llm = Counting(ThinkRuleWriter(noise=noisy), tok)
    engine = Engine(llm=llm)
    usage = []
    for r in records:
        for item in select(r):
            usage.append(process(item, r, engine).provenance.usage)
    return {
        "items": len(usage),
        "calls": statistics.mean(u.calls for u in usage),
        "prompt": statistics.mean(u.prompt_tokens for u in usage),
        "completion": statistics.mean(u.completion_tokens for u in usage),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skills-out", type=Path)
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--price-prompt", type=float, default=0.15)
    ap.add_argument("--price-completion", type=float, default=0.60)
    ap.add_argument("--items", type=int, default=176_000)
    args = ap.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        records = skills_records(args.skills_out, args.limit, Path(tmp))
        rates = stage_rates(records)
        tok = tokenizer()
        per_item = {"clean": tokens(records, tok, False), "noisy": tokens(records, tok, True)}
    t = Table(title="MF-Think stages 1 + 3 without an LLM (CPU, this process)")
    for k in rates:
        t.add_column(k, justify="right")
    t.add_row(*(f"{v:.1f}" if isinstance(v, float) else str(v) for v in rates.values()))
    console.print(t)
    bound = MAX_WORDS * TOKENS_PER_WORD + JSON_OVERHEAD
    t = Table(title="LLM tokens per item (SmolLM2 tokenizer, chat template included)")
    for col in ("writer", "items", "calls", "prompt", "completion", f"cost of {args.items:,}"):
        t.add_column(col, justify="right")
    for name, u in per_item.items():
        for label, completion in ((name, u["completion"]), (f"{name}, 250-word traces", None)):
            comp = completion if completion is not None else bound * u["calls"]
            cost = args.items * (u["prompt"] * args.price_prompt + comp * args.price_completion)
            t.add_row(
                label,
                str(u["items"]),
                f"{u['calls']:.2f}",
                f"{u['prompt']:.0f}",
                f"{comp:.0f}",
                f"${cost / 1e6:,.0f}",
            )
    console.print(t)
    console.print(
        f"prices: ${args.price_prompt}/M prompt, ${args.price_completion}/M completion tokens "
        "(assumed; pass your endpoint's). A reasoning model also spends hidden reasoning "
        "tokens, billed as completion: multiply the completion column by its ratio."
    )


if __name__ == "__main__":
    main()
