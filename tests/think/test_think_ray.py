"""The MF-Think Ray executor on a real local Ray cluster writes the same sets as the local
one, and resumes from the same item files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.think.build import build

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow
SETS = ("cot_sft", "grpo_qa", "grpo_caption")


def sets(out: Path) -> dict[str, list]:
    return {s: json.loads((out / s / f"{s}.json").read_text()) for s in SETS}


def test_ray_and_local_write_the_same_sets(skills_out, think_url, tmp_path):
    llm = OpenAIClient(think_url)
    local = build(skills_out, tmp_path / "local", llm=llm)
    try:
        on_ray = build(skills_out, tmp_path / "ray", llm=llm, executor="ray", workers=2)
        assert ray.is_initialized() and ray.cluster_resources()["CPU"] == 2
        assert on_ray["executor"] == "ray" and on_ray["items"] == local["items"]
        assert sets(tmp_path / "ray") == sets(tmp_path / "local")
        items = {p: p.stat().st_mtime_ns for p in (tmp_path / "ray").glob("items/*/*.json")}
        again = build(skills_out, tmp_path / "ray", llm=llm, executor="ray", workers=2)
        assert again["items"] == local["items"]
        assert {p: p.stat().st_mtime_ns for p in items} == items  # nothing redone
    finally:
        ray.shutdown()
