"""PNG plots of a song's facts: chord timeline on the beat grid, loudness, tempo.

Figures are built with matplotlib's object API (`Figure`, saved by its Agg canvas): no
pyplot state, and matplotlib is imported only when a plot is drawn. A `Plotter` draws them
in a forked child that imports matplotlib while the song is still being measured.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from musicflamingo.facts.forked import Forked, receive, reply
from musicflamingo.facts.harmony import short_name
from musicflamingo.facts.schema import SongFacts
from musicflamingo.theory import pitch_class

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ROW_SECONDS = 60.0
DPI = 100


def _cmap(name: str):
    from matplotlib import colormaps

    return colormaps[name]


def _section_colour(label: str, order: list[str]) -> tuple:
    base = label.rstrip("′")
    if base not in order:
        order.append(base)
    colours = _cmap("Pastel1")  # its 9 colours
    return tuple(colours(order.index(base) % colours.N))


def _chord_colour(label: str) -> tuple:
    if label in ("N", "X"):
        return (0.9, 0.9, 0.9, 1.0)
    root, _, quality = label.partition(":")
    hue = _cmap("hsv")(((pitch_class(root) * 7) % 12) / 12)  # circle of fifths
    minor = quality.startswith(("min", "dim", "hdim"))
    return tuple(0.55 * c + 0.45 * (0.35 if minor else 1.0) for c in hue[:3]) + (1.0,)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def _margins(fig: Figure, left: float, right: float, bottom: float, top: float, gap=0.0) -> None:
    """Fixed margins (and ``gap`` between rows), in inches: the figures' sizes are fixed,
    so this places the axes as `tight_layout` would without its extra text layout pass."""
    width, height = fig.get_size_inches()
    rows = len(fig.axes)
    row = (height - top - bottom - (rows - 1) * gap) / rows
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        hspace=gap / row,
    )


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    return path


def _bands(ax: Axes, facts: SongFacts, order: list[str], label: bool) -> None:
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


def chord_figure(facts: SongFacts) -> Figure:
    """Chords as boxes over the beat grid, one row per minute, section bands behind. The
    time axis ends at the song's end; below a first full minute, the last row is as much
    shorter as its span, so every row has the same seconds per inch."""
    end = max(facts.duration, 1e-3)
    rows = max(1, int(np.ceil(end / ROW_SECONDS)))
    fig = _figure(14, 1.6 * rows + 0.6)
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    order: list[str] = []
    beats, downbeats = np.asarray(facts.beats), np.asarray(facts.downbeats)
    for r, ax in enumerate(axes):
        t0, t1 = r * ROW_SECONDS, min((r + 1) * ROW_SECONDS, end)
        ax.set_xlim(t0, t1)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        _bands(ax, facts, order, label=True)
        for times, grey, lw in ((beats, "0.6", 0.4), (downbeats, "0.2", 1.0)):
            inside = times[(times >= t0) & (times <= t1)]
            if len(inside):
                ax.vlines(inside, 0, 1, color=grey, lw=lw)
        shown = [c for c in facts.chords if c.end >= t0 and c.start <= t1]
        if shown:
            ax.broken_barh(
                [(c.start, c.end - c.start) for c in shown],
                (0.2, 0.5),
                facecolors=[_chord_colour(c.label) for c in shown],
                edgecolors="0.3",
                lw=0.5,
            )
        for c in shown:
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
        axes[0].text(0.5, 0.45, "no chords detected", transform=axes[0].transAxes, ha="center")
    fig.suptitle("Chords on the beat grid (thin: beats, thick: downbeats; bands: sections)")
    _margins(fig, left=0.3, right=0.25, bottom=0.55, top=0.5, gap=0.4)
    if rows > 1:
        box = axes[-1].get_position()
        share = (end - (rows - 1) * ROW_SECONDS) / ROW_SECONDS
        axes[-1].set_position((box.x0, box.y0, box.width * share, box.height))
    return fig


def chord_timeline(facts: SongFacts, path: Path) -> Path:
    return _save(chord_figure(facts), path)


def _curve(facts: SongFacts, path: Path, title: str, ylabel: str, draw) -> Path:
    """A time-series figure with the section bands behind; ``draw(ax)`` plots the data
    (or returns False when there is none)."""
    fig = _figure(14, 3.2)
    ax = fig.subplots()
    _bands(ax, facts, [], label=True)
    ax.set_xlim(0, max(facts.duration, 1e-3))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if draw(ax):
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "none detected", transform=ax.transAxes, ha="center")
    _margins(fig, left=0.8, right=0.25, bottom=0.55, top=0.4)
    return _save(fig, path)


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


class Plotter:
    """`render_all` in a forked child that imports matplotlib (over half a second) as soon
    as it is made, while this process measures the song on the other core. `render` hands
    it the facts and waits for its files (the chord timeline drawn by a child of its own,
    beside the curves); `close` ends a child that was never used, and must follow. Where
    no child can be forked (a daemonic worker, no ``fork``), `render` draws here."""

    def __init__(self) -> None:
        self._conn = None
        try:
            ctx = mp.get_context("fork")
        except ValueError:  # no fork on this platform
            return
        ours, theirs = ctx.Pipe()
        # not daemonic, so it may fork the chord timeline's drawer; `close` always ends it
        self._proc = ctx.Process(target=_draw_sent, args=(theirs, ours))
        try:
            self._proc.start()
        except (AssertionError, OSError):  # a daemonic parent, or no process to be had
            ours.close()
        else:
            self._conn = ours
        theirs.close()

    def render(self, facts: SongFacts, folder: Path) -> dict[str, Path]:
        if self._conn is None:
            return render_all(facts, folder)
        conn, self._conn = self._conn, None
        with contextlib.suppress(BrokenPipeError):  # it died: `receive` says so
            conn.send((facts.to_json(), folder))
        return receive(conn, self._proc, "the plotting process")

    def close(self) -> None:
        if self._conn is not None:
            self._proc.terminate()
            self._proc.join()
            self._conn.close()
            self._conn = None


def _draw_sent(conn, parents_end) -> None:
    """The child: import matplotlib, then draw the facts it is sent (or end, unused)."""
    parents_end.close()
    from matplotlib.backends import backend_agg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401

    try:
        text, folder = conn.recv()
    except EOFError:
        return
    reply(conn, partial(_draw_all, SongFacts.from_json(text), folder))


def _draw_all(facts: SongFacts, folder: Path) -> dict[str, Path]:
    """`render_all`, with the chord timeline drawn by a child of its own beside the curves."""
    chords = Forked(partial(chord_timeline, facts, folder / "chords.png"))  # other core
    try:
        curves = {
            "loudness": loudness_curve(facts, folder / "loudness.png"),
            "tempo": tempo_curve(facts, folder / "tempo.png"),
        }
        return {"chords": chords.result(), **curves}
    finally:
        chords.close()  # ended, if the curves failed first
