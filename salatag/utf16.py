"""Offsets for JavaScript: JS strings (browsers, Label Studio) index UTF-16 code units.

Our offsets are Python code points. They agree until a character outside the Basic
Multilingual Plane (an emoji, some CJK) occurs; after one, each JS index is one more.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable


def _astral(text: str) -> bool:
    return not text.isascii() and any(ord(ch) > 0xFFFF for ch in text)


def to_utf16(text: str) -> Callable[[int], int]:
    """A map from code-point offsets in `text` to UTF-16 offsets."""
    if not _astral(text):
        return lambda i: i
    units = [0]
    for ch in text:
        units.append(units[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return lambda i: units[i]


def from_utf16(text: str) -> Callable[[int], int]:
    """The inverse map; an offset inside a surrogate pair goes to the character's end."""
    if not _astral(text):
        return lambda i: i
    units = [0]
    for ch in text:
        units.append(units[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return lambda u: bisect_left(units, u)
