"""`eval score` against the official scripts, layering, and the runner's handling of bad
audio paths, bad items, damaged files and judge replies (real files, a real HTTP server)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from mfserver import serve
from styles import outputs

from musicflamingo.bench import registry
from musicflamingo.bench.endpoint import _judge_reply
from musicflamingo.bench.items import Prediction, write_predictions
from musicflamingo.bench.runner import run
from musicflamingo.llm.base import Completion

# The official numbers below come from running the upstream scripts, unchanged, on the
# outputs of `styles.outputs` for the excerpts in tests/data/bench (raw outputs; and the
# same outputs reduced to their <answer> part by `model.parsing.extract`):
#   MMAU: Sakshi113/MMAU evaluation.py at 110127f54c0dfba3faa5ec9feee4a7e4148679c5,
#     "Total Accuracy: 36.59% over 41 samples" (raw), "53.66% over 41 samples" (answer);
#   MuChoMusic: mulab-mir/muchomusic muchomusic_eval/scoring.py (extract_responses,
#     compare_answers) at d3c9a423d006c545b86472c0c1cfacce7058cfc5: 23/42 correct,
#     6 unanswered (raw); 27/42 correct, 9 unanswered (answer).
UPSTREAM = {
    ("mmau", "raw"): (36.59, None),
    ("mmau", "answer"): (53.66, None),
    ("muchomusic", "raw"): (round(100 * 23 / 42, 2), round(100 * 6 / 42, 2)),
    ("muchomusic", "answer"): (round(100 * 27 / 42, 2), round(100 * 9 / 42, 2)),
}
FILES = {"mmau": "mmau-test-mini.json", "muchomusic": "muchomusic-questions.jsonl"}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "musicflamingo", "eval", *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def scored(bench_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("data")
    files = {}
    for name, file in FILES.items():
        (root / name).mkdir()
        shutil.copy(bench_dir / file, root / name / file)
        items = registry.get(name).load(root).items
        path = root / f"{name}-predictions.jsonl"
        write_predictions(path, [Prediction(item_id=k, text=v) for k, v in outputs(items).items()])
        files[name] = path
    return root, files


@pytest.mark.parametrize(("name", "extraction"), list(UPSTREAM))
def test_eval_score_reproduces_the_official_scripts(scored, name: str, extraction: str) -> None:
    root, files = scored
    out = root / f"scored-{name}-{extraction}"
    args = ["score", name, "--predictions", str(files[name]), "--data-root", str(root)]
    r = _cli(*args, "--extraction", extraction, "--format", "json", "--out", str(out))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    accuracy, unanswered = UPSTREAM[name, extraction]
    assert got["value"] == accuracy
    if unanswered is not None:
        assert got["unanswered_rate"] == unanswered
    assert got["extraction"].startswith("none: the raw output") == (extraction == "raw")
    assert got["details"]["items_without_prediction"] == 0
    assert (out / "results.md").is_file() and (out / name / "scores.jsonl").is_file()


def test_eval_score_table_and_bad_input(scored, tmp_path: Path) -> None:
    root, files = scored
    r = _cli("score", "mmau", "--predictions", str(files["mmau"]), "--data-root", str(root))
    assert r.returncode == 0, r.stderr
    assert "| mmau |" in r.stdout and "| 36.59 |" in r.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "not-an-mmau-id", "output": "A"}\n', encoding="utf-8")
    r = _cli("score", "mmau", "--predictions", str(bad), "--data-root", str(root))
    assert r.returncode == 1 and "not mmau items" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2
    bad.write_text('{"id": "x", "output": "A"}\n{"id": "x"\n', encoding="utf-8")
    r = _cli("score", "mmau", "--predictions", str(bad), "--data-root", str(root))
    assert r.returncode == 1 and "bad.jsonl:2" in r.stderr and "Traceback" not in r.stderr


def test_bench_and_parsing_import_without_torch() -> None:
    code = (
        "import sys\n"
        "import musicflamingo.model.parsing, musicflamingo.bench.registry\n"
        "from musicflamingo.bench.runner import run, score\n"
        "from musicflamingo.bench.endpoint import EndpointModel, audio_part\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


class Recorder:
    """A `TextLLM` that keeps every request and answers "Piano"."""

    model_id = "recorder"

    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []
        self.lock = threading.Lock()

    def complete(self, messages: list[dict[str, Any]], **_: Any) -> Completion:
        with self.lock:
            self.requests.append(messages)
        return Completion("Piano", self.model_id, 0, 1)


def _tone(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(8000) / 16000
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32), 16000)
    return path


def _mmau_root(tmp: Path, bench_dir: Path, audio: list[str]) -> Path:
    """An MMAU folder whose first records point at `audio`."""
    records = [
        r for r in json.loads((bench_dir / FILES["mmau"]).read_text()) if r["task"] == "music"
    ]
    records = [dict(r, audio_id=a) for r, a in zip(records, audio, strict=False)]
    (tmp / "data" / "mmau").mkdir(parents=True)
    (tmp / "data" / "mmau" / FILES["mmau"]).write_text(json.dumps(records), encoding="utf-8")
    return tmp / "data"


def test_audio_outside_the_data_root_or_not_audio_is_never_sent(bench_dir, tmp_path) -> None:
    secret = _tone(tmp_path / "secret.wav")  # real audio, but outside the data root
    root = _mmau_root(tmp_path, bench_dir, ["a.wav", "../secret.wav", str(secret), "link.wav",
                                             "notes.wav", "b.wav"])  # fmt: skip
    _tone(root / "mmau" / "a.wav")
    _tone(root / "mmau" / "b.wav")
    (root / "mmau" / "link.wav").symlink_to(secret)
    (root / "mmau" / "notes.wav").write_text("private notes, not audio\n" * 50)
    llm = Recorder()
    with serve(llm) as url:
        outcome = run(["mmau"], endpoint=url, data_root=root, out_dir=tmp_path / "out",
                      batch_size=8, progress=False)  # fmt: skip
    (result,) = outcome.benchmarks
    assert len(llm.requests) == 2  # a.wav and b.wav once each: the bad item resent nothing
    sent = [p for m in llm.requests for p in m[-1]["content"] if p["type"] == "input_audio"]
    assert {len(p["input_audio"]["data"]) for p in sent} == {
        len(__import__("base64").b64encode((root / "mmau" / "a.wav").read_bytes()))
    }
    items = registry.get("mmau").load(root).items
    errors = {items[k].audio: result.errors[items[k].id] for k in range(1, 5)}
    for audio in ("../secret.wav", str(secret), "link.wav"):
        assert "leaves the data root" in errors[audio]
    assert "notes.wav" in errors["notes.wav"] and "AudioError" in errors["notes.wav"]
    assert result.measures[0].n_scored == 2


def test_damaged_lines_are_skipped_and_a_torn_run_json_is_one_clear_error(
    bench_dir, tmp_path, caplog
) -> None:
    root = _mmau_root(tmp_path, bench_dir, ["a.wav", "b.wav", "c.wav"])
    for name in ("a", "b", "c"):
        _tone(root / "mmau" / f"{name}.wav")
    out = tmp_path / "out"
    llm = Recorder()
    with serve(llm) as url:
        kw = dict(endpoint=url, data_root=root, out_dir=out, progress=False)
        run(["mmau"], **kw)
        assert len(llm.requests) == 3
        rows = (out / "mmau" / "outputs.jsonl").read_text().splitlines()
        rows[1] = rows[1][:20] + "\x00garbage"  # a damaged middle line
        (out / "mmau" / "outputs.jsonl").write_text("\n".join(rows) + "\n")
        with caplog.at_level(logging.WARNING):
            outcome = run(["mmau"], **kw)
        assert len(llm.requests) == 4  # only the damaged item asked again
        assert "outputs.jsonl:2: damaged line skipped" in caplog.text
        assert outcome.benchmarks[0].measures[0].n_scored == 3
        (out / "run.json").write_text('{"model": null, "endpoi')
        with pytest.raises(ValueError, match=r"run.json is damaged .*delete it"):
            run(["mmau"], **kw)
    assert not list(out.glob(".run.json.*"))  # written atomically: no temporaries left


@pytest.mark.parametrize(
    ("reply", "score", "reason"),
    [
        ('{"score": 7, "reason": "close"}', 7.0, "close"),
        ('```json\n{"score": 9, "reason": "good",}\n```', 9.0, "good"),
        ('Sure! {"score": "4", "reason": "vague"} Hope this helps.', 4.0, "vague"),
        ('{"score": 8}', 8.0, ""),
        ('{"score": 11, "reason": "too high"}', None, "score 11 outside 1-10"),
        ('{"score": 0}', None, "score 0 outside 1-10"),
        ('{"reason": "no score"}', None, "unreadable judge reply"),
        ('{"score": "great"}', None, "unreadable judge reply"),
        ("I would give it a seven.", None, "unreadable judge reply"),
        ("", None, "unreadable judge reply"),
        ('{"score": 6, "reason": "cut off', 6.0, ""),  # the score was written in full
    ],
)
def test_judge_reply(reply: str, score: float | None, reason: str) -> None:
    spec = registry.get("musiccaps").judge
    assert _judge_reply(reply, spec) == (score, reason)


def test_every_recipe_module_is_discovered_and_complete() -> None:
    import pkgutil

    from musicflamingo.bench import recipes
    from musicflamingo.bench.loaders import LoadedBenchmark

    modules = {m.name for m in pkgutil.iter_modules(recipes.__path__)}
    found = {
        name
        for name in modules
        for r in __import__(f"musicflamingo.bench.recipes.{name}", fromlist=["RECIPES"]).RECIPES
        if registry.get(r.name) is r
    }
    assert found == modules and len(registry.REGISTRY) == 16
    empty = LoadedBenchmark(benchmark="x", source=Path("x"), items=[], answer_vocabulary=[])
    for recipe in registry.REGISTRY.values():
        assert recipe.paper is not None and recipe.paper.metric in (recipe.metric, "accuracy")
        if recipe.metric == "accuracy" and recipe.name != "mmau-pro":  # it loads an embedder
            assert recipe.scorer(empty).rule
        elif recipe.metric != "accuracy":
            with pytest.raises(ValueError, match="not per-item accuracy"):
                recipe.scorer(empty)
