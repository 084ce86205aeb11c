"""Access to the third-party corpora in ../shared (read at run time, never committed)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path

from salatag.errors import SetupError

REPO_ROOT = Path(__file__).resolve().parents[1]
KAZINFORM = "kazinform-latn.jsonl"
HOLDOUT = "kazinform-holdout-latn.jsonl"


class CorpusError(SetupError, RuntimeError):
    """The shared corpus is missing or does not match the annotations."""


def shared_dir() -> Path:
    """`$SALATAG_SHARED`, else the `shared/` folder beside the repository."""
    return Path(os.environ.get("SALATAG_SHARED", REPO_ROOT.parent / "shared"))


def corpus_dir() -> Path:
    return shared_dir() / "corpus"


def text_sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SourceArticle:
    url: str
    text: str
    title: str
    subcategory: str
    category: str


@cache
def kazinform_articles(path: Path | None = None) -> dict[str, SourceArticle]:
    """The annotatable Kazinform articles, by url."""
    path = path or corpus_dir() / KAZINFORM
    if not path.exists():
        raise CorpusError(
            f"{path} not found: put the shared corpus beside the repo or set SALATAG_SHARED"
        )
    out: dict[str, SourceArticle] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            out[obj["url"]] = SourceArticle(
                obj["url"], obj["text"], obj["title"], obj["subcategory"], obj["category"]
            )
    return out


def holdout_urls(path: Path | None = None) -> frozenset[str]:
    """Urls of the blind holdout: only their urls are read, to keep them out of our data."""
    path = path or corpus_dir() / HOLDOUT
    if not path.exists():
        return frozenset()
    with open(path, encoding="utf-8") as fh:
        return frozenset(json.loads(line)["url"] for line in fh if line.strip())


def url_key(url: str) -> str:
    """A file-name key for an article url: its last path segment."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def kaznerd_tokens(split: str = "valid") -> Iterator[list[str]]:
    """KazNERD sentences as token lists, in file order (one token per line, blank lines
    between sentences; the IOB2 tags are dropped)."""
    path = corpus_dir() / "kaznerd" / f"IOB2_{split}.txt"
    if not path.exists():
        raise CorpusError(f"{path} not found: put the shared corpus beside the repo")
    tokens: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if parts:
                tokens.append(parts[0])
            elif tokens:
                yield tokens
                tokens = []
    if tokens:
        yield tokens


def kaznerd_sentences(split: str = "valid", limit: int | None = None) -> list[str]:
    """Real Cyrillic Kazakh sentences from KazNERD (tokens joined by spaces)."""
    return [" ".join(t) for t in islice(kaznerd_tokens(split), limit)]
