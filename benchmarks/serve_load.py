"""Load on `musicflamingo serve`: bounded concurrent clients on loopback, latency and
throughput at 1, 4, 8 and 16 clients, against one at a time, and a long run for memory.

    python benchmarks/serve_load.py [--model CKPT] [--requests 48] [--soak 500] [--json out.json]

Without ``--model`` the tiny random checkpoint of the tests is built in a temporary folder.
Every request is a real chat completion over HTTP: a short clip cut from a rendered fixture
(WAV, base64 ``input_audio``) and a question, ``max_tokens`` new tokens, greedy. Clients send
back to back from a shared list of requests. Named baselines in the same run:

- ``one at a time``: one client on the batching server;
- ``unbatched x8``: eight clients on a server started with ``--max-batch 1``.

Wall-clock throughput depends on whatever else the machine runs; the server's CPU time per
request (``psutil``) does not, so both are reported, each also relative to one at a time.

Then ``--soak`` requests at 16 clients on the batching server, with the server's resident
memory (RSS) read before and after, and every non-200 answer counted as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psutil
import soundfile as sf

from musicflamingo.serve.app import launch

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "tests" / "data" / "fixtures").glob("song0*.ogg"))
QUESTIONS = ["What key is this in?", "What is the tempo?", "Which instruments play?",
             "Describe the mood.", "Is there singing?", "What genre is it?"]  # fmt: skip


@dataclass
class Level:
    name: str
    clients: int
    requests: int
    errors: int
    seconds: float
    throughput: float  # requests per second
    p50: float  # latency, seconds
    p95: float
    largest_batch: int
    cpu_ms: float  # the server's CPU time per answered request (independent of other load)


def bodies(n: int, clip_seconds: float, tokens: int) -> list[bytes]:
    """``n`` request bodies over a few clips and questions (same clips recur, as when
    several users ask about the same song)."""
    clips = []
    for path in FIXTURES[:4]:
        info = sf.info(path)
        samples, sr = sf.read(path, frames=int(clip_seconds * info.samplerate), dtype="float32")
        buf = io.BytesIO()
        sf.write(buf, samples, sr, format="WAV", subtype="PCM_16")
        clips.append(base64.b64encode(buf.getvalue()).decode("ascii"))
    out = []
    for i in range(n):
        content = [
            {"type": "text", "text": QUESTIONS[i % len(QUESTIONS)]},
            {
                "type": "input_audio",
                "input_audio": {"data": clips[i % len(clips)], "format": "wav"},
            },
        ]
        body = {"messages": [{"role": "user", "content": content}], "max_tokens": tokens}
        out.append(json.dumps(body).encode())
    return out


async def drive(url: str, work: list[bytes], clients: int) -> tuple[list[float], int, float]:
    """Latencies of the successful requests, the error count and the wall seconds."""
    queue = list(reversed(work))
    latencies: list[float] = []
    errors = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue:
            body = queue.pop()
            t0 = time.perf_counter()
            try:
                r = await http.post("/v1/chat/completions", content=body,
                                    headers={"Content-Type": "application/json"})  # fmt: skip
                ok = r.status_code == 200 and r.json()["usage"]["completion_tokens"] > 0
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        return latencies, errors, time.perf_counter() - t0


def cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def measure(name: str, url: str, pid: int, work: list[bytes], clients: int) -> Level:
    before = httpx.get(url + "/healthz").json()["batches"]["largest"]
    cpu0 = cpu_seconds(pid)
    latencies, errors, seconds = asyncio.run(drive(url, work, clients))
    cpu_ms = 1000 * (cpu_seconds(pid) - cpu0) / max(1, len(latencies))
    largest = httpx.get(url + "/healthz").json()["batches"]["largest"]
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    print(f"{name}: {len(latencies) / seconds:.2f} req/s, {cpu_ms:.0f} server CPU ms/req, "
          f"{errors} errors", flush=True)  # fmt: skip
    return Level(name, clients, len(work), errors, round(seconds, 2),
                 round(len(latencies) / seconds, 2), round(statistics.median(latencies), 3),
                 round(q[18], 3), max(before, largest), round(cpu_ms, 1))  # fmt: skip


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def tiny_checkpoint(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_tiny_checkpoint import build_checkpoint, make_tokenizer

    return build_checkpoint(folder, "musicflamingo", "tiny", tokenizer=make_tokenizer(4096))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="checkpoint (default: the tiny random one, built here)")
    ap.add_argument("--requests", type=int, default=48, help="requests per level")
    ap.add_argument("--soak", type=int, default=500, help="requests of the memory run")
    ap.add_argument("--tokens", type=int, default=16, help="max_tokens of each request")
    ap.add_argument("--clip-seconds", type=float, default=8.0)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--device", default=None)
    ap.add_argument("--json", type=Path, help="write the numbers here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="mf-serve-load-") as tmp:
        model = args.model or str(tiny_checkpoint(Path(tmp) / "tiny-mf"))
        work = bodies(args.requests, args.clip_seconds, args.tokens)
        common = ("--max-pending", "64", "--max-tokens", str(args.tokens))
        common += ("--device", args.device) if args.device else ()
        levels: list[Level] = []
        with launch(model, args=("--max-batch", "1", *common)) as plain:
            asyncio.run(drive(plain.url, work[:4], 1))  # warm up
            levels.append(measure("unbatched x8", plain.url, plain.process.pid, work, 8))
        with launch(model, args=("--max-batch", str(args.max_batch), *common)) as s:
            asyncio.run(drive(s.url, work[:4], 1))
            pid = s.process.pid
            levels.append(measure("one at a time", s.url, pid, work, 1))
            for clients in (4, 8, 16):
                levels.append(measure(f"{clients} clients", s.url, pid, work, clients))
            rss_before = rss_after = rss_mb(pid)
            if args.soak:
                soak_work = bodies(args.soak, args.clip_seconds, args.tokens)
                levels.append(measure(f"soak {args.soak}", s.url, pid, soak_work, 16))
                rss_after = rss_mb(pid)

    base, base_cpu = levels[1].throughput, levels[1].cpu_ms
    print(f"model {model}; {args.requests} requests per level, {args.tokens} new tokens, "
          f"{args.clip_seconds:g} s clips")  # fmt: skip
    print("| run | clients | req/s | x one at a time | server CPU ms/req | x one at a time "
          "(CPU) | p50 s | p95 s | largest batch | errors |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for lv in levels:
        print(f"| {lv.name} | {lv.clients} | {lv.throughput} | {lv.throughput / base:.2f} | "
              f"{lv.cpu_ms} | {base_cpu / lv.cpu_ms:.2f} | {lv.p50} | {lv.p95} | "
              f"{lv.largest_batch} | {lv.errors} |")  # fmt: skip
    if args.soak:
        soak, grew = levels[-1], rss_after - rss_before
        print(f"soak: {soak.requests} requests, {soak.errors} errors, server RSS "
              f"{rss_before:.0f} MB -> {rss_after:.0f} MB ({grew:+.0f} MB)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({
            "model": model, "levels": [asdict(lv) for lv in levels],
            "rss_mb": [round(rss_before, 1), round(rss_after, 1)],
        }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
