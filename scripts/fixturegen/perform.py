"""A played rather than sequenced rendering: the microtiming and dynamics of musicians.

Players place notes around the beat, not on it. Each part keeps its own lag (a bass
laid back, a lead ahead: ensemble asynchronies of tens of ms, Rasch 1979), and each onset
scatters around that (onset SD 10-20 ms in skilled performance, less for a drummer;
Repp 2005); loudness varies note to note. The beats a listener marks stay on the score's
grid (the mean of the scatter), so the truth is unchanged.
"""

from __future__ import annotations

import numpy as np
import pretty_midi
from pydantic import Field

from musicflamingo.util import Record


class Performance(Record):
    """Microtiming and dynamics, in seconds and MIDI velocity steps (standard deviations)."""

    part_lag_s: float = Field(default=0.010, ge=0)
    onset_s: float = Field(default=0.015, ge=0)
    drum_onset_s: float = Field(default=0.008, ge=0)
    velocity: float = Field(default=8.0, ge=0)
    clip_sd: float = Field(default=2.5, gt=0)  # no deviation beyond this many SDs


def perform(pm: pretty_midi.PrettyMIDI, style: Performance, rng: np.random.Generator) -> None:
    """Move each part's notes off the grid in place: one lag per part, one deviation per
    onset (the notes of a chord start together), velocities scattered; durations kept."""

    def draw(sd: float, n: int = 1) -> np.ndarray:
        return np.clip(rng.normal(0.0, sd, n), -style.clip_sd * sd, style.clip_sd * sd)

    for inst in pm.instruments:
        lag = float(draw(style.part_lag_s)[0])
        starts = sorted({n.start for n in inst.notes})
        sd = style.drum_onset_s if inst.is_drum else style.onset_s
        shift = dict(zip(starts, lag + draw(sd, len(starts)), strict=True))
        for n, dv in zip(inst.notes, draw(style.velocity, len(inst.notes)), strict=True):
            length = n.end - n.start
            n.start = max(0.0, n.start + float(shift[n.start]))
            n.end = n.start + length
            n.velocity = int(np.clip(round(n.velocity + dv), 1, 127))
