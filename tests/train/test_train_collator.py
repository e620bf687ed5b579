"""The collator: the runtime's prompts token for token, assistant-only labels, audio
windows and RoTE times as at inference, the context budget and its report, data loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import qa_row, tone

from musicflamingo import audio
from musicflamingo.model import prompts
from musicflamingo.model.frontend import FrontEnd
from musicflamingo.train.collator import IGNORE, Collator, count_statuses
from musicflamingo.train.data import DataError, length_grouped, load_rows, turns


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """70 s: three 30 s windows, the last one partial."""
    return tone(tmp_path_factory.mktemp("song") / "song.wav", 70.0, 330.0)


def test_ids_equal_the_processors_and_labels_cover_the_reply(processor, song: Path) -> None:
    row = qa_row(0, song, "A steady tone in A, no drums.", 70.0)
    enc, feats = Collator(processor).inputs(row)
    full = prompts.render_turns(
        processor,
        [("user", "Which tone is this?"), ("assistant", "A steady tone in A, no drums.")],
        audio=True,
        add_generation_prompt=False,
    )
    ref = processor(text=[full], audio=[audio.load(song).samples])
    assert enc.ids == ref["input_ids"][0].tolist()
    assert torch.equal(feats.input_features, ref["input_features"])
    assert feats.input_features.shape[0] == 3
    n_sound = enc.ids.count(processor.audio_token_id)
    assert n_sound == feats.n_tokens == audio.audio_token_count(70 * 16000) == 750 * 2 + 250
    tok = processor.tokenizer
    labelled = [t for t, lab in zip(enc.ids, enc.labels, strict=True) if lab != IGNORE]
    assert tok.decode(labelled) == "A steady tone in A, no drums." + tok.eos_token
    first = enc.labels.index(next(lab for lab in enc.labels if lab != IGNORE))
    assert all(lab == IGNORE for lab in enc.labels[:first])  # system, user, audio
    assert enc.ids[first : first + len(labelled)] == labelled  # one contiguous reply


def test_rote_times_of_a_multi_window_song_equal_inference(checkpoint, processor, song) -> None:
    from transformers import MusicFlamingoForConditionalGeneration

    model = MusicFlamingoForConditionalGeneration.from_pretrained(checkpoint)
    row = qa_row(0, song, "x", 70.0)
    row["conversations"] = row["conversations"][:1]  # a prompt, as GRPO renders it
    enc, feats = Collator(processor, reserve=1).inputs(row)
    front = FrontEnd(processor)  # what the runtime sends for the same request
    runtime_feats = front.features(audio.load(song).samples)
    runtime_ids = front.token_ids(
        prompts.render(processor, prompts.user_text("Which tone is this?"), audio=True),
        runtime_feats.n_tokens,
    )
    assert enc.ids == runtime_ids

    def times(ids: list[int], mask: torch.Tensor) -> torch.Tensor:
        post = model.model.audio_tower._get_feat_extract_output_lengths(mask.sum(-1))[1]
        return model.model._build_audio_timestamps(torch.tensor([ids]), post, 750)

    ours, runtime = times(enc.ids, feats.mask), times(runtime_ids, runtime_feats.mask)
    assert torch.equal(ours, runtime)
    expected = audio.token_times(3 * 750).reshape(3, 750)
    assert torch.allclose(ours.double(), torch.from_numpy(expected), atol=1e-4)


def test_cot_rows_train_the_inference_prompt_and_the_tagged_target(processor, song) -> None:
    question = "How many windows does this clip fill?"
    target = "<think>It lasts seventy seconds.</think><answer>three</answer>"
    row = {  # as think.export.cot_row writes it
        "id": "s/qa01",
        "sound": str(song),
        "duration": 70.0,
        "conversations": [
            {"from": "human", "value": f"<sound>\n{question}\n{prompts.THINK}"},
            {"from": "gpt", "value": target},
        ],
    }
    enc, feats = Collator(processor).inputs(row)
    front = FrontEnd(processor)
    asked = front.token_ids(
        prompts.render(processor, prompts.user_text(question, think=True), audio=True),
        feats.n_tokens,
    )
    assert enc.ids[: len(asked)] == asked
    assert all(lab == IGNORE for lab in enc.labels[: len(asked)])
    tok = processor.tokenizer
    said = tok.decode([lab for lab in enc.labels if lab != IGNORE])
    assert said == target + tok.eos_token


def test_budget_counts_drops_cuts_and_caps(processor, song: Path, tmp_path: Path) -> None:
    row = qa_row(0, song, "fine", 70.0)
    full = Collator(processor).plan(row)
    assert full["status"] == "ok" and full["length"] > 1750
    assert Collator(processor, max_length=1700).plan(row)["status"] == "over_budget"
    cut = Collator(processor, max_length=1700, overflow="truncate_audio").plan(row)
    assert cut["status"] == "truncated" and cut["heard"] == 60.0 and cut["length"] <= 1700
    batch = Collator(processor, max_length=1700)([{**row, **cut}])
    assert batch["input_features"].shape[0] == 2  # the third window is not heard
    assert (batch["input_ids"] == processor.audio_token_id).sum() == 1500
    long = {**row, "duration": 1500.0}  # over the 1200 s cap of the checkpoint
    assert Collator(processor, max_length=40_000).plan(long)["status"] == "capped"
    missing = qa_row(1, tmp_path / "gone.wav", "x")
    broken = {**row, "conversations": [{"from": "gpt", "value": "no question"}]}
    statuses = [Collator(processor).plan(r)["status"] for r in (row, missing, broken)]
    statuses.append(Collator(processor, max_length=1700).plan(row)["status"])
    assert count_statuses(statuses) == {
        "rows": 4,
        "kept": 1,
        "capped": 0,
        "truncated": 0,
        "dropped": {"bad_row": 1, "no_audio_file": 1, "over_budget": 1},
    }


def test_unreadable_audio_is_left_out_of_the_batch_and_counted(processor, clips, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all" * 100)
    collator = Collator(processor)
    batch = collator([qa_row(0, clips[0], "a"), qa_row(1, bad, "b")])
    assert batch["input_ids"].shape[0] == 1
    assert collator.counts["unreadable_audio"] == 1
    with pytest.raises(DataError, match="no row of this batch"):
        collator([qa_row(1, bad, "b")])


def test_reads_parquet_json_jsonl_and_the_af3_layout(processor, clips, tmp_path) -> None:
    from musicflamingo.skills.export import write_json, write_shards

    rows = [qa_row(i, clips[i], f"tone {i}") for i in range(3)]
    write_shards(rows, tmp_path / "pq", rows_per_shard=2)
    write_json(rows, tmp_path / "rows.json")
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    af3 = [  # NVIDIA's AF3 layout: relative sound path, no extra columns
        {"id": "af3-0", "sound": clips[0].name, "duration": 2.0,
         "conversations": [{"from": "human", "value": "<sound>\nWhat is it?"},
                           {"from": "gpt", "value": "A tone."}]}
    ]  # fmt: skip
    (tmp_path / "af3.json").write_text(json.dumps(af3))
    for source in ("pq", "rows.json", "rows.jsonl"):
        ds = load_rows([tmp_path / source])
        assert sorted(ds["id"]) == [r["id"] for r in rows]
        assert turns(ds[0])[1] is True
    streamed = list(load_rows([tmp_path / "pq"], streaming=True))
    assert len(streamed) == 3
    af = load_rows([tmp_path / "af3.json"])[0]
    collator = Collator(processor, audio_root=clips[0].parent)
    assert collator.plan(af)["status"] == "ok"
    assert collator([af])["input_features"].shape[0] == 1
    with pytest.raises(DataError, match="no such file"):
        load_rows([tmp_path / "nothing"])


def test_length_grouping_keeps_every_row_and_groups_similar_lengths() -> None:
    rows = [{"id": i, "length": (i * 37) % 100} for i in range(40)]
    out = list(length_grouped(iter(rows), batch_size=4, buffer=20, seed=1))
    assert sorted(r["id"] for r in out) == list(range(40))
    spread = [max(b) - min(b) for b in
              ([r["length"] for r in out[i:i + 4]] for i in range(0, 40, 4))]  # fmt: skip
    assert max(spread) < 30  # unsorted batches of this data spread over ~90
