"""How direct speech is written in Kazakh news: dashes, guillemets, verbs of saying.

Shared by the quote decoder (`salatag.decoding`) and the speaker finder
(`salatag.speakers`). All patterns read an article's normalised view (Cyrillic, unified
quote marks and dashes), so they hold for Latin-script input too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SAY = (
    r"(?:деді|дейді|деп|деген|делінген|дейміз|мәлімдеді|атап өтті|айтты|түйіндеді|қосты|"
    r"сендірді|жазды|хабарлады|айтады|дейтін|көрсетілген|айтқан\w*|атады|бағалады|"
    r"сипаттады|жеткізді|ескертті|түсіндірді|атап көрсетті|мәлімдеп\w*|жазылған)"
)
# words after a verb of saying that are not a speaker: more verb, particles, nouns in the
# accusative (`деген пікірді`), `деп уәде берді`
NOT_SPEAKER = re.compile(
    r"^(?:\w{1,2}|\w+(?:ды|ді|ты|ті|ған|ген|қан|кен|уда|уде|ып|іп|ны|ні|ды|ді|мен)|уәде|бар|жоқ|отыр|байлам)$"
)
ADDRESS = re.compile(r"^(?:Құрметті|Қымбатты|Аса құрметті)(?!\w)")
DASH = r"[–—-]"
# after a quote: optional closing mark and punctuation, a comma/dash, a verb of saying
# `деп` and the verb it introduces: `деп хабарлайды`, `деп атап өтті`, `деп нақтылады`
DEP_VERB = (
    r"деп(?:\s+(?:атап|айтып|мәлім|қосып|түсіндіріп|баса|еске|сенім|пікір|үміт|жауап|ой))?\s+\w+(?:ды|ді|ты|ті|йды|йді)(?!\w)"
    r"|деп\s+\w+(?:ған|ген|қан|кен)\s+(?:еді|болатын)(?!\w)"  # `деп жазған еді`
)
ATTRIBUTION_AFTER = re.compile(
    r"[»”\"']?\s*[,.!?…]*\s*(?:"
    + DASH
    + r"\s*)?(?P<verb>"
    + DEP_VERB
    + "|"
    + SAY
    + r"(?:\s+"
    + SAY
    + r"(?!\w))*)(?P<rest>[^\n]*)"
)
LEAD_IN = re.compile(r"(?P<who>[^\n.!?«»:]*?)\s*(?:" + SAY + r"[^\n:]{0,30})?:\s*[«“\"]?\s*$")
PRONOUNS = {"ол", "олар", "ол кісі"}
UPPER = "[А-ЯӘҒҚҢӨҰҮҺІЁA-Z]"  # a capital letter, Kazakh Cyrillic or Latin
CAPITALISED = UPPER + r"[\w-]+"
NAME = re.compile(CAPITALISED + r"(?:\s+" + CAPITALISED + ")+")


@dataclass
class Span:
    start: int  # source offsets, end exclusive
    end: int
    score: float
    reported: bool = False  # a phrase in guillemets ascribed to someone (`«…» деп атады`)
    credited: tuple[int, int] | None = None  # an embedded post: its account holder's name
    tagged: tuple[bool, bool] = (False, False)  # the tagger's span went past either edge


def line_bounds(text: str, pos: int) -> tuple[int, int]:
    a = text.rfind("\n", 0, pos) + 1
    b = text.find("\n", pos)
    return a, len(text) if b < 0 else b
