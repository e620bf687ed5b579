"""Run results: per-benchmark measures beside the paper's numbers, as JSON, Markdown and a
bar chart, and a side-by-side comparison of several runs.

A benchmark's result holds one `Measure` per way of reading the answers: the benchmark's
own rule on the raw output (exactly as its official script reads it), the same rule on
the extracted ``<answer>`` part, and optionally an LLM answer extractor; each names its
rule and extraction. Accuracy and error rates are in percent, judge scores on the judge's
scale. Items whose audio is missing or whose generation failed are counted, not scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict

from musicflamingo.util import Record, atomic_write

from .aggregate import BREAKDOWN_KEYS, aggregate
from .items import BenchItem, Score
from .lyrics import ErrorRates, error_rates, strip_sheet_markup
from .paper import Metric, PaperRow
from .scorers import EXTRACTIONS

RESULTS_JSON, RESULTS_MD, RESULTS_PNG = "results.json", "results.md", "results.png"
ANSWER_EXTRACTION = EXTRACTIONS["answer"]
_LIST_CAP = 20


class _Frozen(Record):
    model_config = ConfigDict(frozen=True)


class RunConfig(_Frozen):
    """What produced a run (a model, an endpoint or a predictions file); reruns into the
    same folder must match `identity`."""

    model: str | None = None
    predictions: str | None = None
    endpoint: str | None = None
    endpoint_model: str | None = None
    think: bool = False
    seed: int = 0
    limit: int | None = None
    max_new_tokens: int | None = None
    prompt_version: str
    data_root: str

    def identity(self) -> dict[str, object]:
        return self.model_dump(exclude={"data_root"})

    @property
    def label(self) -> str:
        if self.endpoint:
            return f"{self.endpoint_model or 'endpoint'} @ {self.endpoint}"
        if self.predictions:
            return f"predictions {self.predictions}"
        return str(self.model)


class Group(_Frozen):
    n: int
    value: float | None
    unanswered_rate: float | None = None


class Measure(_Frozen):
    """One number for a benchmark and how it was produced."""

    value: float | None
    rule: str
    extraction: str = ANSWER_EXTRACTION
    n_scored: int
    unanswered_rate: float | None = None
    breakdowns: dict[str, dict[str, Group]] = {}
    details: dict[str, int | float | str] = {}


class BenchResult(_Frozen):
    """One benchmark of a run: coverage, measures and the paper's row."""

    benchmark: str
    title: str
    metric: Metric
    availability: str
    n_items: int = 0
    n_missing_audio: int = 0
    missing_audio: list[str] = []
    errors: dict[str, str] = {}
    measures: list[Measure] = []
    paper: PaperRow | None = None
    note: str = ""


class RunResults(_Frozen):
    config: RunConfig
    benchmarks: list[BenchResult]


def _pct(x: float) -> float:
    return round(100.0 * x, 2)


def accuracy_measure(scores: Sequence[Score], extraction: str = ANSWER_EXTRACTION) -> Measure:
    """Accuracy and unanswered rate (percent), overall and per metadata breakdown key."""
    report = aggregate(scores)
    return Measure(
        value=_pct(report.overall.accuracy) if scores else None,
        rule=", ".join(report.rules) or "-",
        extraction=extraction,
        n_scored=len(scores),
        unanswered_rate=_pct(report.overall.unanswered_rate) if scores else None,
        breakdowns={
            key: {
                v: Group(n=g.n, value=_pct(g.accuracy), unanswered_rate=_pct(g.unanswered_rate))
                for v, g in groups.items()
            }
            for key, groups in report.breakdowns.items()
        },
    )


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 3) if values else None


def judge_measure(
    items: Sequence[BenchItem],
    scores: Mapping[str, float | None],
    answered: Mapping[str, bool],
    rule: str,
) -> Measure:
    """Mean judge score over the items the judge scored; unreadable verdicts are counted."""
    scored = [i for i in items if scores.get(i.id) is not None]
    scored_values = {i.id: float(scores[i.id] or 0.0) for i in scored}
    breakdowns: dict[str, dict[str, Group]] = {}
    for key in BREAKDOWN_KEYS:
        groups: dict[str, list[BenchItem]] = {}
        for item in scored:
            if key in item.metadata:
                groups.setdefault(item.metadata[key], []).append(item)
        if groups:
            breakdowns[key] = {
                v: Group(n=len(g), value=_mean(scored_values[i.id] for i in g))
                for v, g in sorted(groups.items())
            }
    return Measure(
        value=_mean(scored_values.values()),
        rule=rule,
        n_scored=len(scored),
        unanswered_rate=_pct(sum(not answered[i.id] for i in items) / len(items))
        if items
        else None,
        breakdowns=breakdowns,
        details={"unreadable_verdicts": len(items) - len(scored)},
    )


def lyrics_measure(
    items: Sequence[BenchItem], texts: Mapping[str, str], language: Literal["en", "zh"]
) -> Measure:
    """Corpus WER/CER (percent, normalised; raw in details) of the lyric sheets with their
    markup stripped, overall and per language/category."""
    if not items:
        return Measure(value=None, rule=f"{language} error rate", n_scored=0)

    def rates(group: Sequence[BenchItem]) -> ErrorRates:
        return error_rates(
            [i.answer for i in group],
            [strip_sheet_markup(texts[i.id]) for i in group],
            language=language,
        )

    overall = rates(items)
    empty = sum(not strip_sheet_markup(texts[i.id]) for i in items)
    groups: dict[str, list[BenchItem]] = {}
    for item in items:
        if "category" in item.metadata:
            groups.setdefault(item.metadata["category"], []).append(item)
    breakdown = {v: Group(n=len(g), value=_pct(rates(g).normalised)) for v, g in groups.items()}
    return Measure(
        value=_pct(overall.normalised),
        rule=f"{overall.rule}+strip_sheet_markup",
        n_scored=len(items),
        unanswered_rate=_pct(empty / len(items)),
        breakdowns={"category": breakdown} if breakdown else {},
        details={"raw": _pct(overall.raw), "reference_units": overall.reference_units},
    )


# --- rendering ------------------------------------------------------------------------------


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:g}"


def _paper_cells(paper: PaperRow | None) -> tuple[str, str]:
    if paper is None:
        return "–", "–"
    prior = _num(paper.best_prior)
    if paper.best_prior is not None and paper.best_prior_system:
        prior = f"{prior} ({paper.best_prior_system})"
    return _num(paper.music_flamingo), prior


def _metric_label(metric: str) -> str:
    return {"accuracy": "acc %", "wer": "WER % ↓", "cer": "CER % ↓"}.get(metric, metric)


def _listing(title: str, entries: Sequence[str]) -> list[str]:
    shown = [f"- {e}" for e in entries[:_LIST_CAP]]
    if len(entries) > _LIST_CAP:
        shown.append(f"- … and {len(entries) - _LIST_CAP} more")
    return [f"{title}:", "", *shown, ""]


def render_markdown(results: RunResults) -> str:
    """The run as Markdown: the main table, notes, breakdowns, missing audio and errors."""
    c = results.config
    how = (
        "scored from a predictions file"
        if c.predictions
        else f"think: {c.think} · seed: {c.seed} · limit: {c.limit or 'all'} · "
        f"prompts: {c.prompt_version}"
    )
    lines = [
        f"# Evaluation: {c.label}",
        "",
        f"{how} · data: {c.data_root}",
        "",
        "| benchmark | metric | this run | Music Flamingo (paper) | best prior (paper) "
        "| scored / items | missing audio | errors | unanswered % | rule | extraction |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    for b in results.benchmarks:
        mf, prior = _paper_cells(b.paper)
        head = f"| {b.benchmark} | {_metric_label(b.metric)} |"
        tail = f"| {mf} | {prior} |"
        if not b.measures:
            lines.append(f"{head} – {tail} – | – | – | – | – | not run |")
        for m in b.measures:
            lines.append(
                f"{head} {_num(m.value)} {tail} {m.n_scored} / {b.n_items} "
                f"| {b.n_missing_audio} | {len(b.errors)} | {_num(m.unanswered_rate)} "
                f"| {m.rule} | {m.extraction} |"
            )
        parts = [
            f"data: {b.note}" if b.note else "",
            f"paper: {b.paper.note}" if b.paper and b.paper.note else "",
        ]
        if any(parts):
            notes.append(f"- **{b.benchmark}**: " + "; ".join(x for x in parts if x))
    lines += ["", "Notes:", "", *notes, ""] if notes else [""]
    for b in results.benchmarks:
        for m in b.measures[:1]:
            for key, groups in m.breakdowns.items():
                if len(groups) < 2:
                    continue
                lines += [
                    f"### {b.benchmark} by {key}",
                    "",
                    f"| {key} | n | {_metric_label(b.metric)} | unanswered % |",
                    "|---|---|---|---|",
                    *(
                        f"| {v} | {g.n} | {_num(g.value)} | {_num(g.unanswered_rate)} |"
                        for v, g in groups.items()
                    ),
                    "",
                ]
        if b.missing_audio:
            lines += _listing(f"**{b.benchmark}**: missing audio", b.missing_audio)
        if b.errors:
            lines += _listing(
                f"**{b.benchmark}**: failed items", [f"{k}: {v}" for k, v in b.errors.items()]
            )
    return "\n".join(lines).rstrip() + "\n"


def plot(results: RunResults, path: str | Path) -> Path:
    """Bar chart PNG: per benchmark, this run beside the paper's MF and best prior."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [b for b in results.benchmarks if b.measures]
    cols = min(4, max(1, len(shown)))
    rows = max(1, -(-len(shown) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.flat[len(shown) :]:
        ax.axis("off")
    colours = ("#4c72b0", "#55a868", "#c44e52")
    for ax, b in zip(axes.flat, shown, strict=False):
        paper = b.paper
        labels = [
            "this run",
            "MF (paper)",
            paper.best_prior_system or "prior" if paper else "prior",
        ]
        values = [
            b.measures[0].value,
            paper.music_flamingo if paper else None,
            paper.best_prior if paper else None,
        ]
        ax.bar(labels, [v or 0.0 for v in values], color=colours)
        ax.set_ylim(0, 1.15 * max([v or 0.0 for v in values] + [1.0]))
        for i, v in enumerate(values):
            ax.text(i, v or 0.0, _num(v), ha="center", va="bottom", fontsize=7)
        ax.set_title(f"{b.benchmark} ({_metric_label(b.metric)})", fontsize=9)
        ax.tick_params(axis="x", labelsize=7, rotation=15)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(results.config.label, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
    return path


def write(results: RunResults, out_dir: str | Path) -> dict[str, Path]:
    """``results.json``, ``results.md`` and ``results.png`` in `out_dir`."""
    out = Path(out_dir)
    paths = {"json": out / RESULTS_JSON, "md": out / RESULTS_MD, "png": out / RESULTS_PNG}
    atomic_write(paths["json"], results.model_dump_json(indent=2))
    atomic_write(paths["md"], render_markdown(results))
    atomic_write(paths["png"], lambda tmp: plot(results, tmp))
    return paths


def load(run_dir: str | Path) -> RunResults:
    """The results of a finished run folder."""
    path = Path(run_dir) / RESULTS_JSON
    if not path.is_file():
        raise FileNotFoundError(
            f"{run_dir}: no {RESULTS_JSON}; rerun `musicflamingo eval` with --out {run_dir} "
            "to finish it (finished items are kept)"
        )
    return RunResults.model_validate_json(path.read_text(encoding="utf-8"))


def compare(run_dirs: Sequence[str | Path]) -> str:
    """Markdown table of several runs side by side with the paper's numbers.

    A cell is the official measure; a benchmark whose runs used different rules or item
    counts is flagged, since such numbers are not comparable.
    """
    runs = [(Path(d).name, load(d)) for d in run_dirs]
    names = list(dict.fromkeys(b.benchmark for _, r in runs for b in r.benchmarks))
    head = " | ".join(f"{name} ({r.config.label})" for name, r in runs)
    lines = [
        f"| benchmark | metric | {head} | Music Flamingo (paper) | best prior (paper) |",
        "|---|---|" + "---|" * len(runs) + "---|---|",
    ]
    flags: list[str] = []
    for bench in names:
        found = [next((b for b in r.benchmarks if b.benchmark == bench), None) for _, r in runs]
        first = next(b for b in found if b is not None)
        official = [b.measures[0] if b and b.measures else None for b in found]
        cells = ["–" if m is None else f"{_num(m.value)} (n={m.n_scored})" for m in official]
        mf, prior = _paper_cells(first.paper)
        lines.append(
            f"| {bench} | {_metric_label(first.metric)} | {' | '.join(cells)} | {mf} | {prior} |"
        )
        present = [m for m in official if m is not None]
        if len({m.rule for m in present}) > 1 or len({m.n_scored for m in present}) > 1:
            flags.append(f"- **{bench}**: runs differ in rule or scored items; not comparable")
    return "\n".join(lines + ([""] + flags if flags else [])) + "\n"


def report(run_dirs: Sequence[str | Path]) -> str:
    """Markdown for ``musicflamingo eval report RUN…``: one run's full report, or several
    runs side by side (no model code is imported)."""
    if len(run_dirs) == 1:
        return render_markdown(load(run_dirs[0]))
    return compare(run_dirs)
