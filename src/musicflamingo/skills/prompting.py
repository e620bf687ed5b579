"""Versioned prompt files (``prompts/<name>_<version>.md``) and their rendering to messages.

A file has a ``## system`` and a ``## user`` part; ``$name`` placeholders are filled with
`string.Template`. Every output records `Prompt.id` (name, version and a content hash), so
an edited file can never pass for the one that wrote older data.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template

from musicflamingo.llm.base import Message

_PART = re.compile(r"^## (system|user)\s*$", re.M)


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    system: str
    user: str
    sha: str

    @property
    def id(self) -> str:
        return f"{self.name}_{self.version}#{self.sha}"

    def messages(self, **values: object) -> list[Message]:
        """System and user messages with the placeholders filled (all must be given)."""
        user = Template(self.user).substitute({k: str(v) for k, v in values.items()})
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


@cache
def load_prompt(name: str, version: str = "v1", package: str = "musicflamingo.skills") -> Prompt:
    """The prompt file ``prompts/{name}_{version}.md`` shipped with ``package`` (MF-Skills
    by default; MF-Think keeps its own prompts in the same format)."""
    path = resources.files(package) / "prompts" / f"{name}_{version}.md"
    text = path.read_text(encoding="utf-8")
    parts = _PART.split(text)
    sections = dict(zip(parts[1::2], (p.strip() for p in parts[2::2]), strict=True))
    if set(sections) != {"system", "user"}:
        raise ValueError(f"{path}: needs exactly one '## system' and one '## user' part")
    sha = hashlib.sha256(text.encode()).hexdigest()[:10]
    return Prompt(name, version, sections["system"], sections["user"], sha)
