"""The audio model in MF-Think on our runtime: the tiny random Music Flamingo checkpoint
answers the QA (hard = answered wrong) and says Yes/No to every step, through
`musicflamingo think build --audio-model` and a real LLM server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from media import FIXTURES, ROOT
from thinkdata import cli

from musicflamingo.think.audio import QA, RuntimeAudio, yes_no

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_tiny_checkpoint import build_checkpoint, make_tokenizer

    root = tmp_path_factory.mktemp("tiny")
    return build_checkpoint(root / "mf", "musicflamingo", "tiny", tokenizer=make_tokenizer(4096))


def test_yes_no_reads_the_first_answer_word():
    assert yes_no("Yes, it is.") is True
    assert yes_no("no") is False
    assert yes_no("The answer: NO; yes later") is False
    assert yes_no("maybe") is None


def test_runtime_answers_and_judges_each_request(tiny):
    model = RuntimeAudio(str(tiny))
    song = str(FIXTURES / "song04_jig_em.ogg")
    answers = model.answer(song, [QA("Which key?", ["E minor", "G major"]), QA("Tempo?", [])])
    assert len(answers) == 2 and answers[0] in ("E minor", "G major", None)
    verdicts = model.judge(song, ["It is in 6/8.", "A flute plays.", "It is fast."])
    assert len(verdicts) == 3 and all(v in (True, False, None) for v in verdicts)


def test_build_with_the_audio_model(tiny, skills_out, think_url, tmp_path):
    out = tmp_path / "think"
    run = cli(
        "think", "build", str(skills_out), str(out), "--llm-endpoint", think_url,
        "--audio-model", str(tiny),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    records = [json.loads(p.read_text()) for p in out.glob("items/*/*.json")]
    assert records
    for r in records:
        assert r["provenance"]["audio_model"] == str(tiny)
        want = "caption" if r["item"]["task"] == "caption" else "model_wrong"
        assert r["item"]["pick"]["reason"] == want
        for step in r["steps"]:
            if step["audio"] is False:
                assert step["verdict"] == "wrong" and "audio_says_no" in step["reasons"]
            if step["facts"] == "wrong":
                assert step["verdict"] == "wrong"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"]["audio"] == [str(tiny)]


class CountedAudio(RuntimeAudio):
    """The runtime, counting the judge batches (the build runs in this process)."""

    batches: list[int] = []

    def judge(self, path, steps):
        self.batches.append(len(steps))
        return super().judge(path, steps)


def test_the_steps_of_a_song_are_judged_in_one_batch_and_rewrites_in_one_more(
    tiny, skills_out, think_url, tmp_path
):
    from musicflamingo.llm.openai_client import OpenAIClient
    from musicflamingo.think.build import build

    one = tmp_path / "skills" / "songs"  # one song is enough to count its batches
    one.mkdir(parents=True)
    first = sorted((skills_out / "songs").glob("*.json"))[0]
    (one / first.name).write_bytes(first.read_bytes())
    audio = CountedAudio(str(tiny))
    manifest = build(one.parent, tmp_path / "think", llm=OpenAIClient(think_url), audio=audio)
    songs = manifest["songs"]["total"]
    assert songs <= len(audio.batches) <= 2 * songs
    assert sum(audio.batches) == sum(manifest["steps"].values()) + sum(
        len(json.loads(p.read_text())["first_draft"])
        for p in (tmp_path / "think").glob("items/*/*.json")
    )
