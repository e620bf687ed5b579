"""Speed and memory of the facts pipeline, as a user meets it.

    python benchmarks/facts_speed.py [--repeats 3] [--long-minutes 60] [--skip-long]
                                     [--before CHECKOUT]

1. The CLI as a whole process, `musicflamingo analyze FILE --format json --lyrics-model
   none`, median of ``--repeats`` runs, on a 2 s tone, the demo song and a dense 90 s band
   recording (benchmarks/dense_band.py: drums, bass, two distorted guitars, organ, strings,
   lead, reverb, noise floor, stereo Ogg), for each rhythm profile (``--rhythm tcn``, the
   default, ``essentia``, and ``madmom`` when that extra is installed). Targets: the 2 s
   file answers in <= 1.5 s; recordings at >= 20x real time.
2. Named baseline, interleaved with 1 in the same run (other jobs share the CPU, so only
   ratios taken side by side mean much): a process that makes the raw library calls alone
   (PyAV decode, essentia RhythmExtractor2013 and KeyExtractor, Chordino) on the same file;
   with ``--before`` also an older checkout of this package (its ``src`` first on the path,
   e.g. from `git worktree add /tmp/before <commit>`), for before/after ratios. Each row
   gives its ratios to the raw library calls (and to the older checkout) of the same run.
3. In-process, warm: seconds per stage of `analyze` on the recordings (beats and chords
   run in forked processes beside features and key; their stages are the waits for them).
4. Peak memory of a ``--long-minutes`` file (the dense band repeated): the analysing
   process and its forked children together, as the sum of their proportional set sizes
   (PSS: pages they share counted once), sampled every 0.2 s (target <= 2 GB). Their max
   RSS is shown too; it counts the pages a fork shares with its parent twice.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
import dense_band  # noqa: E402

from musicflamingo import audio  # noqa: E402
from musicflamingo.facts import madmom_rhythm  # noqa: E402
from musicflamingo.facts.extract import FactsConfig, Timings, analyze  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo" / "demo.mp3"
CLI = [sys.executable, "-m", "musicflamingo", "analyze"]
RAW = """
import importlib.util, os, sys
from pathlib import Path
import av, numpy as np, soxr
import essentia.standard as es
plugins = Path(importlib.util.find_spec("chord_extractor").origin).parent / "_lib"
os.environ.setdefault("VAMP_PATH", str(plugins))
import vamp
with av.open(sys.argv[1]) as c:
    s = c.streams.audio[0]
    r = av.AudioResampler(format="fltp", layout="mono", rate=44100)
    x = np.concatenate([f.to_ndarray()[0] for p in c.demux(s) for g in p.decode()
                        for f in r.resample(g)] + [f.to_ndarray()[0] for f in r.resample(None)])
es.RhythmExtractor2013(method="multifeature")(x)
es.KeyExtractor(profileType="edma")(x)
mid = soxr.resample(x, 44100, 22050)
vamp.collect(mid, 22050, "nnls-chroma:chordino", output="simplechord")
"""


def timed(cmd: list[str], src: Path | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, with its reaped children) of one
    process, via wait4; ``src`` first on its import path. CPU seconds tell more than wall
    on a machine other jobs load. (Its max RSS would include this process's own: Linux
    keeps the high-water mark across fork and exec; memory is measured in `peak_rss`.)"""
    env = dict(os.environ, PYTHONPATH=str(src)) if src else None
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-500:]}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def process_times(
    files: dict[str, Path], profiles: list[str], repeats: int, out: Path, before: Path | None
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Interleaved: for each repeat, each file, the baseline(s) then every profile."""
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(repeats):
        for name, path in files.items():
            runs.setdefault((name, "raw library calls"), []).append(
                timed([sys.executable, "-c", RAW, str(path)])
            )
            if before is not None:
                cmd = [*CLI, str(path), "--format", "json", "--lyrics-model", "none"]
                cmd += ["--out", str(out / "before"), "--force"]
                runs.setdefault((name, "before"), []).append(timed(cmd, before / "src"))
            for profile in profiles:
                cmd = [*CLI, str(path), "--format", "json", "--lyrics-model", "none"]
                cmd += ["--rhythm", profile, "--out", str(out), "--force"]
                runs.setdefault((name, profile), []).append(timed(cmd))
    return runs


def stage_times(files: dict[str, Path], profiles: list[str]) -> dict[tuple[str, str], Timings]:
    out = {}
    for profile in profiles:
        config = FactsConfig(lyrics_model=None, beat_tracker=_tracker(profile))
        for name, path in files.items():
            analyze(path, config)  # warm: imports and caches
            t = Timings()
            t0 = time.perf_counter()
            analyze(path, config, t)
            t.stages["total"] = time.perf_counter() - t0
            out[(name, profile)] = t
    return out


def _tracker(profile: str) -> str:
    from musicflamingo.facts.extract import RHYTHM

    return RHYTHM[profile]


def long_file(band: Path, minutes: float, path: Path) -> Path:
    """The band recording repeated to ``minutes`` (FLAC, stereo 44.1 kHz)."""
    x, sr = sf.read(band, dtype="float32", always_2d=True)
    need = int(minutes * 60 * sr)
    with sf.SoundFile(path, "w", sr, x.shape[1], format="FLAC", subtype="PCM_16") as f:
        while need > 0:
            f.write(x[:need])
            need -= len(x[:need])
    return path


def peak_memory(path: Path, profile: str) -> tuple[float, float, float]:
    """Peak summed PSS and summed RSS (MB) of the analysing process tree, and its wall
    seconds."""
    import psutil

    code = (
        "import sys\n"
        "from musicflamingo.facts.extract import FactsConfig, analyze\n"
        "analyze(sys.argv[1], FactsConfig(lyrics_model=None, beat_tracker=sys.argv[2]))\n"
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), _tracker(profile)])
    root = psutil.Process(proc.pid)
    pss = rss = 0.0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            pss = max(pss, sum(p.memory_full_info().pss for p in tree) / 2**20)
            rss = max(rss, sum(p.memory_info().rss for p in tree) / 2**20)
        except psutil.Error:  # a child ended while being read
            pass
        time.sleep(0.2)
    if proc.returncode:
        raise RuntimeError(f"analysing {path} failed ({proc.returncode})")
    return pss, rss, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--long-minutes", type=float, default=60.0)
    ap.add_argument("--skip-long", action="store_true")
    ap.add_argument("--before", type=Path, help="an older checkout to time side by side")
    ap.add_argument("--skip-demo", action="store_true", help="time the band recording only")
    ap.add_argument("--profiles", nargs="+", help="rhythm profiles (default: all installed)")
    args = ap.parse_args()
    console = Console(width=160)
    profiles = args.profiles or ["tcn", "essentia"]
    profiles += [] if args.profiles or not madmom_rhythm.available() else ["madmom"]
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        tone = tmp / "tone-2s.ogg"
        sf.write(tone, 0.3 * np.sin(2 * np.pi * 440 * np.arange(88_200) / 44_100), 44_100)
        files = {"2 s tone": tone, "demo (93 s)": DEMO}
        if args.skip_demo:
            del files["demo (93 s)"]
        files["dense band (90 s)"] = dense_band.make(tmp / "band.ogg", 90.0)
        seconds = {n: audio.probe(p)[1] or 0.0 for n, p in files.items()}
        runs = process_times(files, profiles, args.repeats, tmp / "out", args.before)
        table = Table(title=f"whole process, median of {args.repeats} (interleaved)")
        cols = ["file", "run", "wall s", "x real time", "CPU s", "vs raw: wall, CPU"]
        cols += ["vs before: wall, CPU"] if args.before else []
        for col in cols:
            table.add_column(col)
        for name in files:
            raw_wall, raw_cpu = _medians(runs[(name, "raw library calls")])
            baselines = ["raw library calls"] + (["before"] if args.before else [])
            for run in [*baselines, *profiles]:
                wall, cpu = _medians(runs[(name, run)])
                label = run if run in baselines else f"analyze --rhythm {run}"
                label = f"analyze, {args.before}" if run == "before" else label
                row = [name, label, f"{wall:.2f}", f"{seconds[name] / wall:.1f}", f"{cpu:.2f}"]
                row.append(f"{wall / raw_wall:.2f}, {cpu / raw_cpu:.2f}")
                if args.before:
                    old_wall, old_cpu = _medians(runs[(name, "before")])
                    row.append(f"{wall / old_wall:.2f}, {cpu / old_cpu:.2f}")
                table.add_row(*row)
        console.print(table)

        recordings = {n: p for n, p in files.items() if n != "2 s tone"}
        stages = stage_times(recordings, profiles)
        names = sorted({s for t in stages.values() for s in t.stages}, key=_stage_order)
        table = Table(title="in-process, warm: wall seconds per stage")
        for col in ("file", "rhythm", *names, "x real time"):
            table.add_column(col)
        for (name, profile), t in stages.items():
            cells = [f"{t.stages.get(s, 0.0):.2f}" for s in names]
            table.add_row(name, profile, *cells, f"{seconds[name] / t.stages['total']:.1f}")
        console.print(table)

        if not args.skip_long:
            path = long_file(files["dense band (90 s)"], args.long_minutes, tmp / "long.flac")
            for profile in profiles:
                pss, rss, wall = peak_memory(path, profile)
                console.print(
                    f"{args.long_minutes:.0f}-minute file, --rhythm {profile}: peak memory "
                    f"{pss:.0f} MB PSS, process and forked children together (target <= "
                    f"2048 MB: {'yes' if pss <= 2048 else 'MISS'}; summed RSS {rss:.0f} MB), "
                    f"{wall:.0f} s wall ({args.long_minutes * 60 / wall:.1f}x real time)"
                )


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    wall, cpu = zip(*runs, strict=True)
    return statistics.median(wall), statistics.median(cpu)


def _stage_order(name: str) -> int:
    order = ["decode", "loudness", "features", "key", "chords", "beats", "meter", "sections"]
    return order.index(name) if name in order else len(order)


if __name__ == "__main__":
    main()
