"""From tag probabilities to quotes as a reader sees them.

The tagger scores subword tokens; readers want whole quotes on word boundaries with
the speaker the attribution names. Decoding therefore works on words (the subword
probabilities of a word are pooled), finds the likeliest valid BIO path, and then
applies what the guidelines say about quote forms: one speech is one span, across
lines too (NOTES Q1, Q5); a stretch with no quote form is narration (Q3); names in
guillemets and emoji are not quotes (Q8). Speakers are read from the attribution
(`…, – деді X`, `X былай деді: «…»`), pronouns resolved to the person last named
(Q7). Settings live in `DecoderSettings`, saved in the model's meta.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

TAGS = ("O", "B-QUOTE", "I-QUOTE", "B-SPEAKER", "I-SPEAKER")
QUOTE, SPEAKER = 1, 3  # the B tag of each span type; I is B + 1

EDGE = " \t\n,–—-:;«»\"“”'„"
_WORD = re.compile(r"\w+|[^\w\s]")
_SAY = (
    r"(?:деді|дейді|деп|деген|делінген|дейміз|мәлімдеді|атап өтті|айтты|түйіндеді|қосты|"
    r"сендірді|жазды|хабарлады|айтады|дейтін|көрсетілген|айтқан\w*|атады|бағалады|"
    r"сипаттады|жеткізді|ескертті|түсіндірді|атап көрсетті|мәлімдеп\w*|жазылған)"
)
# words after a verb of saying that are not a speaker: more verb, particles, nouns in the
# accusative (`деген пікірді`), `деп уәде берді`
_NOT_SPEAKER = re.compile(
    r"^(?:\w{1,2}|\w+(?:ды|ді|ты|ті|ған|ген|қан|кен|уда|уде|ып|іп|ны|ні|ды|ді|мен)|уәде|бар|жоқ|отыр|байлам)$"
)
_ADDRESS = re.compile(r"^(?:Құрметті|Қымбатты|Аса құрметті)(?!\w)")
_DASH = r"[–—-]"
# after a quote: optional closing mark and punctuation, a comma/dash, a verb of saying
# `деп` and the verb it introduces: `деп хабарлайды`, `деп атап өтті`, `деп нақтылады`
_DEP_VERB = (
    r"деп(?:\s+(?:атап|айтып|мәлім|қосып|түсіндіріп|баса|еске))?\s+\w+(?:ды|ді|ты|ті|йды|йді)(?!\w)"
    r"|деп\s+\w+(?:ған|ген|қан|кен)\s+(?:еді|болатын)(?!\w)"  # `деп жазған еді`
)
_ATTRIBUTION_AFTER = re.compile(
    r"[»”\"']?\s*[,.!?…]*\s*(?:"
    + _DASH
    + r"\s*)?(?P<verb>"
    + _DEP_VERB
    + "|"
    + _SAY
    + r"(?:\s+"
    + _SAY
    + r"(?!\w))*)(?P<rest>[^\n]*)"
)
_LEAD_IN = re.compile(r"(?P<who>[^\n.!?«»:]*?)\s*(?:" + _SAY + r"[^\n:]{0,30})?:\s*[«“\"]?\s*$")
_PRONOUNS = {"ол", "олар", "ол кісі"}
_UPPER = "[А-ЯӘҒҚҢӨҰҮҺІЁA-Z]"  # a capital letter, Kazakh Cyrillic or Latin
_CAPITALISED = _UPPER + r"[\w-]+"
_NAME = re.compile(_CAPITALISED + r"(?:\s+" + _CAPITALISED + ")+")


class DecoderSettings(BaseModel):
    """How spans are decoded; stored in the model's meta so a model decodes the same
    everywhere (chosen on dev with scripts/decoding.py)."""

    model_config = ConfigDict(extra="forbid")

    method: str = "bio"  # bio | argmax | smooth
    switch_penalty: float = 2.0  # nats to change kind in "smooth"
    pooling: str = "mean"  # how subword probabilities make a word's: mean | first
    merge_lines: bool = True  # one speech over consecutive lines is one span
    require_form: bool = True  # drop stretches with no quote form (NOTES Q3, Q8)
    # a « left open runs to its », an address or lead-in opens a speech that goes on until
    # the reporter speaks again (NOTES Q1, Q5)
    speeches: bool = True
    # where speakers come from: the tagger's speaker spans, the attribution text, or
    # one with the other as fallback
    speaker: str = "rule_then_model"  # model | rule | rule_then_model | model_then_rule


# --- BIO paths -------------------------------------------------------------------


def _allowed_transitions() -> np.ndarray:
    """BIO: an I tag follows only a B or I of its own type; anything else is free."""
    allowed = np.ones((len(TAGS), len(TAGS)), dtype=bool)
    for j, tag in enumerate(TAGS):
        if tag.startswith("I-"):
            allowed[:, j] = False
            allowed[TAGS.index("B-" + tag[2:]), j] = allowed[j, j] = True
    return allowed


ALLOWED = _allowed_transitions()


def viterbi(logp: np.ndarray, transition: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The best path through per-step log-probabilities (T, K) and transitions (K, K)."""
    score = start + logp[0]
    back = np.zeros(logp.shape, dtype=np.int64)
    for t in range(1, len(logp)):
        candidates = score[:, None] + transition  # (previous, current)
        back[t] = candidates.argmax(0)
        score = candidates.max(0) + logp[t]
    path = np.empty(len(logp), dtype=np.int64)
    path[-1] = int(score.argmax())
    for t in range(len(logp) - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def decode_tags(probs: np.ndarray, method: str = "bio", switch_penalty: float = 2.0) -> np.ndarray:
    """Tag ids per step from the tag probabilities.

    argmax: per step; a long quote breaks wherever one step dips below 0.5.
    bio: the likeliest valid BIO sequence (an I follows a B or I of its type).
    smooth: runs of the likeliest kind (outside, quote, speaker), with a cost for every
    change of kind; a run is split again where a B is the likeliest tag.
    """
    if not len(probs):
        return np.zeros(0, dtype=np.int64)
    if method == "argmax":
        return probs.argmax(-1)
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    if method == "bio":
        transition = np.where(ALLOWED, 0.0, -np.inf)
        start = np.array([0.0 if not t.startswith("I-") else -np.inf for t in TAGS])
        return viterbi(logp, transition, start)
    if method != "smooth":
        raise ValueError(f"decoding {method!r}: argmax, bio or smooth")
    kinds = np.stack([probs[:, 0], probs[:, 1] + probs[:, 2], probs[:, 3] + probs[:, 4]], 1)
    transition = -switch_penalty * (1 - np.eye(3))
    kind = viterbi(np.log(np.clip(kinds, 1e-9, 1.0)), transition, np.zeros(3))
    labels = np.zeros(len(probs), dtype=np.int64)
    for t, k in enumerate(kind):
        if k == 0:
            continue
        b, i = 2 * k - 1, 2 * k
        new_run = t == 0 or kind[t - 1] != k
        labels[t] = b if new_run or probs[t, b] > probs[t, i] else i
    return labels


def bio_spans(labels: np.ndarray, probs: np.ndarray, begin: int) -> list[tuple[int, int, float]]:
    """BIO spans (first step, last step, mean probability) of one type. Lenient: an I
    after O starts a span too, as the tagger sometimes misses the B."""
    spans, start = [], None
    for t, label in enumerate([*list(labels), 0]):
        inside = label in (begin, begin + 1)
        if start is not None and (not inside or label == begin):
            conf = float(probs[start:t, begin : begin + 2].sum(-1).mean())
            spans.append((start, t - 1, conf))
            start = None
        if inside and start is None:
            start = t
    return spans


# --- words -------------------------------------------------------------------------


@dataclass
class Words:
    """Word units of the article's view (letters/digits runs, single punctuation marks)
    with the pooled tag probabilities of the tokens that cover them."""

    starts: np.ndarray  # view offsets
    ends: np.ndarray
    probs: np.ndarray  # (words, tags)


def pool_words(
    view_text: str,
    paragraphs: list[tuple[int, int]],
    tag_probs: np.ndarray,
    starts: list[int],
    ends: list[int],
    pooling: str = "mean",
) -> Words:
    """Tag probabilities per word, so a span can only start or end between words."""
    owner = np.full(len(view_text) + 1, -1, dtype=np.int64)
    for t, (s, e) in enumerate(zip(starts, ends, strict=True)):
        owner[s:e] = t
    w_start, w_end, rows = [], [], []
    for a, b in paragraphs:
        for m in _WORD.finditer(view_text, a, b):
            tokens = [t for t in dict.fromkeys(owner[m.start() : m.end()].tolist()) if t >= 0]
            if not tokens:
                continue
            w_start.append(m.start())
            w_end.append(m.end())
            chosen = tokens[:1] if pooling == "first" else tokens
            rows.append(tag_probs[chosen].mean(0))
    probs = np.array(rows, dtype=np.float32).reshape(-1, len(TAGS))
    return Words(np.array(w_start, dtype=np.int64), np.array(w_end, dtype=np.int64), probs)


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Strip the marks the guidelines keep outside a span: dashes, guillemets, commas."""
    while start < end and text[start] in EDGE:
        start += 1
    while end > start and text[end - 1] in EDGE:
        end -= 1
    return start, end


def _partner(text: str, at: int, start: int, end: int) -> int | None:
    """Where the guillemet at `at` is closed (or opened), inside text[start:end]."""
    step, here, there = (1, "«", "»") if text[at] == "«" else (-1, "»", "«")
    depth, i = 0, at
    while start <= i < end:
        depth += (text[i] == here) - (text[i] == there)
        if depth == 0:
            return i
        i += step
    return None


def keep_names(text: str, q: Span) -> tuple[int, int]:
    """Put back a guillemet `trim` took from the tagger's span when it belongs to a name
    inside the quote (`«Этнография» залына …`, `… «Алтын адам»`): its partner is in
    the span with words beyond it. Done last, so the rules before it see the quote
    marks outside; only where the tagger took the mark in (Kazinform's labels keep
    it, KazNERD's leave it out, and the tagger learnt both)."""
    start, end = trim(text, q.start, q.end)
    if q.tagged[0] and start > 0 and text[start - 1] == "«":
        other = _partner(text, start - 1, start - 1, end)
        if other is not None and re.search(r"\w", text[other + 1 : end]):
            start -= 1
    if q.tagged[1] and end < len(text) and text[end] == "»":
        other = _partner(text, end, start, end + 1)
        if other is not None and re.search(r"\w", text[start:other]):
            end += 1
    return start, end


def sentence_end(text: str, start: int, end: int) -> int:
    """The mark that ends the spoken sentence stays inside the span (NOTES Q16): `.`,
    `?`, `!`, `…` right after it, and a `)` whose `(` the span opened."""
    while end < len(text):
        opened = text.count("(", start, end) > text.count(")", start, end)
        if not (text[end] in ".!?…" or (text[end] == ")" and opened)):
            return end
        end += 1
    return end


# --- quotes ------------------------------------------------------------------------


@dataclass
class Span:
    start: int  # source offsets, end exclusive
    end: int
    score: float
    reported: bool = False  # a phrase in guillemets ascribed to someone (`«…» деп атады`)
    credited: tuple[int, int] | None = None  # an embedded post: its account holder's name
    tagged: tuple[bool, bool] = (False, False)  # the tagger's span went past either edge


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    a = text.rfind("\n", 0, pos) + 1
    b = text.find("\n", pos)
    return a, len(text) if b < 0 else b


def merge_spans(text: str, spans: list[Span], merge_lines: bool) -> list[Span]:
    """One speech, one span: join spans of one line that only whitespace or inner
    punctuation separates, and (with `merge_lines`) a span that runs to the end of
    its line with one that opens the next line, when no attribution stands between."""
    out: list[Span] = []
    for span in spans:
        if out and _continues(text, out[-1], span, merge_lines):
            prev = out[-1]
            weight = prev.end - prev.start, span.end - span.start
            score = (prev.score * weight[0] + span.score * weight[1]) / max(sum(weight), 1)
            out[-1] = Span(prev.start, span.end, score, tagged=(prev.tagged[0], span.tagged[1]))
        else:
            out.append(span)
    return out


def _continues(text: str, prev: Span, span: Span, merge_lines: bool) -> bool:
    gap = text[prev.end : span.start]
    if "\n" not in gap:
        return not re.search(r"\w", gap) and "«" not in gap and "»" not in gap
    if not merge_lines or _question_turn(text, prev, span):
        return False
    if re.search(r"\S", gap[gap.find("\n") : gap.rfind("\n")]):
        return _open_speech(text, prev, span, gap)
    rest_of_line, next_line_head = gap.split("\n", 1)[0], gap.rsplit("\n", 1)[-1]
    attributed = _ATTRIBUTION_AFTER.match(rest_of_line) or "»" in rest_of_line
    # a new « opens a new quote; one that goes on over lines is closed_guillemets' work
    opens_line = re.fullmatch(r"\s*(?:" + _DASH + r"\s*)?", next_line_head)
    return not attributed and opens_line is not None


def _question_turn(text: str, prev: Span, span: Span) -> bool:
    """In an interview a question is a turn of its own (NOTES Q4): a span that ends in
    `?` is not continued on the next line, and a line that ends in `?` does not continue
    the one before. No multi-line quote in train or dev has a line ending in `?`; every
    interview question has one."""
    next_line = text[slice(*_line_bounds(text, span.start))]
    return text[prev.start : prev.end].rstrip().endswith("?") or next_line.rstrip().endswith("?")


def _open_speech(text: str, prev: Span, span: Span, gap: str) -> bool:
    """A dash-opened speech with no attribution yet goes on until the attribution: lines
    the tagger missed between it and an attributed quote are part of it (NOTES Q1)."""
    first_line = text[_line_bounds(text, prev.start)[0] : prev.start]
    opened = re.fullmatch(r"\s*(?:" + _DASH + r"|[«“\"])\s*", first_line) is not None
    end_of_span_line = _line_bounds(text, max(span.end - 1, span.start))[1]
    closes = _ATTRIBUTION_AFTER.match(text, span.end, end_of_span_line) is not None
    middle = gap[gap.find("\n") : gap.rfind("\n")]
    said = re.search(r"(?:^|[,.!?»]\s*)" + _DASH + r"?\s*" + _SAY + r"\s", middle, re.M)
    missed = [line for line in middle.split("\n") if line.strip()]
    first_person = (
        all(_FIRST_PERSON.search(line) and not _REPORTED.search(line) for line in missed)
        and re.match(r"\s*(?:" + _DASH + r"\s*)?$", gap.rsplit("\n", 1)[-1]) is not None
    )
    return (
        opened
        and (closes or first_person)
        and gap.count("\n") <= 3
        and not re.search(r"\w", gap.split("\n", 1)[0])
        and not said
        and middle.count("»") <= middle.count("«")  # names in guillemets, not a quote's end
    )


def has_quote_form(text: str, span: Span) -> bool:
    """Direct speech is marked: a dash opening the line, a quotation mark, a lead-in
    ending in a colon, an address to the audience, a headline `… – X`, or an
    attribution with a verb of saying (NOTES Q3, Q5, Q9). Emoji are never quotes."""
    inner = text[span.start : span.end]
    if len(re.findall(r"[^\W\d_]", inner)) < 2:  # emoji runs, numbers, lone marks
        return False
    line_start = _line_bounds(text, span.start)[0]
    before = text[line_start : span.start]
    after = text[span.end : _line_bounds(text, max(span.end - 1, span.start))[1]]
    attributed = bool(_ATTRIBUTION_AFTER.match(after)) or bool(
        re.match(r"^\W*\n\s*" + _DASH + r"?\s*" + _SAY, text[span.end : span.end + 80])
    )
    lead_in = re.search(r":\s*[«“\"]?\s*$", before) is not None
    if not before.strip() and line_start >= 2:
        lead_in = lead_in or text[: line_start - 1].rstrip().endswith(":")
    if re.fullmatch(r"\s*" + _DASH + r"\s*", before):
        return not re.search(r";\s*$", inner) or attributed  # a dash-line list item: Q4
    if not before.strip() and (_ADDRESS.match(inner) or _headline_attribution(after)):
        return True
    if re.search(r"[«“\"„]\s*$", before):
        sentence_rest = re.split(r"[.!?]\s", after, maxsplit=1)[0]
        said = re.search(r"(?<!\w)" + _SAY, sentence_rest) is not None
        return attributed or said or lead_in or len(inner.split()) >= 5
    return attributed or lead_in


_FIRST_PERSON = re.compile(
    r"(?<!\w)(?:біз|мен|біздің|менің|бізге|бізде|бізді|маған|өзім|өзіміз)(?!\w)"
    r"|\w(?:мын|мін|мыз|міз|пын|пін|пыз|піз|бын|бін|быз|біз|мыздың|міздің)(?!\w)",
    re.IGNORECASE,
)


def keep_marked(text: str, quotes: list[Span]) -> list[Span]:
    """Spans with a quote form, and first-person paragraphs that continue a speech
    within two lines of a kept quote (a long address, NOTES Q5)."""
    kept: list[Span] = []
    for q in quotes:
        speech_goes_on = (
            bool(kept)
            and text.count("\n", kept[-1].end, q.start) <= 2
            and _FIRST_PERSON.search(text, q.start, q.end) is not None
        )
        if _REPORTED.match(text, q.start) and not _PRONOUN_START.match(text, q.start):
            continue  # `Президент … атап өтіп, … жеткізді`: the reporter, not the speaker
        if has_quote_form(text, q) or speech_goes_on:
            kept.append(q)
    return kept


# `«…» деп баға берді`, `«…» деген пікірді`: a short phrase a person is reported to
# have said (NOTES Q8), not a title, a name or a headline (`деген тақырыптағы`, `деп аталатын`)
_REPORTED_PHRASE = re.compile(
    r"«(?P<said>[^«»\n]+)»\s*,?\s*(?:"
    r"деп(?:\s+(?:де|да|та|те))?\s+(?:баға|сипатта|бағала|атады|айт|мәлімде|жазды|түйінде|ескерт)"
    r"|деген(?:\s+(?:де|да|та|те))?\s+(?:сөз(?!дер)|пікір|жауап|байлам|мәлімдеме|уәж)"
    r"|дегені(?!\w))"
)


def reported_phrases(text: str, quotes: list[Span]) -> list[Span]:
    """The quotes plus every reported phrase in guillemets that no quote covers yet,
    each marked as reported so that its speaker is read from its own sentence."""
    found = list(quotes)
    for m in _REPORTED_PHRASE.finditer(text):
        start, end = trim(text, m.start("said"), m.end("said"))
        if len(re.findall(r"[^\W\d_]", text[start:end])) < 2:
            continue
        same = [q for q in found if (q.start, q.end) == (start, end)]
        for q in same:
            q.reported = True
        if not same and not any(q.start < end and q.end > start for q in found):
            found.append(Span(start, end, 0.5, reported=True))
    return sorted(found, key=lambda q: q.start)


# `— Fox News (@FoxNews) January 12, 2026`: the credit line under an embedded post (N4)
_CREDIT = re.compile(
    r"^[–—-][ \t]*(?P<who>[^()\n]+?)[ \t]*\(@\w+\)[ \t]+\S+[ \t]+\d{1,2},[ \t]*\d{4}[ \t]*$", re.M
)
_POST_START = re.compile(r"[\w.@#\"“«]")  # a post's text starts after its emoji
_POST_LINK = re.compile(r"\S*(?:twitter\.com/|https?://|t\.co/)\S*", re.IGNORECASE)


def _foreign(line: str) -> bool:
    """A line in a language other than Kazakh, as written in the source (English posts)."""
    letters = re.findall(r"[^\W\d_]", line)
    latin = [c for c in letters if c.isascii()]
    kazakh = re.findall(r"[áǵıńóúýÁǴŃÓÚÝİ]", line)  # Kazakh Latin script (Kazinform)
    return len(letters) >= 3 and len(latin) >= 0.95 * len(letters) and not kazakh


def _post_lines(article: Any, first: int, last: int, step: int) -> tuple[int, int]:
    """The run of lines from the line at `first` on (step -1: upwards, +1: downwards)
    that are written in another language, never past a blank or a credit line."""
    view = article.view.text
    a, b = _line_bounds(view, first)
    while True:
        nxt = a - 2 if step < 0 else b + 1
        if not 0 <= nxt < len(view) or (nxt >= last if step > 0 else nxt < last):
            return a, b
        c, d = _line_bounds(view, nxt)
        line = article.text[slice(*article.to_source(c, d))]
        if not line.strip() or _CREDIT.match(view, c) or not _foreign(line):
            return a, b
        a, b = (c, b) if step < 0 else (a, d)


def _post_span(article: Any, a: int, b: int) -> tuple[int, int] | None:
    view = article.view.text
    start = _POST_START.search(view, a, b)
    if start is None:
        return None
    words = _POST_LINK.sub("", article.text[slice(*article.to_source(start.start(), b))])
    if len(re.findall(r"[^\W\d_]", words)) < 2:
        return None  # a link-only line is chrome (Q13); a link after the text stays
    a, b = trim(view, start.start(), b)
    return (a, b) if b > a else None


def embedded_posts(article: Any, quotes: list[Span]) -> list[Span]:
    """An embedded post is a quote of its account holder (NOTES Q6): the run of text
    lines right above its credit line, back over lines written in another language,
    and a run in another language right below it (Q13); a link-only line is none. A post
    replaces what the tagger found there."""
    view = article.view.text
    found = list(quotes)
    credits = list(_CREDIT.finditer(view))
    for k, credit in enumerate(credits):
        runs = []
        if credit.start() >= 2:  # the line above is the post, whatever its language
            runs.append(_post_lines(article, credit.start() - 2, 0, -1))
        below = credit.end() + 1
        following = credits[k + 1].start() if k + 1 < len(credits) else len(view)
        if below < len(view):
            line = article.text[slice(*article.to_source(*_line_bounds(view, below)))]
            if _foreign(line) and not _CREDIT.match(view, below):
                runs.append(_post_lines(article, below, following, +1))
        for a, b in runs:
            span = _post_span(article, a, b)
            if span is None:
                continue
            found = [q for q in found if not (q.start < span[1] and q.end > span[0])]
            found.append(Span(*span, 1.0, credited=credit.span("who")))
    return sorted(found, key=lambda q: q.start)


# --- speeches over several lines ------------------------------------------------------

_MAX_SPEECH_LINES = 40  # a guillemet left open longer than this is a typo, not a speech
_ADDRESS_LINE = re.compile(
    r"(?:Құрметті|Қымбатты|Қадірлі|Ардақты|Аса құрметті)(?!\w)[^\n.?]{0,80}!\s*"
)
_NARRATION_OPENER = re.compile(
    r"(?:Айта кетейік|Еске салайық|Айта кету керек|Еске сала кетейік)(?!\w)"
)
# the speaker named in the third person with a past verb of saying or doing: the
# reporter is talking again (`Мемлекет басшысы … атап өтті`)
_SPEAKER_NOUN = (
    r"(?:Мемлекет басшысы|Президент\w*|Премьер-министр\w*|Үкімет басшысы|Тоқаев|Ол|ол)(?!\w)"
)
_REPORTED = re.compile(
    _SPEAKER_NOUN
    + r"[^.!?«»\n]{0,200}?(?<!\w)(?:деді|айтты|атап өтті|атап көрсетті|мәлімдеді|тоқталды|"
    r"жеткізді|білдірді|атады|шақырды|тапсырды|ұсынды|қосты|түсіндірді|сөйледі|таныстырды)(?!\w)"
)
_PRONOUN_START = re.compile(r"(?:Ол|ол)(?!\w)")  # `Ол … , – деді X` is speech about him
_CLOSING_ATTRIBUTION = re.compile(r"[,.!?…»]?\s*" + _DASH + r"\s*" + _SAY + r"(?!\w)")


def closing_guillemet(text: str, start: int) -> int | None:
    """Where the » that closes a « opened just before `start` stands, counting nested
    pairs; a « opening a continuation line of the same speech does not nest."""
    depth, limit = 1, start
    for _ in range(_MAX_SPEECH_LINES):
        limit = text.find("\n", limit + 1)
        if limit < 0:
            limit = len(text)
            break
    for i in range(start, limit):
        ch = text[i]
        if ch == "«" and not (depth == 1 and text[i - 1] == "\n"):
            depth += 1
        elif ch == "»":
            depth -= 1
            if depth == 0:
                return i
    return None


def close_guillemets(text: str, quotes: list[Span]) -> list[Span]:
    """A quote opened by a « that its line leaves open runs to the » that closes it, over
    however many lines (NOTES Q1); the spans the tagger found inside become part of it."""
    out: list[Span] = []
    for q in quotes:
        if out and q.start < out[-1].end:
            continue  # inside the speech already taken whole
        before = text[_line_bounds(text, q.start)[0] : q.start]
        if re.search(r"«\s*$", before):
            close = closing_guillemet(text, q.start)
            if close is not None and "\n" in text[q.start : close]:
                end = trim(text, q.start, close)[1]
                q = Span(q.start, end, q.score, tagged=(q.tagged[0], False))
        out.append(q)
    return out


def _paragraph_of(paragraphs: list[tuple[int, int]], pos: int) -> int:
    return next((i for i, (a, b) in enumerate(paragraphs) if a <= pos < b), -1)


def opens_speech(text: str, q: Span, paragraphs: list[tuple[int, int]]) -> bool:
    """An address to the audience on a line of its own (`Құрметті қауым!`), or a first
    line after a lead-in that ends in a colon (`Мемлекет басшысы былай деді:`)."""
    i = _paragraph_of(paragraphs, q.start)
    if i < 0 or text[paragraphs[i][0] : q.start].strip(" –—-«"):
        return False
    if _ADDRESS_LINE.fullmatch(text, *paragraphs[i]):
        return True
    # after a lead-in, a dash line or a guillemet is a quote of its own form, not an address
    bare = text[paragraphs[i][0]] not in "–—-«"
    return bare and i > 0 and text[: paragraphs[i - 1][1]].rstrip().endswith(":")


def speech_end(text: str, q: Span, paragraphs: list[tuple[int, int]], quotes: list[Span]) -> int:
    """Where a long address ends (NOTES Q5): at the attribution that closes it, else at
    the last paragraph that sounds like the speech (the tagger found a quote in it, or
    it speaks in the first person) before the reporter speaks again."""
    i = _paragraph_of(paragraphs, max(q.end - 1, q.start))
    end = q.end
    for a, b in paragraphs[i + 1 :]:
        line = text[a:b]
        if _NARRATION_OPENER.match(line) or _REPORTED.search(line):
            break
        closing = _CLOSING_ATTRIBUTION.search(line)
        if closing is not None:
            return max(end, trim(text, a, a + closing.start())[1]) if closing.start() else end
        if "»" in line and "«" not in line:
            break  # an unmatched closing mark: another speaker's quote
        tagged = any(p.start < b and a < p.end for p in quotes)
        if tagged or _FIRST_PERSON.search(line) or _ADDRESS_LINE.fullmatch(line):
            end = trim(text, a, b)[1]
    return end


def continue_speeches(
    text: str, quotes: list[Span], paragraphs: list[tuple[int, int]]
) -> list[Span]:
    """A speech opened by an address or a lead-in goes on paragraph after paragraph, also
    over paragraphs the tagger called narration, until the reporter speaks again: the
    tagger sees one paragraph at a time and cannot know it is inside a speech (Q5)."""
    out: list[Span] = []
    for q in quotes:
        if out and q.start < out[-1].end:
            continue
        if opens_speech(text, q, paragraphs):
            end = max(q.end, speech_end(text, q, paragraphs, quotes))
            q = Span(q.start, end, q.score, tagged=(q.tagged[0], q.tagged[1] and end == q.end))
        out.append(q)
    return out


# a new turn inside one line: `– Берді ме? – Берілді. – Аа, дұрыс.` (no gold quote in
# train or dev runs on past a sentence end, a dash and a capital on the same line)
_TURN = re.compile(r"(?<=[.?!…])[ \t]+" + _DASH + r"[ \t]+(?=" + _UPPER + ")")


def split_turns(text: str, q: Span) -> list[Span]:
    """One span per dash turn of a dialogue written on one line (NOTES Q4)."""
    pieces, start, first = [], q.start, q.tagged[0]
    for m in _TURN.finditer(text, q.start, q.end):
        pieces.append(Span(start, m.start(), q.score, tagged=(first, False)))
        start, first = m.end(), False
    pieces.append(Span(start, q.end, q.score, tagged=(first, q.tagged[1])))
    return [p for p in pieces if p.end > p.start]


def _headline_attribution(after: str) -> bool:
    """`Title words – Speaker` at the end of a line (Q9)."""
    m = re.fullmatch(r"\s*" + _DASH + r"\s*(?P<who>[^\n.!?]{1,40})", after)
    return m is not None and len(m.group("who").split()) <= 4


# --- speakers ----------------------------------------------------------------------


# `Е.Рыбакина` is one word; a full stop after a word is not part of it
_WORDS = re.compile(r"\w(?:[\w.-]*\w)?")
# where an attribution's name phrase ends; a full stop after an initial (`Т. Әбдіров`,
# `Е.Рахмон`) does not end it
_STOP = re.compile(r"[;:!?()\n]|(?<!\b\w)\.|\s[–—-]\s")
_GENITIVE = re.compile(r"(?:ның|нің|дың|дің|тың|тің)$")
_POSSESSIVE = re.compile(r"(?:сы|сі|ы|і)$")
_FROM = re.compile(r"(?<=\w\w|\w-)(?:дан|ден|тан|тен|нан|нен)$")
_IN = re.compile(r"(?<=\w\w|\w-)(?:нда|нде|да|де|та|те)$")
_TO = re.compile(r"(?<=\w\w\w|\w\w-)(?:ға|ге|қа|ке)$")
_NOT_HEAD = re.compile(
    r"^(?:дүйсенбі|сейсенбі|сәрсенбі|бейсенбі|жексенбі|күні|кеші|таңы|жылы|бірі)$"
)
# role nouns that stand before a name as titles (`Президенті Масуд Пезешкиан`)
_ROLE = re.compile(
    r"(?:президенті|төрағасы|министрі|басшысы|өкілі|спикері|әкімі|хатшысы|директоры|"
    r"орынбасары|елшісі|депутаты|бастығы|жетекшісі|сарапшысы|профессоры|тұрғыны|авторы|"
    r"кураторы|режиссері|кеңесшісі|ректоры|бапкері|қызметкері|төрайымы)$"
)
# a common noun with a possessive and case ending: the capitalised words before it name it
_OF_NOUN = re.compile(r"^[^\W\d_]{3,}(?:ына|іне|сына|сіне|ын|ін|сын|сін|ында|інде)$")
_SURNAME = re.compile(r"(?:ов|ев|ова|ева|ин|ина|ұлы|қызы|ский|цкий|ян|швили)$")
_DOCUMENT = re.compile(r"^(?:хабарлама|ақпарат|мәлімдеме|жауаб|хат|сайт|пост|жолдау)")
# a body's head noun, named with capitals before it (`БАӘ Сыртқы істер министрлігі`)
_BODY = re.compile(
    r"(?:министрлігі|комитеті|департаменті|агенттігі|қызметі|басқармасы|әкімдігі|"
    r"палатасы|кеңсесі|хатшылығы|штабы|ұйымы)$"
)
_PARTICIPLE = re.compile(r"(?<=\w\w)(?:ған|ген|қан|кен)$")  # `Келіссөзді ашқан` министр
_LOCATED = re.compile(r"(?<=\w\w)(?:дағы|дегі|тағы|тегі)$")  # `Кавказдағы`: of a place
_CASED = re.compile(r"(?<=\w\w)(?:нда|нде|да|де|та|те|ға|ге|қа|ке|дан|ден|тан|тен|нан|нен)$")
_NAME_PREFIX = re.compile(r"^(?:әл|ал|аль|эль|ибн|бин|де|ван|фон)-" + _UPPER)  # `әл-Хаммади`
_PARTICLES = {"фон", "дер", "ван", "де", "ла", "дель", "ибн", "бин", "аль", "эль"}


def _place(text: str, word: str) -> bool:
    """`Астанаға` is a place in a case form when the text also writes `Астана`."""
    ending = _IN.search(word) or _TO.search(word) or _FROM.search(word)
    stem = word[: -len(ending.group())] if ending else word
    return re.search(r"(?<![\w-])" + re.escape(stem) + r"(?![\w-])", text) is not None


def _capital_run(text: str, word: list[str]) -> list[int]:
    """Indices of the first run of two or more capitalised words that can name a person.

    A case ending on a capitalised word (`Астанада`, `Ресейге`) usually marks a place
    before the name, but names end in those letters too (`Аида`, `Серхио Игита`): such a
    word joins a run that has begun and has no surname yet when the text uses it again
    unchanged (a place is declined: `Бакуде`, `Баку`); a short one, or one before a
    surname (`Мереке Құлкенов`) whose stem the text never writes alone, opens a run.
    Particles (`фон дер`) stay inside a run."""
    run: list[int] = []
    for i, w in enumerate(word):
        low = w.lower()
        nxt = word[i + 1] if i + 1 < len(word) else ""
        cased = bool(_GENITIVE.search(low) or _IN.search(low) or _TO.search(low))
        if cased and w[:1].isupper() and not _GENITIVE.search(low):
            named = any(_SURNAME.search(word[j].lower()) for j in run)
            again = len(re.findall(r"(?<!\w)" + re.escape(w) + r"(?!\w)", text)) > 1
            first_name = _SURNAME.search(nxt.lower()) is not None and not _place(text, w)
            cased = not (
                (run and not named and again) or (len(w) <= 4 and nxt[:1].isupper()) or first_name
            )
        capital = w[:1].isupper() and not cased
        if capital and not (_ROLE.search(low) and len(run) == 0 and nxt):
            run.append(i)
            continue
        if run and low in _PARTICLES and nxt[:1].isupper():
            run.append(i)
            continue
        if run and _ROLE.search(low) and not nxt[:1].isupper():
            return [*run, i]  # `Иран СІМ басшысы`: a body's office, no name follows
        if len(run) >= 2 and (not _GENITIVE.search(low) or low == "өзінің"):
            break  # a run before a genitive is a modifier (`Иран Ислам Республикасының`)
        if len(run) >= 2 and w.islower() and any(_SURNAME.search(word[j].lower()) for j in run):
            break  # `Сәуле Бекмұратова романның`: a person, then the object
        run = []
    return run if len(run) >= 2 else []


def _known_prefix(text: str, start: int, word: list[str], run: list[int]) -> list[int]:
    """The part of a run the article has named someone by before (`Трамп` of `Трамп
    Truth Social`, after `Дональд Трамп`): a name ends where earlier mentions end."""
    before = text[:start]
    for k in range(len(run), 0, -1):
        phrase = r"\s+".join(re.escape(word[j]) for j in run[:k]) + r"\w{0,5}(?!\w)"
        if k == 1:  # one word: only as the surname of a fuller name (`Дональд Трамп`)
            phrase = _CAPITALISED + r"\s+" + phrase
        if re.search(r"(?<!\w)" + phrase, before):
            return run[:k]
    return run


def _office(text: str, word: list[str]) -> tuple[int, int] | None:
    """An office named in several words, some capitalised, then its holder's name:
    `Қазақстан Сыртқы істер министрінің орынбасары Марат Қожаев` gives the name (Q15),
    `Армения Сыртқы істер министрі` with no name the whole office (Q12). The capitals
    inside an office would otherwise read as a name (`Армения Сыртқы`)."""
    role = next(
        (
            i
            for i, w in enumerate(word[:12])
            if i > 0 and w[:1].islower() and (_ROLE.search(w) or _BODY.search(w))
        ),
        None,
    )
    if role is None or not any(w[:1].isupper() for w in word[:role]):
        return None
    if any(_SURNAME.search(w.lower()) and w[:1].isupper() for w in word[:role]):
        return None  # `Нұрлан Ахметов … министрі`: the name comes first
    start = 1 + max((j for j in range(role) if _PARTICIPLE.search(word[j].lower())), default=-1)
    if start + 1 < role and _IN.search(word[start].lower()) and word[start + 1][:1].isupper():
        start += 1  # `Үндеуде Мемлекет басшысы`: the setting is not the office
    while role + 1 < len(word) and word[role + 1][:1].islower() and _ROLE.search(word[role + 1]):
        role += 1
    name = role + 1
    while name < len(word) and (word[name][:1].isupper() or _NAME_PREFIX.match(word[name])):
        name += 1
    if name > role + 1 and _LOCATED.search(word[name - 1]):
        name = role + 1  # `министрі Оңтүстік Кавказдағы бейбітшілік`: a place, no name
    while name - role > 2 and _CASED.search(word[name - 1]):
        named = any(_SURNAME.search(w.lower()) for w in word[role + 1 : name - 1])
        if not (named or name - role > 3 or _place(text, word[name - 1])):
            break  # `Кэндзи Ямада`, `Антониу Коста`: a surname that ends like a locative
        name -= 1  # `Марат Қожаев Астанада`, `Мұрат Нұртілеу Бакуде`: a place after a name
    if name == role + 1:
        later = any(w[:1].isupper() and _SURNAME.search(w.lower()) for w in word[name:])
        return None if later else (start, role)  # `… авторы, … жаттықтырушысы Серәлі Құсайынов`
    surname = any(_SURNAME.search(w.lower()) for w in word[role + 1 : name])
    after = word[name].lower() if name < len(word) else ""
    if not surname and _OF_NOUN.search(after):
        return start, role  # `Ақ үй басшысы Truth Social желісінде`: the office, not the medium
    return role + 1, name - 1


def name_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Where, inside text[start:end], the attribution names the speaker (view offsets).

    A personal name alone when one is given: the first run of two or more capitalised
    words, titles before it and modifiers in the genitive dropped (NOTES Q15); else
    the role noun phrase up to its head noun (`Үкімет басшысы`, `министр`, Q12); a
    body in a case form in the nominative (`хабарламада` -> `хабарлама`), an
    organisation before a document (`министрлігінің хабарламасында` -> `министрлігі`)."""
    stop = _STOP.search(text, start, end)
    end = stop.start() if stop else end
    words = [(m.start(), m.end()) for m in _WORDS.finditer(text, start, end)]
    if not words:
        return None
    word = [text[a:b] for a, b in words]
    office = _office(text, word)
    if office is not None:
        first, last = office
        return words[first][0], words[last][1]
    run = _capital_run(text, word)
    if run and _ROLE.search(word[run[-1]].lower()) and not word[run[-1]][:1].isupper():
        return words[run[0]][0], words[run[-1]][1]
    if run:
        titles = [i for i in run[:-1] if _ROLE.search(word[i].lower()) and word[i][:1].isupper()]
        if titles and titles[-1] + 1 in run:
            run = [i for i in run if i > titles[-1]]  # `Түркия Президенті Реджеп Тайып Ердоған`
        surnames = [i for i in run if _SURNAME.search(word[i].lower())]
        if len(run) > 2 and surnames and surnames[0] > run[0]:
            run = [surnames[0] - 1, surnames[0]]  # `Астанада Қасым-Жомарт Тоқаев Өзбекстан`
        after = word[run[-1] + 1].lower() if run[-1] + 1 < len(word) else ""
        if len(run) > 2 and _OF_NOUN.search(after):
            run = run[:2]  # `Карлос Адамес The Ring журналына`: the rest names the magazine
        titled = run[0] > 0 and _ROLE.search(word[run[0] - 1].lower()) is not None
        if titled and not surnames and _OF_NOUN.search(after):
            # `Ақ үй басшысы Truth Social желісінде`: the office, not the medium
            return _role_phrase(text, start, words[: run[0]], word[: run[0]])
        if not surnames:
            run = _known_prefix(text, start, word, run)
        return words[run[0]][0], words[run[-1]][1]
    return _role_phrase(text, start, words, word)


def _role_phrase(
    text: str, start: int, words: list[tuple[int, int]], word: list[str]
) -> tuple[int, int] | None:
    """A speaker named by office or body rather than by name (Q12)."""
    if len(word) > 1 and word[0][:1].isupper() and not word[1][:1].isupper():
        surname = r"(?<![\w«])(" + _CAPITALISED + r")\s+" + re.escape(word[0]) + r"(?!\w)"
        given = [m.group(1) for m in re.finditer(surname, text[:start])]
        named = any(not _GENITIVE.search(g) for g in given) and not _GENITIVE.search(word[0])
        if named and not _ROLE.search(word[1].lower()):
            return words[0]  # `Мамдани жергілікті БАҚ-қа`: a surname given before
    document = next((i for i, w in enumerate(word[:10]) if _DOCUMENT.match(w.lower())), None)
    if document is not None:
        j = document - 1  # `… баспасөз қызметі таратқан хабарламада`: the participle's subject
        while j > 0 and re.search(r"(?:ған|ген|қан|кен)$|^(?:бізге|оларға)$", word[j].lower()):
            j -= 1
        ending = _GENITIVE.search(word[j].lower()) if j >= 0 else None
        if j > 0 and (ending or _POSSESSIVE.search(word[j].lower())):
            return words[0][0], words[j][1] - (len(ending.group()) if ending else 0)
        genitives = [i for i in range(document) if _GENITIVE.search(word[i].lower())]
        if genitives:  # `ведомствоның … берген жауабында`
            g = genitives[-1]
            return words[0][0], words[g][1] - len(_GENITIVE.search(word[g].lower()).group())  # type: ignore[union-attr]
    last = 0
    for i, w in enumerate(word[:4]):
        low = w.lower()
        if i > 0 and w.islower() and _POSSESSIVE.search(low) and not _NOT_HEAD.match(low):
            last = i  # `блогер Instagram-дағы`: a capitalised word is not the head
            break
    modifier = _ADJECTIVE.search(word[0]) or _TO.search(word[0])  # `ирандық`, `жобаға`
    head = word[1] if len(word) > 1 else ""
    nominative = head.islower() and not (_OBLIQUE.search(head) or _GENITIVE.search(head))
    if last == 0 and word[0].islower() and modifier and nominative:
        last = 1  # `ирандық басылым`, `жобаға қатысушылар`
    a, b = words[0][0], words[last][1]
    tail = word[last]
    cut = (_FROM.search(tail) or _IN.search(tail)) if tail.islower() else _FROM.search(tail)
    if cut is not None and not tail.islower() and tail[: -len(cut.group())][-1:] not in _VOWELS:
        cut = None  # `Ақордадан` is a case form, `Дастан` a name
    if cut is not None and last == 0:
        b -= len(cut.group())
    return a, b


def attribution_speaker(text: str, span: Span) -> tuple[int, int] | None:
    """Where the attribution names the speaker: after the quote (`…, – деді X`, the
    name possibly on the next line), else in a lead-in before it (`X былай деді: «…»`,
    `X: «…»`, a lead-in line ending in a colon)."""
    line_end = _line_bounds(text, max(span.end - 1, span.start))[1]
    m = _ATTRIBUTION_AFTER.match(text, span.end, line_end)
    if m is None and line_end < len(text) and not text[span.end : line_end].strip(' .,»”"!?…'):
        lead = re.compile(r"\s*" + _DASH + r"?\s*").match(text, line_end + 1)
        m = _ATTRIBUTION_AFTER.match(text, lead.end() if lead else line_end + 1)
    if m is not None:
        rest_start, rest_end = m.span("rest")
        if not text[rest_start:rest_end].strip() and rest_end < len(text):
            rest_start, rest_end = rest_end + 1, _line_bounds(text, rest_end + 1)[1]
        first = re.match(r"\s*(?P<w>\w+)(?!\w)", text[rest_start:rest_end])
        if first and first.group("w").lower() in _PRONOUNS:  # `деді ол … Weekly басылымына`
            return rest_start + first.start("w"), rest_start + first.end("w")
        found = name_span(text, rest_start, rest_end)
        named = text[found[0] : found[1]] if found else ""
        head = next(iter(re.findall(r"[\w-]+", named)), "")  # `уәде берді` is no speaker
        short = len(head) <= 2 and (head.istitle() or head.isupper())  # `Ақ үй`, `ҚР`
        adjective = re.search(r"(?:лікті|лықты)$", head) is not None  # `жергілікті тұрғындар`
        particle = _NOT_SPEAKER.match(head) and not (short or adjective)
        if found and (is_pronoun(named) or not particle):
            return found
    if m is not None and re.search(r"(?:міз|мін|дік|дім)$", m.group("verb")):
        return None  # `«…», – дейміз`: we, the reporter's audience; nobody is named (Q7)
    inline = m is not None and m.group("verb").startswith("де")  # `«…» деп`, `«…» дейді`
    return _lead_in_speaker(text, span) or (_subject_before(text, span) if inline else None)


def _subject_before(text: str, span: Span) -> tuple[int, int] | None:
    """The speaker an inline quote's sentence names right before it: `АҚШ президенті
    «…» деп мәлімдеді`, `Қазақ «…» дейді`. Only a name, an office (`… президенті`)
    or a bare noun in the nominative counts; anything else is left to the reader."""
    before = text[: span.start]
    opening = before.rstrip(' «“"')
    if not before.rstrip().endswith(("«", "“", '"')):
        return None
    sentence = max(opening.rfind(c) for c in ".!?\n:;") + 1
    words = list(_WORDS.finditer(text, sentence, len(opening)))
    if not words or words[-1].end() != len(opening):
        return None
    last = words[-1].group()
    low = last.lower()
    if _ROLE.search(low) or (last[:1].isupper() and not _OBLIQUE.search(low)):
        first = len(words) - 1
        while first > 0 and words[first - 1].group()[:1].isupper() and first > len(words) - 4:
            first -= 1
        return words[first].start(), words[-1].end()
    if len(words) <= 2 and not (_OBLIQUE.search(low) or _GENITIVE.search(low) or _IN.search(low)):
        return words[-1].start(), words[-1].end()
    return None


# the head of a subject in the nominative: a plural or a possessive (`агенттіктері`)
_SUBJECT_HEAD = re.compile(r"(?:(?:лар|лер|дар|дер|тар|тер)[ыі]?|сы|сі)$")
_OPENERS = {"мәселен", "мысалы", "ал", "сондай-ақ", "алайда", "бірақ", "дегенмен", "және"}


def reported_speaker(text: str, span: Span) -> tuple[int, int] | None:
    """Who a reported phrase in guillemets is ascribed to: the name right before it
    (`Елбасымыз «…» деп`), the owner of the words (`Трамптың … айтқан «…» деген
    сөзіне`), or the subject its sentence opens with (`CNN, AP … агенттіктері …
    «…» деп атады`, `Әлеуметтік желіде кейбір сарапшылар «…» деген пікірді`)."""
    found = _subject_before(text, span)
    if found is not None:
        return found
    opening = text[: span.start].rstrip(' «“"')
    sentence = max(opening.rfind(c) for c in ".!?\n;:") + 1
    clauses = list(re.finditer(r"\w(?:са|се),\s", opening[sentence:]))  # `… деп сипаттаса, …`
    sentence += clauses[-1].end() if clauses else 0
    words = list(_WORDS.finditer(text, sentence, len(opening)))
    while words and words[0].group().lower() in _OPENERS:
        words.pop(0)
    if not words:
        return None
    if words[0].group().lower() in _PRONOUNS:
        return words[0].start(), words[0].end()  # resolved like `деді ол` (Q7)
    if re.match(r"[»”\"\s,]*деген\s+сөз", text[span.end : span.end + 40]):
        for w in words:
            ending = _GENITIVE.search(w.group())
            if w.group()[:1].isupper() and ending:
                return w.start(), w.end() - len(ending.group())
    first = 0
    for i, w in enumerate(words[:4]):  # `Әлеуметтік желіде …`: an adverbial opens it
        if w.group().islower() and _IN.search(w.group()):
            first = i + 1
            break
    for w in words[first : first + 12]:
        low = w.group().lower()
        if _SUBJECT_HEAD.search(low) or _ROLE.search(low):
            return words[first].start(), w.end()
        if _OBLIQUE.search(low):
            return None
    return None


_POSTPOSITION = re.compile(r"(?<!\w)(?:қатысты|туралы|бойынша|жөнінде|байланысты)(?!\w)")
_ADJECTIVE = re.compile(r"(?<=\w\w)(?:лық|лік|дық|дік|тық|тік|ғы|гі|қы|кі|лікті|лықты)$")


def _lead_in_speaker(text: str, span: Span) -> tuple[int, int] | None:
    line_start = _line_bounds(text, span.start)[0]
    before = text[line_start : span.start]
    if not before.strip(' –—-«“"') and line_start >= 2:
        line_start = _line_bounds(text, line_start - 2)[0]
        before = text[line_start : span.start].rstrip(' –—-«“"\n')
    lead = _LEAD_IN.search(before)
    if lead and lead.group("who").strip():
        who_start = line_start + lead.start("who")
        who_end = line_start + lead.end("who")
        verb = re.search(r"(?<!\w)(?:былай|бүй|деп|атап)(?!\w)", text[who_start:who_end])
        if verb:
            who_end = who_start + verb.start()
        while who_end > who_start and text[who_end - 1] in " ,":
            who_end -= 1  # `… сөз сөйлеп, былай деді`: the comma closes the converb
        comma = text.rfind(",", who_start, who_end)
        who_start = comma + 1 if comma >= 0 else who_start
        about = list(_POSTPOSITION.finditer(text, who_start, who_end))
        who_start = about[-1].end() if about else who_start  # `Инвестицияға қатысты Трамп:`
        words = list(_WORDS.finditer(text, who_start, who_end))
        while words and words[-1].group().lower() in {"болса", "болсақ", "де", "да"}:
            words.pop()  # `Жергілікті билік болса: «…»`
        while words and words[0].group().lower() in {"бүкіл", "барлық", "ал", "және", "енді"}:
            words.pop(0)
        plain = [w.group().lower() for w in words]
        nominative = bool(plain) and not (_OBLIQUE.search(plain[-1]) or _IN.search(plain[-1]))
        unnamed = not any(w.group()[:1].isupper() for w in words[1:])
        if 0 < len(words) <= 3 and nominative and unnamed:
            return words[0].start(), words[-1].end()  # `Отандық мамандар: «…»`
        return name_span(text, who_start, who_end)
    return None


_OBLIQUE = re.compile(
    r"(?<=\w\w|\w-)(?:мен|бен|пен|ға|ге|қа|ке|ны|ні|ды|ді|ты|ті|дан|ден|тан|тен|нан|нен|"
    r"да|де|та|те|нда|нде)$"
)
_FUNCTION_WORDS = {
    "ол",
    "олар",
    "бұл",
    "осы",
    "сол",
    "соңы",
    "өзі",
    "біз",
    "мен",
    "сен",
    "ал",
    "және",
    "бірақ",
}
_VOWELS = set("аәеиоөұүыіэюяАӘЕИОӨҰҮЫІЭЮЯ")
_CAPITAL_WORD = re.compile(r"(?<![\w-])" + _CAPITALISED)


def _person(view: str, start: int, end: int) -> tuple[int, int] | None:
    """A mention of a person the text may go on to call `ол`: a name in the nominative,
    or in the genitive (`Ғазиз Әбішевтің пайымдауынша`, ending dropped); a name in any
    other case (`Нетаньяхумен`, `Тоқаевқа`) is someone spoken to or about."""
    words = list(re.finditer(r"\S+", view[start:end]))
    if re.search(r"(?<=\w\w)(?:мен|бен|пен)$", words[-1].group()):
        # `Биньямин Нетаньяхумен кездесті`: the one met is not the speaker, but the
        # one who met them may be named right before (`Тоқаев Ильхам Әлиевпен`)
        words = words[:-2]
        if not any(_SURNAME.search(_GENITIVE.sub("", w.group().lower())) for w in words):
            return None
        end = start + words[-1].end()
    stems = [_GENITIVE.sub("", w.group().lower()) for w in words]
    surname = next((i for i, w in enumerate(stems) if _SURNAME.search(w)), None)
    person = surname is not None
    if surname is not None:  # `Саясаттанушы Ғазиз Әбішев`, `Садыр Жапаров Жогорку Кенеш`
        first = max(surname - 1, 0)
        start, end = start + words[first].start(), start + words[surname].end()
    last = view[start:end].split()[-1].lower()
    ending = _GENITIVE.search(last)
    if ending:
        return (start, end - len(ending.group())) if person else None
    oblique = _OBLIQUE.search(last)
    if person and oblique and not _SURNAME.search(last):
        return None
    if not person and end - start == len(last):
        return None  # a lone capitalised word that is not a surname
    following = re.match(r"\s+(\w+)", view[end:])
    if not person and following and (_GENITIVE.search(following.group(1)) or oblique):
        return None  # `Қырғызстан Министрлер кабинетінің`: a body, not a person
    if not person and _GENITIVE.search(words[0].group()):
        return None  # `Иранның АҚШ-қа`: a country's, then a place
    if not person and following and following.group(1).islower():
        noun = following.group(1)
        if _POSSESSIVE.search(noun) and not (_NOT_HEAD.match(noun) or noun in _FUNCTION_WORDS):
            return None  # `Орталық Азия мемлекеттері`: it names what follows
    return (start, end) if person else name_span(view, start, end)


def resolve_pronoun(article: Any, before: int, previous: list[dict[str, Any]]) -> str | None:
    """The person a pronoun attribution (`деді ол`) refers to, as the text last names
    them (NOTES Q7): the latest of the names before the quote (nominative or genitive)
    and the speakers earlier quotes named."""
    view = article.view.text
    found: list[tuple[int, str]] = []
    covered = 0
    for m in _CAPITAL_WORD.finditer(view, 0, before):
        if m.start() < covered or m.group().lower() in _FUNCTION_WORDS:
            continue  # a later word of a name already read whole; `Ол`, `Бұл` open sentences
        whole = _NAME.match(view, m.start())
        end = min(whole.end() if whole else m.end(), before)
        covered = end
        quoted = m.start() > 0 and view[m.start() - 1] in '«"'
        if quoted or re.match(r"\s+атында", view[end:]):
            continue  # `«Барыс Арена»`, `Е.Рахмадиев атындағы филармония`: not a speaker
        span = _person(view, m.start(), end)
        if span is not None and span[1] > span[0]:
            a, b = article.to_source(*span)
            found.append((b, article.text[a:b]))
    for q in previous:
        if q["speaker"] and not is_pronoun(q["speaker"]) and q["speaker"][:1].isupper():
            at = q["attribution"][1] if q.get("attribution") else q["end"]
            found.append((at, str(q["speaker"])))
    return max(found, key=lambda f: f[0])[1] if found else None


def speech_speaker(article: Any, before: int) -> str | None:
    """Who gives an address that no attribution names: the person the lead-in names
    last (`Мемлекет басшысы Қасым-Жомарт Тоқаевтың … сөйлеген сөзі`), without the case
    ending (NOTES Q7: null only when nothing names the speaker)."""
    view = article.view.text
    people = [
        m
        for m in _NAME.finditer(view, 0, before)
        if any(_SURNAME.search(_GENITIVE.sub("", w.lower())) for w in m.group().split())
    ]
    if not people:
        return None
    words = list(_WORDS.finditer(view, *people[-1].span()))
    last = max(  # the last surname-like word: `Ирина Самойлованың` (first names end in -ина too)
        i for i, w in enumerate(words) if _SURNAME.search(_GENITIVE.sub("", w.group().lower()))
    )
    ending = _GENITIVE.search(words[last].group())
    end = words[last].end() - (len(ending.group()) if ending else 0)
    a, b = article.to_source(words[0].start(), end)
    return str(article.text[a:b])


def is_pronoun(name: str | None) -> bool:
    from salatag.text import normalize

    if not name:
        return False
    return normalize(name.strip().lower(), transliterate=True).text in _PRONOUNS


def model_speaker(text: str, speakers: list[Span], q: Span) -> tuple[int, int] | None:
    """The tagger's speaker mention nearest the quote (after it first, same or next
    line; else before it on its line), cut to the name as the attribution gives it."""
    after = [sp for sp in speakers if sp.start >= q.end and text.count("\n", q.end, sp.start) <= 1]
    before = [sp for sp in speakers if sp.end <= q.start and "\n" not in text[sp.end : q.start]]
    pick = min(after, key=lambda sp: sp.start) if after else None
    if pick is None and before:
        pick = max(before, key=lambda sp: sp.start)
    if pick is None:
        return None
    return name_span(text, pick.start, pick.end) or (pick.start, pick.end)


def decode_quotes(
    article: Any,
    tag_probs: np.ndarray,
    starts: list[int],
    ends: list[int],
    settings: DecoderSettings,
) -> list[dict[str, Any]]:
    """Quote records (start, end, speaker, attribution, score) for one article.

    All rules read the article's normalised view (Cyrillic, unified quote marks and
    dashes), so they hold for Latin-script input too; offsets and the speaker's words
    are reported in the caller's original text."""
    view = article.view.text
    paragraphs = [(p.view_start, p.view_end) for p in article.paragraphs]
    words = pool_words(view, paragraphs, tag_probs, starts, ends, settings.pooling)
    labels = decode_tags(words.probs, settings.method, settings.switch_penalty)

    def spans(begin: int) -> list[Span]:
        found = []
        for a, b, conf in bio_spans(labels, words.probs, begin):
            raw = int(words.starts[a]), int(words.ends[b])
            s, e = trim(view, *raw)
            if e > s:
                found.append(Span(s, e, conf, tagged=(raw[0] < s, raw[1] > e)))
        return found

    worded = [q for q in spans(QUOTE) if len(re.findall(r"[^\W\d_]", view[q.start : q.end])) >= 2]
    for q in worded:
        q.end = sentence_end(view, q.start, q.end)
    quotes = merge_spans(view, worded, settings.merge_lines)
    if settings.require_form:
        quotes = keep_marked(view, quotes)
    if settings.speeches:
        quotes = continue_speeches(view, close_guillemets(view, quotes), paragraphs)
    quotes = [piece for q in quotes for piece in split_turns(view, q)]
    if settings.require_form:
        quotes = embedded_posts(article, reported_phrases(view, quotes))
    speakers = spans(SPEAKER)
    out: list[dict[str, Any]] = []
    in_view: list[Span] = []
    for q in quotes:
        start, end = article.to_source(*keep_names(view, q))
        if end <= start:
            continue
        in_view.append(q)
        record: dict[str, Any] = {"start": start, "end": end, "speaker": None}
        record["attribution"] = None
        found = q.credited or (reported_speaker(view, q) if q.reported else None)
        found = found or _speaker_of(view, speakers, q, settings.speaker)
        if found is not None:
            a, b = article.to_source(*found)
            record["speaker"] = article.text[a:b]
            lo, hi = (q.end, found[1]) if found[0] >= q.end else (found[0], q.start)
            while hi < len(view) and view[hi].isalnum() and view[hi - 1].isalnum():
                hi += 1  # a speaker put in the nominative (`хабарламада`): whole words
            while lo > 0 and view[lo].isalnum() and view[lo - 1].isalnum():
                lo -= 1
            record["attribution"] = list(trim(article.text, *article.to_source(lo, hi)))
            if is_pronoun(view[found[0] : found[1]]):  # null when nobody is named (Q7)
                record["speaker"] = resolve_pronoun(article, q.start, out)
        elif settings.speeches and opens_speech(view, q, paragraphs):
            record["speaker"] = speech_speaker(article, q.start)
        record["score"] = round(q.score, 4)
        out.append(record)
    if settings.speeches:
        interview_speakers(article, in_view, out)
    return out


# `Kazinform тілшісі`, also as the lead declines it (`тілшісіне сұхбат берді`)
_INTERVIEWER = re.compile(
    r"(?:[^\W\d_][\w-]*\s+)?тілші(?:сі|міз)(?=(?:не|нің|мен|ге)?(?!\w))", re.IGNORECASE
)


def interview_speakers(article: Any, spans: list[Span], records: list[dict[str, Any]]) -> None:
    """Speakers of an interview's unattributed dash-opened turns (NOTES Q4): a question
    is the interviewer's (`Kazinform тілшісі`, as the lead names them; null if it does
    not, Q11), an answer is the person the lead names last. An article is an interview
    when two such turns or more are questions."""
    view = article.view.text

    def dash_turn(q: Span, r: dict[str, Any]) -> bool:
        line_start = _line_bounds(view, q.start)[0]
        opener = r"\s*" + _DASH + r"\s*[«“\"]?"  # `– «Бойымда талант жоқ» деп …`
        opened = re.fullmatch(opener, view[line_start : q.start]) is not None
        return opened and r["attribution"] is None and r["speaker"] is None

    turns = [(q, r) for q, r in zip(spans, records, strict=True) if dash_turn(q, r)]
    questions = [q for q, _ in turns if view[q.start : q.end].rstrip().endswith("?")]
    if len(questions) < 2:
        return
    lead_end = _line_bounds(view, questions[0].start)[0]
    found = list(_INTERVIEWER.finditer(view, 0, lead_end))
    asker = None
    if found:
        a, b = found[-1].span()
        named = _NAME.match(view, b + 1) if view[b : b + 1] == " " else None
        words = list(_WORDS.finditer(view, *named.span())) if named else []
        surname = [w for w in words if _SURNAME.search(w.group().lower())]
        if surname:  # `тілшісі Айдана Серікқызы`: the name alone (Q15)
            a, b = words[0].start(), surname[0].end()
        a, b = article.to_source(a, b)
        asker = article.text[a:b]
    answerer = interviewee(article, lead_end) or speech_speaker(article, lead_end)
    if answerer == asker:
        answerer = None
    for q, r in turns:
        if q.start >= lead_end:
            r["speaker"] = asker if view[q.start : q.end].rstrip().endswith("?") else answerer


_WITH = re.compile(r"(?<=\w\w)(?:мен|бен|пен)$")


def interviewee(article: Any, lead_end: int) -> str | None:
    """The person an interview's lead says it was held with, the case ending dropped:
    `Бақыт Жанғалиевпен сұхбаттасты`, or the name right before `… тілшісіне сұхбат
    берді` (`Мехмет Арслан Kazinform тілшісіне`)."""
    view = article.view.text
    for m in reversed(list(_NAME.finditer(view, 0, lead_end))):
        words = list(_WORDS.finditer(view, *m.span()))[-2:]
        ending = _WITH.search(words[-1].group())
        talk = view[m.end() : m.end() + 12].lstrip().startswith("сұхбат")
        if ending and (talk or _SURNAME.search(words[-1].group()[: ending.start()].lower())):
            a, b = article.to_source(words[0].start(), words[-1].end() - 3)
            return str(article.text[a:b])
    for found in _INTERVIEWER.finditer(view, 0, lead_end):
        gave = re.match(r"(?:не|ге)\s+сұхбат", view[found.end() : found.end() + 12])
        words = list(_WORDS.finditer(view, 0, found.start()))[-3:]
        name = [w for w in words if w.group()[:1].isupper()]
        if gave and len(name) >= 2 and name[-1].end() == words[-1].end():
            a, b = article.to_source(name[-2].start(), name[-1].end())
            return str(article.text[a:b])
    return None


def _speaker_of(text: str, speakers: list[Span], q: Span, source: str) -> tuple[int, int] | None:
    order = {
        "model": ("model",),
        "rule": ("rule",),
        "rule_then_model": ("rule", "model"),
        "model_then_rule": ("model", "rule"),
    }[source]
    for kind in order:
        found = attribution_speaker(text, q) if kind == "rule" else model_speaker(text, speakers, q)
        if found is not None and found[1] > found[0]:
            return found
    return None
