"""Loaders on the real files: counts, fields, audio resolution and prediction files."""

from pathlib import Path

import pytest

from musicflamingo.bench.aggregate import aggregate
from musicflamingo.bench.items import BenchItem, Prediction, read_predictions, write_predictions
from musicflamingo.bench.recipes.mmar import load_mmar
from musicflamingo.bench.recipes.mmau import load_mmau
from musicflamingo.bench.recipes.muchomusic import load_muchomusic
from musicflamingo.bench.recipes.music_avqa import load_music_avqa
from musicflamingo.bench.scorers import TOKEN_SET, score_predictions


def test_full_files_and_filters(bench_dir: Path) -> None:
    assert len(load_mmau(bench_dir / "mmau-test-mini.json", task=None).items) == 45
    assert len(load_mmar(bench_dir / "MMAR-meta.jsonl", modality=None).items) == 37
    assert len(load_mmar(bench_dir / "MMAR-meta.jsonl", modality="mix-music-speech").items) == 3


def test_item_fields(mmau, mmar, muchomusic) -> None:
    item = mmau.items[0]
    assert item.benchmark == "mmau"
    assert item.audio == f"test-mini-audios/{item.id}.wav"
    assert set(item.metadata) == {"task", "category", "sub_category", "difficulty"}
    first = mmar.item("qx8hrhBZJ98_00-01-32_00-02-02")
    assert (first.audio, first.answer) == (
        "audio/qx8hrhBZJ98_00-01-32_00-02-02.wav",
        "Open Grassland",
    )
    assert first.metadata["sub_category"] == "Professional Knowledge and Reasoning"
    mucho = muchomusic.item("test_0")
    assert (mucho.answer, mucho.metadata["answer_letter"], mucho.audio) == (
        "Reggae",
        "A",
        "test_0.wav",
    )


def test_audio_resolution_reports_missing(bench_dir: Path, tmp_path: Path) -> None:
    # two layouts under one root: the path as in the file, or just the file name
    (tmp_path / "test-mini-audios").mkdir()
    present = load_mmau(bench_dir / "mmau-test-mini.json").items[:3]
    for item in present[:2]:
        (tmp_path / item.audio).write_bytes(b"")
    (tmp_path / Path(present[2].audio).name).write_bytes(b"")
    (tmp_path / "test_0.wav").write_bytes(b"")
    mmau = load_mmau(bench_dir / "mmau-test-mini.json", audio_root=tmp_path)
    assert set(mmau.audio_paths) == {i.id for i in present}
    assert mmau.audio_paths[present[2].id] == tmp_path / f"{present[2].id}.wav"
    assert len(mmau.missing_audio) == 38 and len(mmau.items) == 41
    assert mmau.missing_audio[0] == mmau.items[3].audio
    mucho = load_muchomusic(bench_dir / "muchomusic-questions.jsonl", audio_root=tmp_path)
    assert mucho.audio_paths == {"test_0": tmp_path / "test_0.wav"}
    assert len(mucho.missing_audio) == 41


def test_avqa_missing_audio_listed_once_per_file(avqa, bench_dir: Path, tmp_path: Path) -> None:
    loaded = load_music_avqa(bench_dir / "avqa-test.json", audio_root=tmp_path)
    assert len(loaded.missing_audio) == len({i.audio for i in avqa.items}) == 24


def test_prediction_files_round_trip(mmau, tmp_path: Path) -> None:
    predictions = [Prediction(item_id=i.id, text=f"Réponse: {i.answer}") for i in mmau.items[:-10]]
    path = tmp_path / "predictions.jsonl"
    write_predictions(path, predictions)
    assert read_predictions(path) == predictions
    scores = score_predictions(mmau.items, read_predictions(path), TOKEN_SET)
    report = aggregate(scores)  # items without a prediction are left out, as upstream
    # upstream string_match (Sakshi113/MMAU evaluation.py at 110127f5) also finds 31 of 31
    assert (report.overall.n, report.overall.correct, report.overall.unanswered) == (31, 31, 0)
    with pytest.raises(ValueError, match="unknown items"):
        score_predictions(mmau.items, [Prediction(item_id="nope", text="x")], TOKEN_SET)


def test_answer_must_be_a_choice() -> None:
    with pytest.raises(ValueError, match="not one of the choices"):
        BenchItem(id="x", benchmark="mmau", audio="x.wav", question="?", choices=["a"], answer="b")
