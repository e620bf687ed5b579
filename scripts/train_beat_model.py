#!/usr/bin/env python
"""Fit the learned beat/downbeat activation (`musicflamingo.facts.beat_model`) on the train
split of the facts corpus and write ``src/musicflamingo/facts/beat_model.npz``.

    python scripts/render_facts_corpus.py --split train --jobs 2   # once: the audio
    python scripts/train_beat_model.py [--steps 3000] [--seed 0]

Only train pieces are read (their own manifest, ``specs/facts_train.json``: other seeds and
corpus works than dev and test), so dev stays for choosing how the activation is used and
test for measuring it. Targets as in Böck & Davies (ISMIR 2020): 1 at the frame of each
beat (downbeat), 0.5 at its neighbours. Each step draws crops of ``--frames`` frames,
stretches them in time by a factor drawn from [0.75, 1.33] (features and targets together),
so the network sees each piece at many tempi, tilts the spectrum by a smooth random
equaliser (up to ±`EQ_DB` dB) and rotates the chroma by a random number of semitones. A
tenth of the train pieces is held out; the weights kept are those of the step with the
lowest loss on them (checked every 250 steps). Needs torch (the ``train`` extra).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from musicflamingo import audio
from musicflamingo.facts import beat_model
from musicflamingo.facts.features import HOP, SR, spectral

ROOT = Path(__file__).resolve().parents[1]
STRETCH = (0.75, 1.33)
EQ_DB = 10.0
N_MELS, N_CHROMA = 64, 12  # `beat_model.model_inputs`: mel, flux, chroma


class Net(nn.Module):
    """The torch twin of `beat_model.activations` (the same parameter names)."""

    def __init__(self, n_in: int, channels: int, dilations: list[int], dropout: float) -> None:
        super().__init__()
        c, k = channels, beat_model.KERNEL
        self.inp = nn.Conv1d(n_in, c, k, padding=k // 2)
        self.blocks = nn.ModuleList(
            nn.ModuleDict(
                {
                    "dilated": nn.Conv1d(c, c, k, dilation=d, padding=d * (k // 2)),
                    "mix": nn.Conv1d(c, c, 1),
                }
            )
            for d in dilations
        )
        self.out = nn.Conv1d(c, 2, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.elu(self.inp(x))
        for block in self.blocks:
            h = h + block["mix"](self.drop(F.elu(block["dilated"](h))))
        return self.out(h)


def targets(times: list[float], n_frames: int) -> np.ndarray:
    """1 at each time's frame, 0.5 at its neighbours (not over another event's 1)."""
    out = np.zeros(n_frames, np.float32)
    idx = np.round(np.asarray(times) * SR / HOP).astype(int)
    idx = idx[(idx >= 0) & (idx < n_frames)]
    for off in (-1, 1):
        j = np.clip(idx + off, 0, n_frames - 1)
        out[j] = np.maximum(out[j], 0.5)
    out[idx] = 1.0
    return out


def load_piece(ogg: Path, cache: Path) -> dict[str, np.ndarray]:
    text = ogg.with_suffix(".json").read_text()
    truth = json.loads(text)
    path = cache / f"{ogg.stem}-{hashlib.sha1(text.encode()).hexdigest()[:12]}.npz"
    if not path.exists():
        song = audio.load(ogg, SR)
        x = beat_model.model_inputs(spectral(song.samples))
        y = np.stack([targets(truth["beats"], x.shape[1]), targets(truth["downbeats"], x.shape[1])])
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(path, x=x, y=y)
    with np.load(path) as data:
        return {"x": data["x"], "y": data["y"]}


def _augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A smooth random equaliser on the log-mel part and a chroma rotation."""
    bands = np.linspace(0, np.pi, N_MELS)
    curve = sum(rng.uniform(-1, 1) * np.cos(k * bands) for k in (1, 2, 3)) * EQ_DB / 3
    out = x.copy()
    out[:N_MELS] += (curve / beat_model.DB_RANGE).astype(np.float32)[:, None]
    out[-N_CHROMA:] = np.roll(x[-N_CHROMA:], int(rng.integers(N_CHROMA)), axis=0)
    return out


def batch(
    pieces: list[dict[str, np.ndarray]], size: int, frames: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for i in rng.integers(len(pieces), size=size):
        x, y = _augment(pieces[i]["x"], rng), pieces[i]["y"]
        factor = float(np.exp(rng.uniform(*np.log(STRETCH))))
        span = min(x.shape[1], int(np.ceil(frames / factor)) + 2)
        a = int(rng.integers(0, x.shape[1] - span + 1))
        xt = torch.from_numpy(x[None, :, a : a + span])
        xt = F.interpolate(xt, scale_factor=factor, mode="linear", align_corners=False)
        yt = torch.from_numpy(y[None, :, a : a + span])
        yt = F.interpolate(yt, scale_factor=factor, mode="nearest")  # keeps the 1s
        n = min(frames, xt.shape[2])
        xp = torch.zeros(x.shape[0], frames)
        yp = torch.full((2, frames), -1.0)  # -1: padding, masked out of the loss
        xp[:, :n], yp[:, :n] = xt[0, :, :n], yt[0, :, :n]
        xs.append(xp)
        ys.append(yp)
    return torch.stack(xs), torch.stack(ys)


def loss_of(net: Net, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = net(x)
    mask = (y >= 0).float()
    pos = 1.0 + 4.0 * (y > 0).float()  # events are ~1 frame in 20: weigh them up
    bce = F.binary_cross_entropy_with_logits(logits, y.clamp(min=0), reduction="none")
    return (bce * pos * mask).sum() / mask.sum()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data/facts-corpus")
    parser.add_argument("--out", type=Path, default=beat_model.WEIGHTS)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--levels", type=int, default=9, help="dilations 1, 2, 4, ...")
    args = parser.parse_args()
    files = sorted((args.corpus / "train").glob("*.ogg"))
    if not files:
        raise SystemExit(f"error: no train pieces in {args.corpus / 'train'} (render them)")
    cache = args.corpus / ".cache" / "beat_model"
    pieces = [load_piece(f, cache) for f in tqdm(files, desc="features")]
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    held = set(rng.permutation(len(pieces))[: max(1, len(pieces) // 10)].tolist())
    fit = [p for i, p in enumerate(pieces) if i not in held]
    val = [p for i, p in enumerate(pieces) if i in held]
    dilations = [2**i for i in range(args.levels)]
    net = Net(pieces[0]["x"].shape[0], args.channels, dilations, args.dropout)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps)
    t0 = time.time()
    best, best_step, best_state = np.inf, 0, net.state_dict()
    vx, vy = batch(val, 64, args.frames, np.random.default_rng(1))
    progress = tqdm(range(args.steps), desc="train")
    for step in progress:
        net.train()
        x, y = batch(fit, args.batch, args.frames, rng)
        loss = loss_of(net, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0 or step == args.steps - 1:
            net.eval()
            with torch.no_grad():
                held_loss = float(loss_of(net, vx, vy))
            if held_loss < best:
                best, best_step = held_loss, step
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            progress.set_postfix(loss=f"{loss.item():.3f}", held_out=f"{held_loss:.3f}")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    about = {
        "pieces": len(fit),
        "held_out": len(val),
        "steps": args.steps,
        "batch": args.batch,
        "frames": args.frames,
        "lr": args.lr,
        "seed": args.seed,
        "channels": args.channels,
        "dilations": dilations,
        "commit": commit,
        "seconds": round(time.time() - t0),
        "best_step": best_step,
        "held_out_loss": round(best, 4),
    }
    arrays = {k: v.numpy().astype(np.float32) for k, v in best_state.items()}
    np.savez_compressed(
        args.out, about=np.array(json.dumps(about)), dilations=np.array(dilations), **arrays
    )
    print(f"wrote {args.out}: {about}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
