"""Label vocabularies and the mapping of free text onto one label.

Both the text and the labels go through `normalise_label`: the documented normaliser
with numbers spelled out (so ``_`` and ``-`` read as spaces, "3" as "three"). The
mapping, in order:

1. ``exact``: the raw text equals a label;
2. ``normalised``: the normalised text equals a normalised label;
3. ``synonym``: the normalised text equals a listed synonym;
4. ``mention`` (only when allowed): the labels and synonyms named as whole words in the
   text, longest name first at each position, point to exactly one label.

Anything else maps to no label, which scores as wrong and unanswered.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr

from .normalize import normalise_text

MatchKind = Literal["exact", "normalised", "synonym", "mention"]


def normalise_label(text: str) -> str:
    """Normalised form used to compare free text with labels and synonyms."""
    return normalise_text(text, numbers=True)


class LabelSet(BaseModel):
    """A closed label vocabulary with synonyms (synonym -> label)."""

    model_config = ConfigDict(frozen=True)

    name: str
    labels: tuple[str, ...]
    synonyms: dict[str, str] = {}
    _names: dict[str, str] = PrivateAttr()
    _normalised: dict[str, str] = PrivateAttr()
    _mention: re.Pattern[str] = PrivateAttr()

    def model_post_init(self, _context: object) -> None:
        unknown = set(self.synonyms.values()) - set(self.labels)
        if unknown:
            raise ValueError(f"{self.name}: synonyms point to unknown labels {sorted(unknown)}")
        names = {normalise_label(label): label for label in self.labels}
        names.update({normalise_label(s): label for s, label in self.synonyms.items()})
        alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        self._names = names
        self._normalised = {normalise_label(x): x for x in self.labels}
        self._mention = re.compile(rf"\b(?:{alternation})\b")

    def match(self, text: str, *, mentions: bool = True) -> tuple[str | None, MatchKind | None]:
        """The label `text` maps to and how (module docstring), or ``(None, None)``."""
        if text in self.labels:
            return text, "exact"
        norm = normalise_label(text)
        if norm in self._normalised:
            return self._normalised[norm], "normalised"
        if norm in self._names:
            return self._names[norm], "synonym"
        if mentions and norm:
            found = {self._names[m] for m in self._mention.findall(norm)}
            if len(found) == 1:
                return found.pop(), "mention"
        return None, None
