"""salatag: cooperation-sector tagging and quote splitting for Kazakh-language news.

    import salatag
    tagger = salatag.load()            # the shipped model
    article = tagger("…")              # a TaggedArticle
    df = salatag.to_dataframe(tagger.pipe(texts))

The API is imported on first use (module `__getattr__`), so `import salatag` does not
import torch, transformers or pandas.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = (
    "load",
    "to_dataframe",
    "SalatagPipeline",
    "TaggedArticle",
    "TaggedParagraph",
    "TaggedQuote",
)
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from salatag import api

        return getattr(api, name)
    raise AttributeError(f"module 'salatag' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
