"""Offsets for JavaScript: JS strings (browsers, Label Studio) index UTF-16 code units.

Our offsets are Python code points. They agree until a character outside the Basic
Multilingual Plane (an emoji, some CJK) occurs; after one, each JS index is one more.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable


def _units(text: str) -> list[int] | None:
    """The UTF-16 offset of each code-point offset 0..len(text); None when they are
    the same (no character outside the Basic Multilingual Plane)."""
    if text.isascii() or all(ord(ch) <= 0xFFFF for ch in text):
        return None
    units = [0]
    for ch in text:
        units.append(units[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return units


def to_utf16(text: str) -> Callable[[int], int]:
    """A map from code-point offsets in `text` to UTF-16 offsets."""
    units = _units(text)
    return (lambda i: i) if units is None else units.__getitem__


def from_utf16(text: str) -> Callable[[int], int]:
    """The inverse map; an offset inside a surrogate pair goes to the character's end."""
    units = _units(text)
    return (lambda u: u) if units is None else (lambda u: bisect_left(units, u))
