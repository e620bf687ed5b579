"""A benchmark's row of Music Flamingo's published numbers (paper, Table 1) and the best
prior system it lists; each benchmark's recipe holds its own row.

Accuracies and error rates are in percent, judge scores on the judge's own scale. Where
the paper gives no single number (SongCaps) the value is None and the note says why.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from musicflamingo.util import Record

Metric = Literal["accuracy", "judge", "wer", "cer", "submission"]


class PaperRow(Record):
    """One benchmark row of Table 1."""

    model_config = ConfigDict(frozen=True)

    metric: Metric
    music_flamingo: float | None
    best_prior: float | None
    best_prior_system: str | None
    note: str = ""


def row(
    metric: Metric, mf: float | None, prior: float | None, system: str | None, note: str = ""
) -> PaperRow:
    """A `PaperRow` from positional values."""
    return PaperRow(
        metric=metric, music_flamingo=mf, best_prior=prior, best_prior_system=system, note=note
    )
