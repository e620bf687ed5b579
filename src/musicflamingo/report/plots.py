"""PNG plots of a song's facts: chord timeline on the beat grid, loudness, tempo."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from musicflamingo.facts.harmony import short_name  # noqa: E402
from musicflamingo.facts.schema import SongFacts  # noqa: E402
from musicflamingo.theory import pitch_class  # noqa: E402

ROW_SECONDS = 60.0
_SECTION_COLOURS = [tuple(c) for c in plt.get_cmap("Pastel1")(np.arange(9))]  # its 9 colours


def _section_colour(label: str, order: list[str]) -> tuple:
    base = label.rstrip("′")
    if base not in order:
        order.append(base)
    return _SECTION_COLOURS[order.index(base) % len(_SECTION_COLOURS)]


def _chord_colour(label: str) -> tuple:
    if label in ("N", "X"):
        return (0.9, 0.9, 0.9, 1.0)
    root, _, quality = label.partition(":")
    hue = plt.get_cmap("hsv")(((pitch_class(root) * 7) % 12) / 12)  # circle of fifths
    minor = quality.startswith(("min", "dim", "hdim"))
    return tuple(0.55 * c + 0.45 * (0.35 if minor else 1.0) for c in hue[:3]) + (1.0,)


def _bands(ax, facts: SongFacts, order: list[str], label: bool) -> None:
    for s in facts.sections:
        ax.axvspan(s.start, s.end, color=_section_colour(s.label, order), alpha=0.5, lw=0)
        if label:
            ax.text(
                (s.start + s.end) / 2,
                0.97,
                s.label,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=9,
                fontweight="bold",
                clip_on=True,
            )


def chord_timeline(facts: SongFacts, path: Path) -> Path:
    """Chords as boxes over the beat grid, one row per minute, section bands behind."""
    rows = max(1, int(np.ceil(facts.duration / ROW_SECONDS)))
    fig, axes = plt.subplots(rows, 1, figsize=(14, 1.6 * rows + 0.6), squeeze=False)
    order: list[str] = []
    for r, ax in enumerate(axes[:, 0]):
        t0, t1 = r * ROW_SECONDS, min((r + 1) * ROW_SECONDS, max(facts.duration, 1e-3))
        ax.set_xlim(t0, t0 + ROW_SECONDS)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        _bands(ax, facts, order, label=True)
        for b in facts.beats:
            if t0 <= b <= t1:
                ax.axvline(b, color="0.6", lw=0.4)
        for b in facts.downbeats:
            if t0 <= b <= t1:
                ax.axvline(b, color="0.2", lw=1.0)
        for c in facts.chords:
            if c.end < t0 or c.start > t1:
                continue
            ax.add_patch(
                plt.Rectangle(
                    (c.start, 0.2),
                    c.end - c.start,
                    0.5,
                    color=_chord_colour(c.label),
                    ec="0.3",
                    lw=0.5,
                )
            )
            if c.label != "N" and c.end - c.start > 0.6:
                ax.text(
                    (max(c.start, t0) + min(c.end, t1)) / 2,
                    0.45,
                    short_name(c.label),
                    ha="center",
                    va="center",
                    fontsize=8,
                    clip_on=True,
                )
        ax.set_xlabel("time (s)" if r == rows - 1 else "")
    if not facts.chords:
        axes[0, 0].text(
            0.5, 0.45, "no chords detected", transform=axes[0, 0].transAxes, ha="center"
        )
    fig.suptitle("Chords on the beat grid (thin: beats, thick: downbeats; bands: sections)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _curve(facts: SongFacts, path: Path, title: str, ylabel: str, draw) -> Path:
    """A time-series figure with the section bands behind; ``draw(ax)`` plots the data
    (or returns False when there is none)."""
    fig, ax = plt.subplots(figsize=(14, 3.2))
    _bands(ax, facts, [], label=True)
    ax.set_xlim(0, max(facts.duration, 1e-3))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if draw(ax):
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "none detected", transform=ax.transAxes, ha="center")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def loudness_curve(facts: SongFacts, path: Path) -> Path:
    def draw(ax) -> bool:
        loud = facts.loudness
        if not (loud and loud.curve_times):
            return False
        ax.plot(
            loud.curve_times,
            loud.curve_lufs,
            color="tab:blue",
            lw=1.5,
            label="short-term loudness (3 s)",
        )
        if loud.integrated_lufs is not None:
            ax.axhline(
                loud.integrated_lufs,
                color="tab:red",
                ls="--",
                label=f"integrated {loud.integrated_lufs:.1f} LUFS",
            )
        return True

    return _curve(facts, path, "Loudness and energy over time", "LUFS", draw)


def tempo_curve(facts: SongFacts, path: Path) -> Path:
    def draw(ax) -> bool:
        if not (facts.tempo and facts.tempo.curve):
            return False
        bpm = [p.bpm for p in facts.tempo.curve]
        ax.plot(
            [p.time for p in facts.tempo.curve], bpm, color="tab:green", lw=1.5, label="local tempo"
        )
        ax.axhline(facts.tempo.bpm, color="0.3", ls="--", label=f"tempo {facts.tempo.bpm:.1f} BPM")
        pad = max(5.0, 0.1 * (max(bpm) - min(bpm)))
        ax.set_ylim(min(bpm) - pad, max(bpm) + pad)
        return True

    return _curve(facts, path, "Tempo over time", "BPM", draw)


def render_all(facts: SongFacts, folder: Path) -> dict[str, Path]:
    """Write the three plots into ``folder``; returns name -> path."""
    return {
        "chords": chord_timeline(facts, folder / "chords.png"),
        "loudness": loudness_curve(facts, folder / "loudness.png"),
        "tempo": tempo_curve(facts, folder / "tempo.png"),
    }
