"""Articles as the user gives them: decoding, paragraphs and their offsets.

Every offset here indexes the caller's original string (CRLF, BOM and all), because
users join our spans back onto their own copy of the text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from salatag.chrome import chrome_flags
from salatag.errors import InputError
from salatag.lang import LangResult, detect_article
from salatag.text import TextView, nfc, normalize_nfc

# Characters trimmed from paragraph edges: whitespace plus invisible marks that
# scrapers and editors leave at line starts (BOM, zero-width space/joiners).
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_LINE = re.compile(r"[^\r\n]+")


class ArticleError(InputError, ValueError):
    """Input that cannot be read as an article (bad bytes, not text)."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def decode_article(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM); refuse binary and undecodable input."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or _utf16_without_bom(data[:8192]):
        raise ArticleError("UTF-16 text, not UTF-8 (re-save the file as UTF-8)")
    if b"\x00" in data[:8192]:
        raise ArticleError("binary file (NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ArticleError(
            f"not valid UTF-8 at byte {err.start} (re-save the file as UTF-8)"
        ) from None
    return text


def _utf16_without_bom(head: bytes) -> bool:
    """Text of mostly ASCII or Cyrillic in UTF-16: every other byte a NUL or 0x04."""
    if len(head) < 4:
        return False
    for pad in (head[1::2], head[0::2]):
        if pad.count(0) + pad.count(4) > 0.9 * len(pad) and b"\x00" in pad:
            return True
    return False


def _is_trim(ch: str) -> bool:
    return ch.isspace() or ch in _INVISIBLE


def paragraph_spans(text: str) -> list[Span]:
    """Spans of the non-blank lines, without their surrounding whitespace.

    Lines end at LF, CRLF or a lone CR; lines are never merged (the guidelines keep
    scraped one-sentence-per-line articles as they come).
    """
    spans: list[Span] = []
    for match in _LINE.finditer(text):
        start, end = match.span()
        while start < end and _is_trim(text[start]):
            start += 1
        while end > start and _is_trim(text[end - 1]):
            end -= 1
        if end > start:
            spans.append(Span(start, end))
    return spans


def _nfc_paragraphs(text: str, composed: TextView, spans: list[Span]) -> list[str]:
    """Each paragraph's text in NFC, cut from the whole text's NFC view `composed`:
    the same as normalising the paragraph alone, since NFC works per base character
    and its combining marks (a paragraph that starts or ends inside such a sequence,
    which only odd text has, is normalised alone)."""
    if composed.text == text:
        return [text[s.start : s.end] for s in spans]
    out = []
    for s in spans:
        inside = unicodedata.combining(text[s.start]) or (
            s.end < len(text) and unicodedata.combining(text[s.end])
        )
        a, b = composed.from_source(s.start, s.end)
        out.append(nfc(text[s.start : s.end]).text if inside else composed.text[a:b])
    return out


@dataclass
class Paragraph:
    """A paragraph: its span in the original text and in the article's model view."""

    start: int
    end: int
    view_start: int
    view_end: int
    chrome: bool


@dataclass
class Article:
    """An article with one normalised model view of the whole text.

    One view (not one per paragraph) so windows of tokens can cross paragraph
    boundaries, as multi-line quotes do, while every view offset still maps back to
    the caller's characters.
    """

    id: str
    text: str
    view: TextView
    paragraphs: list[Paragraph]
    lang: LangResult

    @classmethod
    def from_text(cls, text: str, id: str = "") -> Article:
        spans = paragraph_spans(text)
        raw = [text[s.start : s.end] for s in spans]
        composed = nfc(text)  # once: the language is read from it, the view built on it
        lang = (
            detect_article(raw, nfc_texts=_nfc_paragraphs(text, composed, spans))
            if raw
            else LangResult("unknown", "none", 0.0)
        )
        # Transliterate a whole Latin-script Kazakh article; elsewhere let the text
        # decide (Latin words inside Cyrillic articles are names, left alone).
        latin_kk = lang.lang == "kk" and lang.script == "latn"
        view = normalize_nfc(composed, transliterate=bool(latin_kk))
        ranges = [view.from_source(s.start, s.end) for s in spans]
        flags = chrome_flags([view.text[a:b] for a, b in ranges])
        paragraphs = [
            Paragraph(s.start, s.end, a, b, f)
            for s, (a, b), f in zip(spans, ranges, flags, strict=True)
        ]
        return cls(id, text, view, paragraphs, lang)

    def paragraph_view(self, i: int) -> str:
        p = self.paragraphs[i]
        return self.view.text[p.view_start : p.view_end]

    def to_source(self, view_start: int, view_end: int) -> tuple[int, int]:
        return self.view.to_source(view_start, view_end)
