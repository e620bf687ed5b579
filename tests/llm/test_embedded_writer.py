"""The embedded SmolLM2 writes schema-valid JSON by constrained decoding, in process and
behind our server (``response_format``), and stops at a request's deadline so a song's
stage 3 ends as a recorded ``write_timeout`` instead of running on."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel, ConfigDict

from musicflamingo.facts.schema import Key, SongFacts, SourceInfo, Tempo
from musicflamingo.llm.base import LLMError, LLMRequestError
from musicflamingo.llm.embedded import EmbeddedLLM, strict_schema
from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.skills.ask import ask_json
from musicflamingo.skills.factsheet import facts_json
from musicflamingo.skills.prompting import load_prompt
from musicflamingo.skills.records import ASPECTS, SongRecord
from musicflamingo.skills.song import Engine, write
from musicflamingo.skills.stages import CAPTION_SCHEMA, QA_SCHEMA, WriteConfig, _accept_caption

pytestmark = pytest.mark.slow


class Song(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bpm: int
    mode: str


SONG_SCHEMA = {
    "name": "song",
    "schema": {
        "type": "object",
        "properties": {"bpm": {"type": "integer"}, "mode": {"enum": ["major", "minor"]}},
        "required": ["bpm", "mode"],
    },
}
ASK_SONG = [{"role": "user", "content": "A slow song in A minor at 70 BPM. Its bpm and mode?"}]


@pytest.fixture(scope="module")
def embedded():
    llm = EmbeddedLLM(progress_every=None)
    llm.load()
    return llm


def facts() -> SongFacts:
    source = SourceInfo(
        path="a.ogg", container="ogg", codec="vorbis", sample_rate=44100, channels=1, size_bytes=1
    )
    return SongFacts(
        source=source,
        duration=60.0,
        tempo=Tempo(bpm=100.0, confidence=0.9, stable=True),
        key=Key(tonic="A", mode="minor", confidence=0.9),
        undetected={"lyrics": "lyrics not requested", "chords": "no chord detected"},
    )


def test_strict_schema_closes_objects_and_bounds_strings_it_says_nothing_about():
    b = {"type": "string"}
    schema = {
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"b": b}}},
        "$defs": {"X": {"type": "object", "properties": {}, "additionalProperties": True}},
        "items": {"type": "string", "maxLength": 5},
        "$comment": [{"type": "array", "items": b}, {"type": "array", "maxItems": 30}],
    }
    out = strict_schema(schema, max_string=40, max_items=3)
    assert out["additionalProperties"] is False
    assert out["properties"]["a"]["additionalProperties"] is False
    assert out["properties"]["a"]["properties"]["b"]["maxLength"] == 40
    assert out["$defs"]["X"]["additionalProperties"] is True
    assert out["items"]["maxLength"] == 5
    assert [a["maxItems"] for a in out["$comment"]] == [3, 30]
    assert "additionalProperties" not in schema and b == {"type": "string"}  # left as it was
    assert "maxLength" not in strict_schema(schema)["properties"]["a"]["properties"]["b"]


def test_the_real_caption_schema_is_written_valid_at_the_first_attempt(embedded):
    """Unconstrained, SmolLM2 never produced a usable caption; constrained, the first
    reply validates (its values are for stage 4 to judge)."""
    messages = load_prompt("caption").messages(facts=facts_json(facts()), segments="")
    caption, usage = ask_json(
        embedded, messages, _accept_caption, schema=CAPTION_SCHEMA, attempts=1, max_tokens=160
    )
    assert list(caption.aspects) == list(ASPECTS)
    assert usage.calls == 1 and usage.reasks == 0 and 0 < usage.completion_tokens < 160


def test_the_qa_schema_compiles_and_starts_the_reply(embedded):
    """QA_SCHEMA once nested QAItem's ``$defs`` where its ``$ref`` pointers could not
    reach them; the grammar compiler refused it."""
    c = embedded.complete(ASK_SONG, json_schema=QA_SCHEMA, max_tokens=4)
    assert c.completion_tokens == 4
    assert '{"qa":[{"question":"'.startswith(c.text) or c.text.startswith('{"qa":[{"question":"')
    broken = {"name": "b", "schema": {"type": "array", "items": {"$ref": "#/$defs/Missing"}}}
    with pytest.raises(LLMRequestError, match=r"^b: schema not supported \("):
        embedded.complete(ASK_SONG, json_schema=broken, max_tokens=4)


def test_a_passed_deadline_stops_generation_at_once(embedded):
    c = embedded.complete(ASK_SONG, max_tokens=200, deadline=time.monotonic())
    assert c.completion_tokens == 1


def test_a_song_over_its_time_limit_is_recorded_failed_with_the_reason_code(embedded):
    engine = Engine(llm=embedded, write=WriteConfig(attempts=3, song_timeout=0.5))
    t0 = time.monotonic()
    record = write(SongRecord(id="a", path="a.ogg", duration=60.0, facts=facts()), engine)
    assert time.monotonic() - t0 < 60  # one cut-off generation, no further attempts
    assert record.status == "failed"
    assert record.failure.startswith("write_timeout: skills_caption: time limit reached after 1 ")
    assert record.provenance.usage.calls == 1
    assert record.provenance.llm == "SmolLM2-135M-Instruct.Q4_1"


def test_the_server_honours_response_format(smol):
    client = OpenAIClient(smol.url, max_retries=30, backoff=0.2)
    c = client.complete(ASK_SONG, json_schema=SONG_SCHEMA, max_tokens=24)
    song = Song.model_validate_json(c.text)
    assert song.mode in ("major", "minor")
    assert c.model == "SmolLM2-135M-Instruct.Q4_1"
    broken = {"name": "b", "schema": {"type": "array", "items": {"$ref": "#/$defs/Missing"}}}
    with pytest.raises(LLMError, match=r"answered HTTP 400: b: schema not supported \("):
        client.complete(ASK_SONG, json_schema=broken, max_tokens=4)
