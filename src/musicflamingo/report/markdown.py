"""The Markdown report a musician reads: summary, sections with their chords, lyrics."""

from __future__ import annotations

from pathlib import Path

from musicflamingo.facts.schema import SongFacts
from musicflamingo.util import clock

LYRIC_LINES = 12


def _none(facts: SongFacts, kind: str) -> str:
    why = facts.undetected.get(kind)
    return f"none detected ({why})" if why else "none detected"


def summary_rows(facts: SongFacts) -> list[tuple[str, str]]:
    """(aspect, value) pairs shared by the Markdown report and the terminal table."""
    rows = [("Duration", clock(facts.duration, 1))]
    if facts.tempo:
        drift = (
            "steady"
            if facts.tempo.stable
            else (
                f"drifts {min(p.bpm for p in facts.tempo.curve):.0f}–"
                f"{max(p.bpm for p in facts.tempo.curve):.0f} BPM"
            )
        )
        rows.append(
            (
                "Tempo",
                f"{facts.tempo.bpm:.1f} BPM ({drift}, confidence {facts.tempo.confidence:.2f})",
            )
        )
    else:
        rows.append(("Tempo", _none(facts, "tempo")))
    rows.append(
        (
            "Meter",
            f"{facts.meter.label} (confidence {facts.meter.confidence:.2f})"
            if facts.meter
            else _none(facts, "meter"),
        )
    )
    if facts.key:
        runner = f"; runner-up {facts.key.runner_up.label}" if facts.key.runner_up else ""
        tuned = f"; A = {facts.key.tuning_hz:.1f} Hz" if facts.key.tuning_hz else ""
        strength = f"strength {facts.key.confidence:.2f}{runner}{tuned}"
        rows.append(("Key", f"{facts.key.label} ({strength})"))
    else:
        rows.append(("Key", _none(facts, "key")))
    if facts.keys:
        spans = (f"{k.label} {clock(k.start)}–{clock(k.end)}" for k in facts.keys)
        rows.append(("Key changes", ", then ".join(spans)))
    rows.append(("Chords", facts.progression or _none(facts, "chords")))
    if facts.loudness:
        lo = facts.loudness
        lufs = "—" if lo.integrated_lufs is None else f"{lo.integrated_lufs:.1f} LUFS"
        lra = "—" if lo.range_lu is None else f"{lo.range_lu:.1f} LU"
        rows.append(("Loudness", f"{lufs}, range {lra}, peak {lo.peak_dbfs:.1f} dBFS"))
    if facts.vocals is not None:
        rows.append(
            (
                "Vocals",
                f"present in {facts.vocals.fraction:.0%} of the song"
                if facts.vocals.present
                else "none detected",
            )
        )
    rows.append(("Sections", " ".join(s.label for s in facts.sections) or _none(facts, "sections")))
    return rows


def render(facts: SongFacts, plots: dict[str, Path] | None = None) -> str:
    name = Path(facts.source.path).name
    out = [f"# {name}", "", "| aspect | measured |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in summary_rows(facts)]
    out.append("")
    if plots and "chords" in plots:
        out += ["![chord timeline](chords.png)", ""]
    if facts.sections:
        bars = facts.meter.beats_per_bar if facts.meter else None
        keyed = bool(facts.keys)  # a key column when the song modulates
        out += ["## Sections", ""]
        out.append(
            "| # | time | label | group | bars |" + (" key |" if keyed else "") + " chords |"
        )
        out.append("|---|---|---|---|---|---|" + ("---|" if keyed else ""))
        for i, s in enumerate(facts.sections, 1):
            n = sum(s.start - 0.05 <= d < s.end - 0.05 for d in facts.downbeats) if bars else "—"
            mid = (s.start + s.end) / 2
            key = next((f" {k.label} |" for k in facts.keys if k.start <= mid < k.end), " — |")
            out.append(
                f"| {i} | {clock(s.start, 1)}–{clock(s.end, 1)} | {s.label} | "
                f"{s.group or '—'} | {n} |{key if keyed else ''} {s.progression or '—'} |"
            )
        out.append("")
    if plots:
        out += ["## Dynamics and tempo", ""]
        out += [f"![{k}]({p.name})" for k, p in plots.items() if k != "chords"]
        out.append("")
    out += ["## Lyrics", ""]
    if facts.lyrics:
        lines = facts.lyrics.lines
        out += [f"- `{clock(line.start, 1)}` {line.text}" for line in lines[:LYRIC_LINES]]
        if len(lines) > LYRIC_LINES:
            out.append(f"- … {len(lines) - LYRIC_LINES} more lines in facts.json")
    else:
        out.append(_none(facts, "lyrics"))
    out += ["", "## How these were measured", ""]
    out += [f"- {kind}: `{backend}`" for kind, backend in facts.backends.items()]
    src = facts.source
    out += [
        "",
        f"Source: {src.container}/{src.codec}, {src.sample_rate} Hz, {src.channels} ch"
        + (", one channel's polarity inverted (heard as L − R)" if src.inverted_channel else "")
        + f", {src.size_bytes / 1e6:.1f} MB. Facts schema {facts.schema_version}.",
        "",
    ]
    return "\n".join(out)
