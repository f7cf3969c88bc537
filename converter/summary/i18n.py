"""The summary's words in each language, from mappings/summary/<lang>.json (data, not code).

Only the summary's own words are translated: headings, labels, statuses, flags, unit names.
Clinical terms keep the display text and code the source gave them, never machine-translated.
"""
from __future__ import annotations

import json
from functools import lru_cache

from .. import vocabulary

LANGUAGES = ("en", "zh", "en+zh")
HTML_LANG = {"en": "en", "zh": "zh-Hans", "en+zh": "en"}


@lru_cache(maxsize=None)
def strings(code: str) -> dict[str, str]:
    """The strings of one language file (user overrides in MEDBUNDLE_MAPPINGS win)."""
    return json.loads(vocabulary.text(f"summary/{code}.json"))


class Words:
    """Looks up the summary's words for `lang` ("en", "zh", or "en+zh" for bilingual labels)."""

    def __init__(self, lang: str = "en") -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        self.lang = lang
        self.html_lang = HTML_LANG[lang]
        self._tables = [strings(code) for code in lang.split("+")]

    def __call__(self, key: str, **params: object) -> str:
        """The text for `key`, with {params} filled in; bilingual as "English / 中文"."""
        texts = []
        for t in self._tables:
            text = t.get(key)
            if text is None:
                text = strings("en").get(key, key)
            text = text.format(**params) if params else text
            if text not in texts:
                texts.append(text)
        return " / ".join(texts)

    def has(self, key: str) -> bool:
        """True when `key` has a text (in English at least)."""
        return key in strings("en")

    def code(self, group: str, code: str | None) -> str:
        """A coded value shown in words ("status.final" -> "final"), or the code itself when unknown."""
        if not code:
            return ""
        key = f"{group}.{code}"
        return self(key) if self.has(key) else code

    def months(self, months: int | None) -> str:
        """The recency mark for items older than `months` ("" for recent ones)."""
        return self("recency.older", months=months) if months else ""
