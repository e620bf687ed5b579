"""Accuracy of the measured facts on the rendered fixtures, against a librosa baseline.

    python benchmarks/facts_accuracy.py [FIXTURE_DIR]

Ours: `musicflamingo.facts.extract.analyze` (lyrics off). Baseline, in the same run:
"librosa-plain" = librosa beat_track (tempo, beats), Krumhansl-Kessler key on mean CQT
chroma, beat-wise major/minor triad templates on CQT chroma (chords), a fixed 4/4 bar
from the first beat (downbeats, meter), librosa agglomerative clustering into 6 parts
(sections). Metrics are mir_eval's; targets from the foundation issue. Lyrics: word error
rate (jiwer) of the default Whisper decode on the demo song against its sung text.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import jiwer
import librosa
import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from musicflamingo import audio
from musicflamingo.facts import lyrics
from musicflamingo.facts.extract import FactsConfig, analyze
from musicflamingo.facts.scoring import TARGETS, Estimate, Truth, mean_scores, score
from musicflamingo.facts.tonality import key_name, profile_scores

ROOT = Path(__file__).resolve().parents[1]
SR = 22_050


def baseline(path: Path) -> Estimate:
    y = audio.load(path, SR).samples
    tempo, frames = librosa.beat.beat_track(y=y, sr=SR)
    beats = librosa.frames_to_time(frames, sr=SR)
    chroma = librosa.feature.chroma_cqt(y=y, sr=SR)
    (pc, mode), _ = max(profile_scores(chroma.mean(axis=1)).items(), key=lambda kv: kv[1])
    sync = librosa.util.sync(chroma, frames, aggregate=np.median)
    templates, names = [], []
    for root in range(12):
        for quality, third in (("maj", 4), ("min", 3)):
            t = np.zeros(12)
            t[[root, (root + third) % 12, (root + 7) % 12]] = 1
            templates.append(t / np.linalg.norm(t))
            names.append(
                f"{librosa.midi_to_note(root + 60, octave=False, unicode=False)}:{quality}"
            )
    labels = [names[i] for i in (np.array(templates) @ sync).argmax(axis=0)]
    edges = [0.0, *beats.tolist(), len(y) / SR]
    chords = [
        (a, b, lab) for a, b, lab in zip(edges[:-1], edges[1:], labels, strict=False) if b > a
    ]
    bounds = librosa.segment.agglomerative(sync, min(6, sync.shape[1]))
    times = sorted({0.0, *[edges[i] for i in bounds if i > 0], len(y) / SR})
    sections = [(a, b, "?") for a, b in zip(times[:-1], times[1:], strict=True)]
    return Estimate(
        tempo_bpm=float(np.atleast_1d(tempo)[0]),
        beats=beats.tolist(),
        downbeats=beats[::4].tolist(),
        meter="4/4",
        key=f"{key_name(pc, mode)} {mode}",
        chords=chords,
        sections=sections,
    )


def demo_lyrics_wer() -> float:
    """Word error rate of the default lyrics decode on the demo song (case and punctuation
    ignored)."""
    truth = json.loads((ROOT / "examples" / "demo" / "demo.json").read_text())
    found = analyze(ROOT / "examples" / "demo" / "demo.mp3", FactsConfig()).lyrics
    hyp = "" if found is None else found.text.replace("\n", " ")

    def norm(text: str) -> str:
        return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())

    return float(jiwer.wer(norm(" ".join(line for *_, line in truth["lyrics"])), norm(hyp)))


def main(folder: Path) -> None:
    truths = sorted(folder.glob("*.json"))
    truths = [t for t in truths if t.name != "index.json"]
    config = FactsConfig(lyrics_model=None)
    ours_rows, base_rows, per_piece = [], [], []
    for truth_path in track(truths, description="scoring fixtures"):
        truth = Truth.load(truth_path)
        song = truth_path.with_suffix(".ogg")
        facts = analyze(song, config)
        ours = score(Estimate.from_facts(facts), truth)
        ours_rows.append(ours)
        base_rows.append(score(baseline(song), truth))
        per_piece.append((truth, facts, ours))
    console = Console(width=130)
    detail = Table(title="ours, per piece")
    for col in (
        "piece",
        "tempo ref/est",
        "meter ref/est",
        "key ref/est",
        "beat F",
        "downbeat F",
        "majmin",
        "sect F@3",
    ):
        detail.add_column(col)
    for truth, facts, s in per_piece:
        detail.add_row(
            truth.name,
            f"{truth.tempo_bpm:.0f}/{facts.tempo.bpm:.0f}"
            if facts.tempo
            else f"{truth.tempo_bpm:.0f}/-",
            f"{truth.meter}/{facts.meter.label if facts.meter else '-'}",
            f"{truth.key}/{facts.key.label if facts.key else '-'}",
            f"{s['beat_f']:.2f}",
            f"{s['downbeat_f']:.2f}",
            "-" if s["chord_majmin"] is None else f"{s['chord_majmin']:.2f}",
            "-" if s["section_f_3"] is None else f"{s['section_f_3']:.2f}",
        )
    console.print(detail)
    ours_mean, base_mean = mean_scores(ours_rows), mean_scores(base_rows)
    table = Table(title=f"facts accuracy on {len(truths)} rendered fixtures (mir_eval)")
    for col in ("metric", "target", "ours", "librosa-plain", "ours / baseline", "meets target"):
        table.add_column(col)
    for metric, target in TARGETS.items():
        o, b = ours_mean.get(metric), base_mean.get(metric)
        if o is None:
            continue
        ratio = f"{o / b:.2f}×" if b else "∞" if o else "-"
        verdict = "-" if target is None else ("yes" if o >= target else "MISS")
        table.add_row(
            metric,
            "-" if target is None else f"≥ {target:.2f}",
            f"{o:.3f}",
            f"{b:.3f}",
            ratio,
            verdict,
        )
    console.print(table)
    console.print(
        f"lyrics word error rate on the demo song (Whisper tiny.en, {lyrics.COMPUTE_TYPE}): "
        f"{demo_lyrics_wer():.2f}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data" / "fixtures")
